-- SQL Application: quickstart
-- Large trades with their notional value, from a JSON-lines file to a file and the terminal.
-- CONFIG: financial_precision = true

-- JOB: large_trades
CREATE STREAM large_trades AS
SELECT
    trade_id,
    symbol,
    side,
    price,
    quantity,
    price * quantity AS notional,
    CASE
        WHEN price * quantity >= 100000 THEN 'BLOCK'
        WHEN quantity >= 1000 THEN 'LARGE'
        ELSE 'NORMAL'
    END AS size_class
FROM trades
WHERE quantity > 500
INTO large_trades_file, console
WITH (
    'trades.type' = 'file_source',
    'trades.path' = 'examples/quickstart/trades.jsonl',
    'trades.format' = 'jsonl',
    'large_trades_file.type' = 'file_sink',
    'large_trades_file.path' = 'large_trades.jsonl',
    'large_trades_file.format' = 'jsonl',
    'console.type' = 'stdout_sink'
);
