-- SQL Application: multi_source_orders
-- Multi-source / multi-sink order processing, after multi-source-sink-guide.md: "Real-World
-- Examples, 1. E-commerce Order Processing" (orders from Kafka enriched with customer and
-- product files, written to Kafka, an audit file and S3), its OUTER JOIN example, and its
-- multiple-concurrent-sinks pattern. Sources: kafka_orders (Kafka, Avro: schemas/orders.avsc),
-- customer_files and product_catalog (JSON-lines files). See README.md.
--
-- Paths in WITH are relative to the working directory: run from the repository root after
-- `python examples/multi_source/generate.py`.

-- CONFIG: financial_precision = true
-- CONFIG: group_prefix = "multi_source_"

-- ==============================================================================
-- JOB 1: ENRICHED ORDERS (3 sources joined, 3 sinks)
-- ==============================================================================
-- JOB: enriched_orders
CREATE STREAM enriched_orders AS
SELECT
    o.order_id,
    o.order_date,
    o.quantity,
    c.customer_name,
    c.customer_tier,
    c.email,
    p.product_name,
    p.category,
    p.unit_price,
    o.quantity * p.unit_price as line_total,
    CASE
        WHEN c.customer_tier = 'GOLD' THEN 0.1
        WHEN c.customer_tier = 'SILVER' THEN 0.05
        ELSE 0.0
    END as discount_rate
FROM kafka_orders o
INNER JOIN customer_files c ON o.customer_id = c.customer_id
INNER JOIN product_catalog p ON o.product_id = p.product_id
WHERE o.quantity > 0 AND p.active = true
INTO kafka_fulfillment, file_audit, s3_analytics
WITH (
    -- Source configuration
    'kafka_orders.type' = 'kafka_source',
    'kafka_orders.bootstrap.servers' = 'kafka1:9092',
    'kafka_orders.topic' = 'raw-orders',
    'kafka_orders.value.format' = 'avro',
    'kafka_orders.avro.schema.file' = 'examples/multi_source/schemas/orders.avsc',

    'customer_files.type' = 'file_source',
    'customer_files.path' = 'examples/multi_source/data/customers.jsonl',
    'customer_files.format' = 'jsonl',

    'product_catalog.type' = 'file_source',
    'product_catalog.path' = 'examples/multi_source/data/product_catalog.jsonl',
    'product_catalog.format' = 'jsonl',

    -- Sink configuration
    'kafka_fulfillment.type' = 'kafka_sink',
    'kafka_fulfillment.bootstrap.servers' = 'kafka1:9092',
    'kafka_fulfillment.topic' = 'order-fulfillment',
    'kafka_fulfillment.value.format' = 'json',

    'file_audit.type' = 'file_sink',
    'file_audit.path' = 'enriched_orders_audit.jsonl',
    'file_audit.format' = 'jsonl',
    'file_audit.append' = 'true',

    's3_analytics.type' = 's3_sink',
    's3_analytics.bucket' = 'analytics-lake',
    's3_analytics.prefix' = 'orders/year={year}/month={month}/',

    -- Processing configuration
    'use_transactions' = 'false',
    'failure_strategy' = 'LogAndContinue',
    'batch.strategy' = 'fixed_size',
    'batch.size' = '500',
    'batch.timeout' = '2000ms',
    'batch.enable' = 'true'
);

-- ==============================================================================
-- JOB 2: ORDERS WITH OPTIONAL CUSTOMER DATA (LEFT JOIN, to standard output)
-- ==============================================================================
-- JOB: order_customers
SELECT
    o.order_id,
    o.quantity,
    COALESCE(c.customer_name, 'Unknown') as customer_name,
    COALESCE(c.customer_tier, 'Standard') as tier
FROM kafka_orders o
LEFT JOIN customer_files c ON o.customer_id = c.customer_id
WITH (
    'kafka_orders.type' = 'kafka_source',
    'kafka_orders.bootstrap.servers' = 'kafka1:9092',
    'kafka_orders.topic' = 'raw-orders',
    'kafka_orders.value.format' = 'avro',
    'kafka_orders.avro.schema.file' = 'examples/multi_source/schemas/orders.avsc',

    'customer_files.type' = 'file_source',
    'customer_files.path' = 'examples/multi_source/data/customers.jsonl',
    'customer_files.format' = 'jsonl'
);

-- ==============================================================================
-- JOB 3: VALID ORDERS TO FULFILMENT AND AUDIT (one source, two concurrent sinks)
-- ==============================================================================
-- JOB: valid_orders
CREATE STREAM valid_orders AS
SELECT
    o.order_id,
    o.customer_id,
    o.product_id,
    o.quantity,
    o.order_date,
    CASE
        WHEN o.quantity >= 50 THEN 'BULK'
        ELSE 'STANDARD'
    END as fulfillment_class
FROM kafka_orders o
WHERE o.quantity > 0
INTO kafka_fulfillment, file_audit
WITH (
    'kafka_orders.type' = 'kafka_source',
    'kafka_orders.bootstrap.servers' = 'kafka1:9092',
    'kafka_orders.topic' = 'raw-orders',
    'kafka_orders.value.format' = 'avro',
    'kafka_orders.avro.schema.file' = 'examples/multi_source/schemas/orders.avsc',

    'kafka_fulfillment.type' = 'kafka_sink',
    'kafka_fulfillment.bootstrap.servers' = 'kafka1:9092',
    'kafka_fulfillment.topic' = 'order-fulfillment',
    'kafka_fulfillment.value.format' = 'json',

    'file_audit.type' = 'file_sink',
    'file_audit.path' = 'valid_orders_audit.jsonl',
    'file_audit.format' = 'jsonl',
    'file_audit.append' = 'true',

    'failure_strategy' = 'LogAndContinue'
);

-- ==============================================================================
-- JOB 4: REJECTED ORDERS (the orders JOB 3 leaves out, with the reason)
-- ==============================================================================
-- JOB: rejected_orders
CREATE STREAM rejected_orders AS
SELECT
    order_id,
    customer_id,
    product_id,
    quantity,
    CASE
        WHEN quantity IS NULL THEN 'MISSING_QUANTITY'
        ELSE 'NON_POSITIVE_QUANTITY'
    END as reason
FROM kafka_orders
WHERE quantity IS NULL OR quantity <= 0
INTO rejects_file
WITH (
    'kafka_orders.type' = 'kafka_source',
    'kafka_orders.bootstrap.servers' = 'kafka1:9092',
    'kafka_orders.topic' = 'raw-orders',
    'kafka_orders.value.format' = 'avro',
    'kafka_orders.avro.schema.file' = 'examples/multi_source/schemas/orders.avsc',

    'rejects_file.type' = 'file_sink',
    'rejects_file.path' = 'rejected_orders.jsonl',
    'rejects_file.format' = 'jsonl'
);
