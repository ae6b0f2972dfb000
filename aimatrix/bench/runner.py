"""Runs a list of cases: progress bar, one JSONL line per finished case, never stops at a failure."""

from __future__ import annotations

from typing import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..results.jsonl import JsonlWriter
from ..results.result import Result
from .cases import Case


def run_cases(cases: Sequence[Case], *, device: str, out: str | None = None,
              console: Console | None = None) -> list[Result]:
    """Run every case in order; a failing case becomes a Result with ``error`` set and the run goes on."""
    console = console or Console(stderr=True)
    writer = JsonlWriter(out) if out else None
    results: list[Result] = []
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("starting", total=len(cases))
            for case in cases:
                progress.update(task, description=case.label)
                try:
                    r = case.fn(*case.args, **case.kwargs)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as exc:  # recorded, not raised: one bad case must not end the run
                    r = case.failed(exc, device)
                results.append(r)
                if writer:
                    writer.write(r)
                progress.advance(task)
    finally:
        if writer:
            writer.close()
    return results
