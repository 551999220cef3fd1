"""Benchmarks: `python bench/run.py` prints every performance figure beside its baseline."""
