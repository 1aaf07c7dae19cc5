"""Benchmarks run by `make bench`; each is a module with a `main()`."""
