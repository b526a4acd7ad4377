-- SQL Application: ecommerce_analytics
-- The operations guide's "E-commerce Real-time Analytics" application (ecommerce_jobs.sql),
-- with its Avro schema shipped next to it (schemas/orders.avsc). See README.md.

-- ==============================================================================
-- E-COMMERCE REAL-TIME ANALYTICS JOBS
-- ==============================================================================

-- GLOBAL CONFIGURATION
-- CONFIG: group_prefix = "ecommerce_"
-- CONFIG: financial_precision = true
-- CONFIG: metrics_enabled = true

-- ==============================================================================
-- JOB 1: ORDER PROCESSING
-- ==============================================================================
-- JOB: order_processor
-- TOPIC: orders
-- FORMAT: avro
-- SCHEMA: schemas/orders.avsc
-- OUTPUT_TOPIC: processed_orders
-- ENABLE_METRICS: true
START JOB order_processor AS
SELECT
    order_id,
    customer_id,
    amount,
    currency,
    status,
    created_at,
    CASE
        WHEN amount > 1000.00 THEN 'VIP_ORDER'
        WHEN amount > 100.00 THEN 'STANDARD_ORDER'
        ELSE 'SMALL_ORDER'
    END as order_category,
    amount * 0.1 as estimated_profit
FROM orders
WHERE status IN ('CONFIRMED', 'PROCESSING', 'SHIPPED');

-- ==============================================================================
-- JOB 2: CUSTOMER SEGMENTATION
-- ==============================================================================
-- JOB: customer_segments
-- TOPIC: orders
-- FORMAT: avro
-- SCHEMA: schemas/orders.avsc
-- WINDOW: TUMBLING (INTERVAL 1 HOUR)
-- OUTPUT_TOPIC: customer_segments
START JOB customer_segments AS
SELECT
    customer_id,
    COUNT(*) as orders_this_hour,
    SUM(amount) as total_spent_this_hour,
    AVG(amount) as avg_order_value,
    MAX(amount) as highest_order,
    CASE
        WHEN SUM(amount) > 5000.00 THEN 'PLATINUM'
        WHEN SUM(amount) > 1000.00 THEN 'GOLD'
        WHEN SUM(amount) > 500.00 THEN 'SILVER'
        ELSE 'BRONZE'
    END as hourly_tier,
    CURRENT_TIMESTAMP as calculated_at
FROM orders
WINDOW TUMBLING(1h)
GROUP BY customer_id
HAVING COUNT(*) >= 2;

-- ==============================================================================
-- JOB 3: INVENTORY ALERTS
-- ==============================================================================
-- JOB: inventory_monitor
-- TOPIC: inventory_updates
-- FORMAT: json
-- OUTPUT_TOPIC: inventory_alerts
START JOB inventory_monitor AS
SELECT
    product_id,
    product_name,
    current_stock,
    reorder_level,
    supplier_id,
    last_updated,
    CASE
        WHEN current_stock = 0 THEN 'OUT_OF_STOCK'
        WHEN current_stock <= reorder_level THEN 'REORDER_NOW'
        WHEN current_stock <= (reorder_level * 1.5) THEN 'LOW_STOCK_WARNING'
        ELSE 'STOCK_OK'
    END as alert_level,
    (reorder_level - current_stock) as units_to_order
FROM inventory_updates
WHERE current_stock <= (reorder_level * 2.0);

-- ==============================================================================
-- JOB 4: FRAUD DETECTION
-- ==============================================================================
-- JOB: fraud_detector
-- TOPIC: payments
-- FORMAT: json
-- OUTPUT_TOPIC: fraud_alerts
-- ENABLE_METRICS: true
START JOB fraud_detector AS
SELECT
    transaction_id,
    customer_id,
    amount,
    payment_method,
    merchant_id,
    country_code,
    timestamp,
    CASE
        WHEN amount > 10000.00 THEN 'HIGH_AMOUNT_RISK'
        WHEN payment_method = 'CRYPTOCURRENCY' THEN 'CRYPTO_RISK'
        WHEN country_code IN ('XX', 'YY', 'ZZ') THEN 'COUNTRY_RISK'
        ELSE 'LOW_RISK'
    END as risk_level,
    amount * 0.001 as potential_loss
FROM payments
WHERE amount > 100.00
   OR payment_method IN ('CRYPTOCURRENCY', 'WIRE_TRANSFER')
   OR country_code NOT IN ('US', 'CA', 'UK', 'DE', 'FR');
