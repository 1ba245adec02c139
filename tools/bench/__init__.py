"""Benchmarks: programs that report figures (python -m tools.bench), not tests."""
