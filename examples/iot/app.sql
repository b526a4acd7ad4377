-- SQL Application: iot_monitoring
-- IoT sensor monitoring, assembled from the product documents:
--   temperature_check, temperature_averages, temperature_alerts: deployment-summary.md,
--     "IoT Sensor Monitoring" (its velo-sql execute / stream commands, as jobs of one file);
--   sensor_analysis: multi-source-sink-guide.md, "IoT Sensor Data Processing" (four sensor
--     streams correlated, written to three sinks).
-- Every record of the iot_sensors topic carries the normalised reading (device_id, sensor_type,
-- value, unit, timestamp) and the device's raw JSON message (payload); schemas/iot_sensors.avsc.
-- See README.md.

-- CONFIG: group_prefix = "iot_"

-- ==============================================================================
-- JOB 1: ONE-TIME SENSOR DATA ANALYSIS (reads the raw device payload)
-- ==============================================================================
-- JOB: temperature_check
-- TOPIC: iot_sensors
-- FORMAT: avro
-- SCHEMA: schemas/iot_sensors.avsc
START JOB temperature_check AS
SELECT
    JSON_VALUE(payload, '$.device_id') as device_id,
    CAST(JSON_VALUE(payload, '$.temperature'), 'FLOAT') as temp,
    CASE
        WHEN CAST(JSON_VALUE(payload, '$.temperature'), 'FLOAT') > 75.0
        THEN 'HIGH' ELSE 'NORMAL'
    END as alert_level
FROM sensor_data
WHERE JSON_VALUE(payload, '$.sensor_type') = 'temperature';

-- ==============================================================================
-- JOB 2: CONTINUOUS TEMPERATURE MONITORING (5-minute averages per device)
-- ==============================================================================
-- JOB: temperature_averages
-- TOPIC: iot_sensors
-- FORMAT: avro
-- SCHEMA: schemas/iot_sensors.avsc
-- WINDOW: TUMBLING (INTERVAL 5 MINUTES)
-- OUTPUT_TOPIC: temperature_alerts
START JOB temperature_averages AS
SELECT
    device_id,
    AVG(value) as avg_temp,
    MAX(value) as max_temp,
    COUNT(*) as reading_count
FROM sensor_data
WHERE sensor_type = 'TEMPERATURE'
WINDOW TUMBLING (INTERVAL 5 MINUTES)
GROUP BY device_id;

-- ==============================================================================
-- JOB 3: CONTINUOUS ALERT GENERATION
-- ==============================================================================
-- JOB: temperature_alerts
-- TOPIC: iot_sensors
-- FORMAT: avro
-- SCHEMA: schemas/iot_sensors.avsc
-- OUTPUT_TOPIC: emergency_alerts
START JOB temperature_alerts AS
SELECT
    JSON_VALUE(payload, '$.device_id') as device_id,
    JSON_VALUE(payload, '$.temperature') as temperature,
    timestamp() as alert_time,
    'TEMPERATURE_HIGH' as alert_type
FROM sensor_data
WHERE CAST(JSON_VALUE(payload, '$.temperature'), 'FLOAT') > 75.0;

-- ==============================================================================
-- JOB 4: MULTI-SENSOR CORRELATION (four sources, three sinks)
-- ==============================================================================
-- JOB: sensor_analysis
CREATE STREAM sensor_analysis AS
SELECT
    t.device_id,
    t.location,
    t.timestamp,
    t.temperature,
    h.humidity,
    p.pressure,
    v.vibration_level,
    -- Calculate composite metrics
    (t.temperature - 20) / 10.0 as temp_deviation,
    (h.humidity - 50) / 20.0 as humidity_deviation,
    (p.pressure - 1013.25) / 50.0 as pressure_deviation,
    -- Anomaly detection
    CASE
        WHEN ABS(t.temperature - LAG(t.temperature, 1) OVER (
            PARTITION BY t.device_id ORDER BY t.timestamp
        )) > 10 THEN 'TEMP_SPIKE'
        WHEN h.humidity > 90 AND t.temperature > 35 THEN 'HIGH_HEAT_HUMIDITY'
        WHEN v.vibration_level > 8.0 THEN 'EXCESSIVE_VIBRATION'
        WHEN p.pressure < 950 THEN 'LOW_PRESSURE_ALARM'
        ELSE 'NORMAL'
    END as anomaly_type
FROM temperature_sensors t
INNER JOIN humidity_sensors h
    ON t.device_id = h.device_id
INNER JOIN pressure_sensors p
    ON t.device_id = p.device_id
LEFT JOIN vibration_sensors v
    ON t.device_id = v.device_id
WITHIN INTERVAL '2' MINUTES
WHERE t.temperature IS NOT NULL
  AND h.humidity IS NOT NULL
  AND p.pressure IS NOT NULL
INTO monitoring_alerts, data_lake, device_dashboard
WITH (
    -- High-frequency sensor data processing
    'batch.strategy' = 'low_latency',
    'batch.low_latency_max_size' = '10',
    'batch.low_latency_wait' = '5ms',
    'batch.eager_processing' = 'true',
    'batch.enable' = 'true',
    'use_transactions' = 'false',
    'failure_strategy' = 'LogAndContinue',

    -- Sensor source configuration
    'temperature_sensors.type' = 'kafka_source',
    'temperature_sensors.bootstrap.servers' = 'iot-kafka:9092',
    'temperature_sensors.topic' = 'temperature-readings',
    'temperature_sensors.source.format' = 'json',

    'humidity_sensors.type' = 'kafka_source',
    'humidity_sensors.bootstrap.servers' = 'iot-kafka:9092',
    'humidity_sensors.topic' = 'humidity-readings',
    'humidity_sensors.source.format' = 'json',

    'pressure_sensors.type' = 'kafka_source',
    'pressure_sensors.bootstrap.servers' = 'iot-kafka:9092',
    'pressure_sensors.topic' = 'pressure-readings',
    'pressure_sensors.source.format' = 'json',

    'vibration_sensors.type' = 'kafka_source',
    'vibration_sensors.bootstrap.servers' = 'iot-kafka:9092',
    'vibration_sensors.topic' = 'vibration-readings',
    'vibration_sensors.source.format' = 'json',

    -- Output sink configuration
    'monitoring_alerts.type' = 'kafka_sink',
    'monitoring_alerts.bootstrap.servers' = 'alert-kafka:9092',
    'monitoring_alerts.topic' = 'sensor-alerts',
    'monitoring_alerts.value.format' = 'json',

    'data_lake.type' = 's3_sink',
    'data_lake.bucket' = 'sensor-data-lake',
    'data_lake.prefix' = 'sensors/year={year}/month={month}/day={day}/',
    'data_lake.format' = 'parquet',
    'data_lake.compression' = 'snappy',

    'device_dashboard.type' = 'http_sink',
    'device_dashboard.endpoint' = 'https://dashboard-api/sensors',
    'device_dashboard.auth_header' = 'Bearer ${DASHBOARD_TOKEN}',
    'device_dashboard.batch_size' = '50'
);
