"""What the benchmarks share: timing for their direct runs (``python perf/bench_x.py``: the
median of repeated calls after one warm-up call; under pytest, pytest-benchmark times them),
how a pytest-benchmark result is labelled for perf/conftest.py's ratio table, and a line count
of an output file."""

import statistics
import time


def median_ns(fn, *args, repeat: int = 15) -> float:
    """The median wall time of ``fn(*args)`` in nanoseconds over ``repeat`` calls."""
    fn(*args)
    times = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn(*args)
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times)


def label(benchmark, ops: int, *, group: str | None = None, baseline: bool = False) -> None:
    """Mark a pytest-benchmark result: ``ops`` records per call (ns/record in the ratio
    table), its group, and whether it is the group's baseline."""
    if group is not None:
        benchmark.group = group
    benchmark.extra_info["ops"] = ops
    if baseline:
        benchmark.extra_info["baseline"] = True


def count_lines(path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)
