"""Runs a list of cases so that no finished case is ever lost.

- Every finished case is one JSON Lines record, flushed and fsynced at once.
- A failing case becomes a Result with ``error`` set; the run goes on.
- ``resume=True`` skips cases already in the results file (matched by case id and device).
- ``isolate=True`` runs cases in a child process: a kernel fault, a crash or a hang costs
  that case only. The child is replaced after any case that failed in a way that may have
  poisoned its CUDA context, and after a crash or timeout. Without it, cases run in this
  process until one on a CUDA device fails in such a way (an illegal address is sticky: every
  later CUDA call in the process would fail too); the cases after it then run isolated.
- ``timeout=S`` bounds each case (it implies ``isolate``: a case is stopped by ending its process).
- Ctrl-C stops the run: what finished is already written; the Results are returned
  with ``interrupted`` set, and the case that was running is named.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from typing import Any, Sequence

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..results.jsonl import JsonlWriter, drop_partial_last_line, load_results
from ..results.result import Result
from .cases import Case

#: Failures after which the process that ran the case is still sound (argument or
#: support errors, a wrong answer, an allocation that failed and was cleaned up).
SOUND_AFTER = ("ValueError", "TypeError", "UnsupportedError", "VerificationError", "OutOfMemoryError")
WORKER_START_TIMEOUT_S = 300.0


def may_poison_context(error: dict) -> bool:
    """Whether a failure (a Result's ``error``) may have left its process's CUDA context unusable."""
    return error["type"] not in SOUND_AFTER


class RunResults(list):
    """The Results of a run (a list), with what else happened.

    ``skipped``: Results already in the file that --resume did not run again;
    ``interrupted``: Ctrl-C stopped the run; ``running``: the label of the case
    that was running then; ``not_run``: how many cases never started.
    """

    def __init__(self) -> None:
        super().__init__()
        self.skipped: list[Result] = []
        self.interrupted = False
        self.running: str | None = None
        self.not_run = 0
        self.notes: list[str] = []

    @property
    def failed(self) -> list[Result]:
        return [r for r in [*self, *self.skipped] if r.error]


def _error_of(exc: BaseException) -> dict:
    err = {"type": type(exc).__name__, "message": str(exc)}
    if getattr(exc, "status", ""):
        err["status"] = exc.status  # type: ignore[attr-defined]
    return err


# -- the child process ----------------------------------------------------------------
def _worker_main(conn) -> None:  # pragma: no cover - runs in the child (covered by the isolate tests)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
    conn.send(("ready", None))
    while True:
        try:
            case = conn.recv()
        except (EOFError, OSError):
            return
        if case is None:
            return
        try:
            r = case.fn(*case.args, **case.kwargs)
            conn.send(("ok", r.to_dict()))
        except Exception as exc:
            conn.send(("error", _error_of(exc)))


class _Lost(Exception):
    """The child ended without an answer (crash) or was ended (timeout); ``error`` is the record."""

    def __init__(self, error: dict) -> None:
        super().__init__(error["message"])
        self.error = error


class _Worker:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")  # never fork a process that may hold a CUDA context
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child,), name="aimatrix-case", daemon=True)
        self.proc.start()
        child.close()
        self._wait(WORKER_START_TIMEOUT_S, "start")

    def _wait(self, timeout: float | None, what: str) -> tuple[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if left <= 0:
                self.kill()
                raise _Lost({"type": "Timeout", "message": f"did not {what} within {timeout:g} s; its process was ended"})
            try:
                if self.conn.poll(left):
                    return self.conn.recv()
            except (EOFError, OSError):
                pass
            if not self.proc.is_alive():
                self.proc.join()
                code = self.proc.exitcode
                try:
                    name = signal.Signals(-code).name if code is not None and code < 0 else f"exit code {code}"
                except ValueError:
                    name = f"exit code {code}"
                raise _Lost({"type": "ProcessCrashed", "message": f"the case's process died ({name}) before it finished"})

    def run(self, case: Case, timeout: float | None) -> tuple[str, Any]:
        try:
            self.conn.send(case)
        except (OSError, ValueError) as e:
            raise _Lost({"type": "ProcessCrashed", "message": f"could not hand the case to its process: {e}"}) from e
        return self._wait(timeout, "finish")

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()

    def close(self) -> None:
        try:
            self.conn.send(None)
            self.proc.join(5)
        except (OSError, ValueError):
            pass
        self.kill()


# -- the runner -----------------------------------------------------------------------
def _run_here(case: Case, device: str) -> Result:
    try:
        return case.fn(*case.args, **case.kwargs)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # recorded, not raised: one bad case must not end the run
        return case.failed(exc, device)


def _already_done(out: str, device: str, retry_failed: bool, notes: list[str]) -> dict[str, Result]:
    cut = drop_partial_last_line(out)
    if cut:
        notes.append(f"dropped a cut-off last line ({cut} bytes) left in {out} by an interrupted run")
    loaded = load_results(out)
    notes.extend(p for p in loaded.problems if "the file is empty" not in p)
    return {r.case: r for r in loaded.results
            if r.case is not None and r.device == device and (r.ok or not retry_failed)}


def run_cases(cases: Sequence[Case], *, device: str, out: str | None = None, console: Console | None = None,
              resume: bool = False, isolate: bool = False, timeout: float | None = None,
              retry_failed: bool = False) -> RunResults:
    """Run every case in order and write each Result as it finishes; see the module doc for the options."""
    from pathlib import Path

    console = console or Console(stderr=True, soft_wrap=True)
    results = RunResults()
    if timeout is not None:
        if timeout <= 0:
            raise ValueError(f"timeout={timeout!r} is not allowed: it must be a positive number of seconds")
        isolate = True
    todo = list(cases)
    if resume:
        if not out:
            raise ValueError("resume needs the results file to resume (--out FILE)")
        if Path(out).exists():
            done = _already_done(out, device, retry_failed, results.notes)
            results.skipped = [done[c.id] for c in todo if c.id in done]
            todo = [c for c in todo if c.id not in done]
    for note in results.notes:
        console.print(f"[yellow]warning:[/yellow] {escape(note)}")
    writer = JsonlWriter(out) if out else None
    worker: _Worker | None = None
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("starting", total=len(todo))
            for case in todo:
                results.running = case.label
                progress.update(task, description=case.label)
                if not isolate:
                    r = _run_here(case, device)
                    if r.error and may_poison_context(r.error) and device.startswith("cuda"):
                        isolate = True
                        note = (f"{case.label} failed with {r.error['type']}, which may have ended this process's CUDA "
                                "context: the remaining cases run each in a child process")
                        results.notes.append(note)
                        progress.console.print(f"[yellow]warning:[/yellow] {escape(note)}")
                else:
                    try:
                        if worker is None:
                            worker = _Worker()
                        kind, payload = worker.run(case, timeout)
                        if kind == "ok":
                            r = Result.from_dict(payload)
                        else:
                            r = case.failed_with(payload, device)
                            if may_poison_context(payload):
                                worker.close()
                                worker = None
                    except _Lost as lost:
                        worker = None
                        r = case.failed_with(lost.error, device)
                if r.case is None:
                    r = r.with_(case=case.id)
                results.append(r)
                if writer:
                    writer.write(r)
                results.running = None
                progress.advance(task)
    except KeyboardInterrupt:
        results.interrupted = True
        results.not_run = len(todo) - len(results) - (1 if results.running else 0)
    finally:
        if worker is not None:
            if results.interrupted:
                worker.kill()
            else:
                worker.close()
        if writer:
            writer.close()
    return results
