"""aimatrix's version: the one copy (pyproject.toml reads it at build time)."""

__version__ = "0.1.0"
