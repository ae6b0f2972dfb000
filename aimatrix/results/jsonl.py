"""JSON Lines: one Result per line, flushed as each case finishes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Iterable, Iterator

from .result import Result


class JsonlWriter:
    """Appends Results to a file, one line each, flushed and fsynced per case so a killed run keeps them."""

    def __init__(self, path: str | os.PathLike, *, append: bool = True) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._f: IO[str] = open(self.path, "a" if append else "w", encoding="utf-8")
        except OSError as e:
            raise ValueError(f"cannot write results to {str(self.path)!r}: {e.strerror}") from e

    def write(self, result: Result) -> None:
        self._f.write(result.to_json() + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_jsonl(path: str | os.PathLike, results: Iterable[Result]) -> None:
    with JsonlWriter(path, append=False) as w:
        for r in results:
            w.write(r)


def read_jsonl(path: str | os.PathLike) -> Iterator[Result]:
    """Read Results; a line that is not a valid record raises ValueError naming the file and line."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield Result.from_dict(json.loads(line))
            except (json.JSONDecodeError, ValueError, TypeError) as e:
                raise ValueError(f"{path}:{lineno}: not a valid aimatrix result: {e}") from e
