"""Benchmarks: python bench/run.py (throughput, memory, lag), python bench/soak.py (leaks)."""
