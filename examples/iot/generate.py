#!/usr/bin/env python3
"""Deterministic test data for the IoT application (examples/iot/app.sql).

Writes one JSON-lines file per input topic into ``--out`` (default: ``data/`` next to this file):

- ``iot_sensors.jsonl``         device_id, sensor_type, value, unit, timestamp, payload
  (``payload`` is the device's raw JSON message as a string, e.g.
  ``{"device_id": "dev-003", "sensor_type": "temperature", "temperature": 76.4}``);
  read by temperature_check, temperature_averages and temperature_alerts.
- ``temperature-readings.jsonl`` device_id, location, timestamp, temperature  (rows/4 each)
- ``humidity-readings.jsonl``    device_id, timestamp, humidity
- ``pressure-readings.jsonl``    device_id, timestamp, pressure
- ``vibration-readings.jsonl``   device_id, timestamp, vibration_level
  (the four topics of sensor_analysis)

Readings are JSON numbers with one decimal; timestamps epoch milliseconds, increasing in every
file. Same ``--seed`` and ``--rows``, same bytes. Standard library only::

    python examples/iot/generate.py [--rows N] [--out DIR] [--seed S]
"""

from __future__ import annotations

import random
import sys
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))     # examples/_datagen.py, shared by the generators
import _datagen

START_MS = 1_717_405_200_000          # 2024-06-03T09:00:00Z
TENTH = Decimal("0.1")
DEVICES = [f"dev-{i:03d}" for i in range(1, 13)]
LOCATIONS = ["plant-a/line-1", "plant-a/line-2", "plant-b/line-1", "warehouse"]
# sensor type: (unit, low, high) of its readings, in tenths
SENSORS = {"TEMPERATURE": ("F", 600, 900), "HUMIDITY": ("%RH", 300, 950),
           "PRESSURE": ("hPa", 9400, 10300)}


def tenths(rng: random.Random, low: int, high: int) -> Decimal:
    return (Decimal(rng.randint(low, high)) / 10).quantize(TENTH)   # 76.4, 75.0


def iot_sensors(rng: random.Random, n: int) -> list[dict]:
    rows, t = [], START_MS
    for i in range(1, n + 1):
        t += rng.randint(500, 6_000)                 # n=400 spans about 20 minutes
        device = rng.choice(DEVICES)
        sensor_type = rng.choices(list(SENSORS), [3, 1, 1])[0]
        unit, low, high = SENSORS[sensor_type]
        value = tenths(rng, low, high)
        if sensor_type == "TEMPERATURE" and i % 13 == 0:
            value = Decimal("75.0")                  # exactly at the alert threshold
        raw = {"device_id": device, "sensor_type": sensor_type.lower(),
               sensor_type.lower(): value}
        rows.append({
            "device_id": device,
            "sensor_type": sensor_type,
            "value": value,
            "unit": unit,
            "timestamp": t,
            "payload": _datagen.dumps(raw),
        })
    return rows


def sensor_topic(field: str, low: int, high: int, location: bool = False):
    """A per-sensor topic of sensor_analysis: n/4 readings, one per device every 3 minutes or so
    (so a 2-minute join window matches a few readings, not hundreds)."""

    def make(rng: random.Random, n: int) -> list[dict]:
        rows, t = [], START_MS
        for _ in range(max(1, n // 4)):
            t += rng.randint(10_000, 20_000)
            device = rng.choice(DEVICES)
            row = {"device_id": device}
            if location:
                row["location"] = LOCATIONS[DEVICES.index(device) % len(LOCATIONS)]
            row["timestamp"] = t
            row[field] = tenths(rng, low, high)
            rows.append(row)
        return rows

    return make


TOPICS = {
    "iot_sensors": iot_sensors,
    "temperature-readings": sensor_topic("temperature", 150, 420, location=True),
    "humidity-readings": sensor_topic("humidity", 300, 990),
    "pressure-readings": sensor_topic("pressure", 9300, 10400),
    "vibration-readings": sensor_topic("vibration_level", 0, 120),
}


def generate(out: Path | str = HERE / "data", rows: int = 400, seed: int = 42) -> dict:
    """Write every topic's file into ``out``; returns ``{name: path}``."""
    return _datagen.generate(TOPICS, out, rows, seed)


def main(argv: list[str] | None = None) -> None:
    _datagen.main(TOPICS, __doc__, HERE / "data", argv)


if __name__ == "__main__":
    main()
