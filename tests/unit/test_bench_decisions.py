"""The decision benchmark still runs end to end (a few orders; `make bench` runs the real 10,000)."""

from __future__ import annotations

from benchmarks.bench_decisions import run


def test_the_benchmark_runs_and_reports_a_markdown_table() -> None:
    # When a small run is made
    report = run(count=40, seed=3, warm_up=5)

    # Then it prints the stages and the automation rate
    assert "| **total, wall clock** |" in report
    assert "Automation rate: **" in report
    assert "0 documents refused by an adapter" in report
    # and the baseline from the same run: the rules compiled for the order instead of the warm cache
    assert "| baseline, same run: evaluate with the rules compiled for the order (1 orders) |" in report
