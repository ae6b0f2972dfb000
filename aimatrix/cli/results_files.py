"""Reading results files given on the command line (compare, report, export): bad lines are warnings."""

from __future__ import annotations

from typing import Sequence

from rich.markup import escape

from .common import stderr


def load_runs(paths: Sequence[str]) -> list:
    """Every readable Result of each file (warnings for bad lines); ValueError when a file has none."""
    from ..results.jsonl import load_results

    runs = []
    err = stderr()
    for path in paths:
        loaded = load_results(path)
        if not loaded.ok:
            raise ValueError("; ".join(loaded.problems))
        for problem in loaded.problems:
            err.print(f"[yellow]warning:[/yellow] {escape(problem)} (line skipped; the readable lines are used)")
        runs.append(loaded)
    return runs
