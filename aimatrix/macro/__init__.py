"""Macro (whole-model) benchmarks: the model zoo and its framework backends."""
