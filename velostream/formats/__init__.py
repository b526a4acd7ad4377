"""Codecs between bytes and ``RecordBatch``: JSON / JSON Lines and CSV.

Decoders return a ``DecodeResult`` (the batch plus a ``RecordError`` per malformed record);
encoders write typed columns straight to bytes. See ``formats.json`` and ``formats.csv``.
Connectors find a format by name, alias or extension in ``formats.registry`` (one decoder and
one encoder protocol for every format); ``formats.table`` renders the terminal table.
"""

from velostream.formats.csv import CsvDecoder, CsvEncoder
from velostream.formats.errors import DecodeResult, RecordError
from velostream.formats.json import JsonDecoder, JsonEncoder

__all__ = ["CsvDecoder", "CsvEncoder", "DecodeResult", "JsonDecoder", "JsonEncoder", "RecordError"]
