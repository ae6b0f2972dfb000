"""JSON Lines: one Result per line, flushed as each case finishes.

Writing: ``JsonlWriter`` appends a line per Result and flushes and fsyncs it, so
a run that is killed keeps every case it finished. Reading: ``read_jsonl`` is
strict (the first bad line raises ``ValueError`` naming file and line);
``load_results`` keeps every readable line and reports the others as problems
(empty file, a line cut off by a killed run, a newer schema, text that is not JSON,
a field of the wrong type). ``check_resumable`` refuses to resume into a file that is
not aimatrix JSONL; ``run_ids`` tells which runs a file holds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from .result import Result


class JsonlWriter:
    """Appends Results to a file, one line each, flushed and fsynced per case so a killed run keeps them."""

    def __init__(self, path: str | os.PathLike, *, append: bool = True) -> None:
        self.path = Path(path)
        try:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
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


class _NotJson(ValueError):
    """The line is not JSON at all (as opposed to JSON that is not a valid record)."""


def _parse(line: str) -> Result:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise _NotJson(f"not JSON ({e.msg} at column {e.colno})") from None
    except RecursionError:  # thousands of nested brackets: the decoder gives up before our depth check
        raise ValueError("nested too deeply to read") from None
    except ValueError as e:  # e.g. an integer of more digits than Python converts
        raise ValueError(f"not readable JSON ({e})") from None
    try:
        return Result.from_dict(obj)
    except (TypeError, KeyError) as e:
        raise ValueError(str(e)) from None


def read_jsonl(path: str | os.PathLike) -> Iterator[Result]:
    """Read Results; a line that is not a valid record raises ValueError naming the file and line."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield _parse(line)
            except ValueError as e:
                raise ValueError(f"{path}:{lineno}: not a valid aimatrix result: {e}") from e


@dataclass
class Loaded:
    """The readable Results of a file and what was wrong with the rest (``"FILE:LINE: why"`` each)."""

    path: str
    results: list[Result] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.results)


def _read_text(path: str | os.PathLike) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    except OSError as e:
        raise ValueError(f"cannot read results file {str(path)!r}: {e.strerror}") from e


def _scan(text: str) -> Iterator[tuple[int, Result | None, str, bool]]:
    """(line number, the Result or None, why not, whether the line is cut off) for each non-blank line."""
    lines = text.split("\n")
    last = len(lines) - 1 if lines[-1] == "" else len(lines)  # index past the last non-final-empty line
    for i, line in enumerate(lines[:last]):
        if not line.strip():
            continue
        try:
            yield i + 1, _parse(line), "", False
        except ValueError as e:
            cut = (
                isinstance(e, _NotJson)
                and i == len(lines) - 1
                and not text.endswith("\n")
                and line.lstrip().startswith("{")
            )
            yield (
                i + 1,
                None,
                ("the line is cut off (the run writing it was probably interrupted)" if cut else str(e)),
                cut,
            )


def load_results(path: str | os.PathLike) -> Loaded:
    """Read every valid line of a results file; bad lines become ``problems`` instead of errors.

    A line is valid when it is a JSON record whose fields have the types and ranges the
    readers rely on (``Result.from_dict``); any other line becomes ``"FILE:LINE: why"``.
    Raises ValueError only when the file cannot be opened. A file with no valid
    line gives ``Loaded.results == []`` and a problem saying why.
    """
    out = Loaded(str(path))
    text = _read_text(path)
    if not text.strip():
        out.problems.append(f"{path}: the file is empty: no results")
        return out
    for lineno, result, why, _ in _scan(text):
        if result is not None:
            out.results.append(result)
        else:
            out.problems.append(f"{path}:{lineno}: {why}")
    if not out.results:
        out.problems.append(f"{path}: no readable aimatrix result in the file")
    return out


def check_resumable(path: str | os.PathLike) -> None:
    """Refuse (ValueError) to resume into a file holding lines that are not aimatrix records.

    A missing or empty file, and a last line cut off by a killed run (``drop_partial_last_line``
    removes it), are fine; any other unreadable line means the file is something else, and
    appending to it or rewriting it would lose that line.
    """
    if not Path(path).exists():
        return
    for lineno, result, why, cut in _scan(_read_text(path)):
        if result is None and not cut:
            raise ValueError(
                f"{path} is not an aimatrix results file (line {lineno}: {why}); refusing to resume into it"
            )


def run_ids(path: str | os.PathLike) -> set[str]:
    """The distinct ``run["run_id"]`` of the readable records of a file (empty for a missing file)."""
    if not Path(path).exists():
        return set()
    return {
        r.run["run_id"]
        for r in load_results(path).results
        if r.run is not None and isinstance(r.run.get("run_id"), str)
    }


def drop_partial_last_line(path: str | os.PathLike) -> int:
    """Cut a final record cut off by a killed writer (no newline, not JSON) so appending starts on a clean line.

    Returns the number of bytes removed (0 when the file ends with a newline or is absent).
    A complete JSON line that merely lacks its newline gets the newline instead (even one that
    is not a valid record: ``load_results`` names it, and ``check_resumable`` refuses the file).
    """
    p = Path(path)
    if not p.exists():
        return 0
    with open(p, "rb+") as f:
        data = f.read()
        if not data or data.endswith(b"\n"):
            return 0
        start = data.rfind(b"\n") + 1
        tail = data[start:]
        try:
            _parse(tail.decode("utf-8"))
        except (_NotJson, UnicodeDecodeError):
            if tail.lstrip().startswith(b"{"):  # the start of a record a killed writer left; other text stays
                f.truncate(start)
                return len(tail)
        except ValueError:
            pass  # JSON, but not a valid record: kept, so that it is reported rather than silently lost
        f.write(b"\n")
        return 0
