-- SQL Application: multi_topic_avro
-- The operations guide's multi-topic Avro application (multi_topic_avro.sql): one Avro schema
-- per topic, laid out as its "Schema File Organization" shows, under schemas/. See README.md.

-- ==============================================================================
-- MULTI-TOPIC AVRO PROCESSING EXAMPLE
-- ==============================================================================

-- GLOBAL CONFIGURATION
-- CONFIG: group_prefix = "multi_avro_"
-- CONFIG: financial_precision = true

-- ==============================================================================
-- JOB 1: E-COMMERCE ORDERS (orders.avsc)
-- ==============================================================================
-- JOB: ecommerce_orders
-- TOPIC: orders
-- FORMAT: avro
-- SCHEMA: schemas/orders.avsc
-- OUTPUT_TOPIC: processed_orders
START JOB ecommerce_orders AS
SELECT
    order_id,
    customer_id,
    amount,
    currency,
    status,
    created_at
FROM orders
WHERE status = 'CONFIRMED';

-- ==============================================================================
-- JOB 2: FINANCIAL TRADES (trades.avsc)
-- ==============================================================================
-- JOB: financial_trades
-- TOPIC: trades
-- FORMAT: avro
-- SCHEMA: schemas/financial/trades.avsc
-- OUTPUT_TOPIC: processed_trades
START JOB financial_trades AS
SELECT
    symbol,
    price,
    quantity,
    side,
    timestamp,
    price * quantity as notional_value
FROM trades
WHERE price > 0.01;

-- ==============================================================================
-- JOB 3: IOT SENSORS (sensors.avsc)
-- ==============================================================================
-- JOB: iot_sensors
-- TOPIC: sensor_readings
-- FORMAT: avro
-- SCHEMA: schemas/iot/sensors.avsc
-- WINDOW: TUMBLING (INTERVAL 5 MINUTES)
-- OUTPUT_TOPIC: sensor_alerts
START JOB iot_sensors AS
SELECT
    device_id,
    sensor_type,
    AVG(value) as avg_value,
    MAX(value) as max_value,
    COUNT(*) as reading_count
FROM sensor_readings
WINDOW TUMBLING(5m)
GROUP BY device_id, sensor_type
HAVING AVG(value) > 75.0;

-- ==============================================================================
-- JOB 4: USER EVENTS (users.avsc)
-- ==============================================================================
-- JOB: user_analytics
-- TOPIC: user_events
-- FORMAT: avro
-- SCHEMA: schemas/users.avsc
-- OUTPUT_TOPIC: user_segments
-- WINDOW: SESSION (TIMEOUT 30 MINUTES)
START JOB user_analytics AS
SELECT
    user_id,
    COUNT(*) as event_count,
    MAX(timestamp) as last_activity,
    MIN(timestamp) as session_start
FROM user_events
WINDOW SESSION (TIMEOUT 30 MINUTES)
GROUP BY user_id
HAVING COUNT(*) > 5;
