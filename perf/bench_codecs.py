"""JSON Lines and CSV codecs: velostream's Cython scanners/writers against orjson, json and csv.

The data set is the peer harness's trades shape (trade_id, symbol, price with 4 decimals,
quantity, side, ts), 200k records generated deterministically. Decoding baselines produce what
a hand-written loop would (a list of dicts); ours produces typed columns with exact DECIMAL
prices, which is more work per record, not less. Every variant is checked for the right answer.

Run: ``pytest perf/bench_codecs.py -p no:cacheprovider -o python_files='bench_*.py'
--benchmark-only --benchmark-columns=min,median,ops``; the summary prints ns/record and ratios.
"""

import csv
import io
import json
import random

import orjson
import pytest

from velostream._core.batch import RecordBatch
from velostream._core.decimal import ScaledInteger
from velostream.formats import CsvDecoder, CsvEncoder, JsonDecoder, JsonEncoder

N = 200_000
DECODE = "codecs: decode 200k trades JSONL"
ENCODE = "codecs: encode 200k trades JSONL"
CSV_DECODE = "codecs: decode 200k trades CSV"
CSV_ENCODE = "codecs: encode 200k trades CSV"
SYMBOLS = ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "JPM", "V", "BRK.B"]


def _trades():
    rng = random.Random(42)
    out = []
    for i in range(N):
        cents = rng.randrange(1_000_000, 50_000_000)        # 100.0000 .. 5000.0000
        out.append({
            "trade_id": i,
            "symbol": rng.choice(SYMBOLS),
            "price": f"{cents // 10_000}.{cents % 10_000:04d}",
            "quantity": rng.randrange(1, 1000),
            "side": rng.choice(("BUY", "SELL")),
            "ts": 1_704_067_200_000 + i * 37,
        })
    return out


TRADES = _trades()
JSONL = b"".join(
    b'{"trade_id":%d,"symbol":"%s","price":%s,"quantity":%d,"side":"%s","ts":%d}\n'
    % (t["trade_id"], t["symbol"].encode(), t["price"].encode(), t["quantity"],
       t["side"].encode(), t["ts"]) for t in TRADES)
CSV = b"trade_id,symbol,price,quantity,side,ts\n" + b"".join(
    b"%d,%s,%s,%d,%s,%d\n" % (t["trade_id"], t["symbol"].encode(), t["price"].encode(),
                              t["quantity"], t["side"].encode(), t["ts"]) for t in TRADES)
LAST_PRICE = ScaledInteger(TRADES[-1]["price"])
BATCH = JsonDecoder().decode_lines(JSONL).batch
DICTS_FLOAT = [orjson.loads(line) for line in JSONL.splitlines()]          # price as float
DICTS_EXACT = [dict(t, price=ScaledInteger(t["price"])) for t in TRADES]    # price exact
CSV_ROWS = list(csv.reader(io.StringIO(CSV.decode())))


def _run(benchmark, fn, arg, baseline=False, rounds=5):
    benchmark.extra_info.update(ops=N, baseline=baseline)
    return benchmark.pedantic(fn, args=(arg,), rounds=rounds, iterations=1, warmup_rounds=1)


# ------------------------------------------------------------------------------------ decoding

@pytest.mark.benchmark(group=DECODE)
def test_velostream_decode_lines(benchmark):
    decoder = JsonDecoder()
    result = _run(benchmark, decoder.decode_lines, JSONL, rounds=10)
    assert result.errors == [] and len(result.batch) == N
    assert result.batch.schema[2] == ("price", "DECIMAL", 4)
    assert result.batch.column("price").get(N - 1) == LAST_PRICE


@pytest.mark.benchmark(group=DECODE)
def test_velostream_decode_lines_projected(benchmark):
    # W1 needs trade_id, symbol, price, quantity: side and ts are skipped, not decoded.
    decoder = JsonDecoder(fields=["trade_id", "symbol", "price", "quantity"])
    result = _run(benchmark, decoder.decode_lines, JSONL, rounds=10)
    assert result.batch.names == ("trade_id", "symbol", "price", "quantity")


def _orjson_per_line(data):
    return [orjson.loads(line) for line in data.splitlines()]


