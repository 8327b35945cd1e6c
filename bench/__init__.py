"""Benchmarks: bench/run.py (throughput, memory, lag; --scale: cost as runs grow), soak.py."""
