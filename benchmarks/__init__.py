"""`make bench`: benchmarks printed as markdown tables (numbers, not pass/fail timing tests)."""