@pytest.mark.benchmark(group=DECODE)
def test_orjson_loads_per_line(benchmark):
    rows = _run(benchmark, _orjson_per_line, JSONL, baseline=True)
    assert len(rows) == N and rows[-1]["trade_id"] == N - 1


def _orjson_to_batch(data):
    return RecordBatch.from_pylist([orjson.loads(line) for line in data.splitlines()])


@pytest.mark.benchmark(group=DECODE)
def test_orjson_then_from_pylist(benchmark):
    # The "use orjson, then build columns" alternative (prices become DOUBLE: not exact).
    batch = _run(benchmark, _orjson_to_batch, JSONL, rounds=3)
    assert len(batch) == N


def _json_per_line(data):
    return [json.loads(line) for line in data.splitlines()]


@pytest.mark.benchmark(group=DECODE)
def test_json_loads_per_line(benchmark):
    rows = _run(benchmark, _json_per_line, JSONL, rounds=3)
    assert len(rows) == N


# ------------------------------------------------------------------------------------ encoding

@pytest.mark.benchmark(group=ENCODE)
def test_velostream_encode_lines(benchmark):
    out = _run(benchmark, JsonEncoder().encode_lines, BATCH, rounds=10)
    assert out.count(b"\n") == N
    assert orjson.loads(out[out.rindex(b"\n", 0, -1) + 1:])["price"] == TRADES[-1]["price"]


@pytest.mark.benchmark(group=ENCODE)
def test_velostream_encode_rows(benchmark):
    rows = _run(benchmark, JsonEncoder().encode_rows, BATCH, rounds=10)
    assert len(rows) == N


def _orjson_dumps_float(rows):
    return b"".join([orjson.dumps(row) + b"\n" for row in rows])


@pytest.mark.benchmark(group=ENCODE)
def test_orjson_dumps_per_row(benchmark):
    # The hand-written loop: dicts with float prices (inexact, but what orjson does natively).
    out = _run(benchmark, _orjson_dumps_float, DICTS_FLOAT, baseline=True)
    assert out.count(b"\n") == N


def _orjson_dumps_exact(rows):
    return b"".join([orjson.dumps(row, default=str) + b"\n" for row in rows])


@pytest.mark.benchmark(group=ENCODE)
def test_orjson_dumps_per_row_exact_decimals(benchmark):
    out = _run(benchmark, _orjson_dumps_exact, DICTS_EXACT)
    assert out.count(b"\n") == N


def _json_dumps(rows):
    return "".join([json.dumps(row, separators=(",", ":")) + "\n" for row in rows])


@pytest.mark.benchmark(group=ENCODE)
def test_json_dumps_per_row(benchmark):
    out = _run(benchmark, _json_dumps, DICTS_FLOAT, rounds=3)
    assert out.count("\n") == N


# ------------------------------------------------------------------------------------------ CSV

@pytest.mark.benchmark(group=CSV_DECODE)
def test_velostream_csv_decode(benchmark):
    result = _run(benchmark, CsvDecoder().decode, CSV, rounds=10)
    assert result.errors == [] and len(result.batch) == N
    assert result.batch.column("price").get(N - 1) == LAST_PRICE


def _csv_reader(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


@pytest.mark.benchmark(group=CSV_DECODE)
def test_csv_reader(benchmark):
    rows = _run(benchmark, _csv_reader, CSV, baseline=True)
    assert len(rows) == N + 1


def _csv_dictreader(data):
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


@pytest.mark.benchmark(group=CSV_DECODE)
def test_csv_dictreader(benchmark):
    rows = _run(benchmark, _csv_dictreader, CSV, rounds=3)
    assert len(rows) == N


@pytest.mark.benchmark(group=CSV_ENCODE)
def test_velostream_csv_encode(benchmark):
    out = _run(benchmark, CsvEncoder().encode, BATCH, rounds=10)
    assert out == CSV


def _csv_writer(rows):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


@pytest.mark.benchmark(group=CSV_ENCODE)
def test_csv_writer(benchmark):
    out = _run(benchmark, _csv_writer, CSV_ROWS, baseline=True)
    assert out == CSV
