"""Results: the record every front end speaks, and its JSON Lines files."""

from .jsonl import JsonlWriter, read_jsonl, write_jsonl
from .result import SCHEMA, Result

__all__ = ["Result", "SCHEMA", "JsonlWriter", "read_jsonl", "write_jsonl"]
