"""Timing for the benchmarks' direct runs (``python perf/bench_x.py``): the median of repeated
calls after one warm-up call. Under pytest the benchmarks are timed by pytest-benchmark."""

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
