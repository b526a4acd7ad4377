-- SQL Application: trading_system
-- The operations guide's "Financial Trading System" application (trading_jobs.sql), with its
-- Protobuf schemas shipped next to it (schemas/trades.proto, schemas/positions.proto). See README.md.

-- ==============================================================================
-- FINANCIAL TRADING SYSTEM JOBS
-- ==============================================================================

-- GLOBAL CONFIGURATION
-- CONFIG: group_prefix = "trading_"
-- CONFIG: financial_precision = true
-- CONFIG: batch_size = 10000

-- ==============================================================================
-- JOB 1: REAL-TIME PRICE MONITORING
-- ==============================================================================
-- JOB: price_monitor
-- TOPIC: market_data
-- FORMAT: protobuf
-- PROTO: schemas/trades.proto
-- OUTPUT_TOPIC: price_alerts
-- BATCH_SIZE: 50000
-- ENABLE_METRICS: true
START JOB price_monitor AS
SELECT
    symbol,
    price,
    volume,
    timestamp,
    price * volume as notional_value,
    LAG(price, 1) OVER (PARTITION BY symbol ORDER BY timestamp) as previous_price,
    CASE
        WHEN price > (LAG(price, 1) OVER (PARTITION BY symbol ORDER BY timestamp) * 1.05) THEN 'SPIKE_UP'
        WHEN price < (LAG(price, 1) OVER (PARTITION BY symbol ORDER BY timestamp) * 0.95) THEN 'SPIKE_DOWN'
        ELSE 'NORMAL'
    END as price_movement
FROM market_data
WHERE volume > 1000;

-- ==============================================================================
-- JOB 2: RISK CALCULATION
-- ==============================================================================
-- JOB: risk_calculator
-- TOPIC: positions
-- FORMAT: protobuf
-- PROTO: schemas/positions.proto
-- WINDOW: SLIDING (INTERVAL 5 MINUTES, INTERVAL 1 MINUTE)
-- OUTPUT_TOPIC: risk_metrics
START JOB risk_calculator AS
SELECT
    portfolio_id,
    symbol,
    SUM(position_size * current_price) as total_exposure,
    COUNT(*) as position_count,
    STDDEV(price_change_pct) as volatility,
    MAX(ABS(position_size * current_price)) as max_single_exposure,
    SUM(CASE WHEN position_size > 0 THEN position_size * current_price ELSE 0 END) as long_exposure,
    SUM(CASE WHEN position_size < 0 THEN ABS(position_size * current_price) ELSE 0 END) as short_exposure,
    CURRENT_TIMESTAMP as risk_calc_time
FROM positions
WINDOW SLIDING(5m, 1m)
GROUP BY portfolio_id, symbol
HAVING SUM(ABS(position_size * current_price)) > 100000.00;

-- ==============================================================================
-- JOB 3: COMPLIANCE MONITORING
-- ==============================================================================
-- JOB: compliance_check
-- TOPIC: trades
-- FORMAT: protobuf
-- PROTO: schemas/trades.proto
-- OUTPUT_TOPIC: compliance_violations
START JOB compliance_check AS
SELECT
    trade_id,
    trader_id,
    symbol,
    quantity,
    price,
    trade_time,
    notional_amount,
    CASE
        WHEN notional_amount > 1000000.00 THEN 'LARGE_TRADE_REPORTING'
        WHEN symbol IN ('RESTRICTED_SYMBOL_1', 'RESTRICTED_SYMBOL_2') THEN 'RESTRICTED_INSTRUMENT'
        WHEN trade_time NOT BETWEEN '09:30:00' AND '16:00:00' THEN 'AFTER_HOURS_TRADE'
        ELSE 'COMPLIANT'
    END as compliance_status,
    notional_amount * 0.0001 as regulatory_fee
FROM trades
WHERE notional_amount > 10000.00
   OR symbol LIKE 'RESTRICTED_%'
   OR trade_time NOT BETWEEN '09:30:00' AND '16:00:00';
