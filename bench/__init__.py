"""Benchmarks: each script prints its figures and writes them to bench/results/."""
