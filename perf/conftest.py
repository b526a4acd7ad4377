"""Benchmark plumbing for ``perf/``: after pytest-benchmark's tables, print each group's medians
as ratios to the group's baselines, all measured in the same run on the same machine.

A benchmark becomes a baseline with ``benchmark.extra_info["baseline"] = True``; it may set
``benchmark.extra_info["ops"]`` (work items per call) so the summary also shows ns per item, and
``benchmark.extra_info["peak_rss_mb"]`` (a process's peak memory), shown beside it.
Absolute times vary between machines and runs; ratios within one run are what we compare.
"""

import pytest

_groups = []


@pytest.hookimpl(wrapper=True)
def pytest_benchmark_group_stats(config, benchmarks, group_by):
    groups = yield
    _groups[:] = groups
    return groups


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter):
    for group, benches in _groups:
        benches = [b for b in benches if b.get("median") is not None]
        baselines = [b for b in benches if b["extra_info"].get("baseline")]
        if not baselines:
            continue
        terminalreporter.write_sep("-", f"ratios (median / baseline median): {group}")
        width = max(len(b["name"]) for b in benches)
        for bench in benches:
            ops = bench["extra_info"].get("ops", 1)
            line = f"{bench['name']:<{width}}  {bench['median'] / ops * 1e9:10.1f} ns/item"
            if "peak_rss_mb" in bench["extra_info"]:
                line += f"  peak RSS {bench['extra_info']['peak_rss_mb']} MB"
            for base in baselines:
                if base is not bench:
                    line += f"  {bench['median'] / base['median']:6.2f}x {base['name']}"
            terminalreporter.write_line(line)
