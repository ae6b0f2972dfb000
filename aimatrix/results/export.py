"""CSV export: one row per Result, nested fields flattened to dotted column names."""

from __future__ import annotations

import csv
import json
import os
from typing import Any, Iterable

from .result import Result

LEADING = ("schema", "case", "op", "device", "dtype", "backend")
SECTIONS = ("params", "ran", "stats", "metrics", "verify", "telemetry", "error", "run", "env")


def _flatten(prefix: str, value: Any, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, list):
        out[prefix] = ";".join(json.dumps(v) if isinstance(v, (dict, list)) else str(v) for v in value)
    else:
        out[prefix] = value


def flatten(r: Result) -> dict:
    """A Result as one flat dict: ``op``, ``params.m``, ``stats.median_ms``, ``telemetry.sm_clock_mhz.median``,
    ``run.run_id``, ..."""
    d = r.to_dict()
    row = {k: d.get(k) for k in LEADING}
    for section in SECTIONS:
        if d.get(section):
            _flatten(section, d[section], row)
    return row


def write_csv(path: str | os.PathLike, results: Iterable[Result]) -> int:
    """Write Results as CSV (columns: the union over all rows, in section order). Returns the row count."""
    rows = [flatten(r) for r in results]
    cols = list(LEADING)
    for section in SECTIONS:
        names = sorted({k for row in rows for k in row if k.startswith(section + ".")})
        cols += names
    try:
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            for row in rows:
                w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    except OSError as e:
        raise ValueError(f"cannot write CSV to {str(path)!r}: {e.strerror}") from e
    return len(rows)
