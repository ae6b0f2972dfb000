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
- ``run`` (a run's provenance, ``aimatrix.suite.provenance.new_run``) is stamped on every Result.
- Progress shows the tier, the case running, and the time left (from each case's ``est_s``).
- Ctrl-C stops the run: what finished is already written; the Results are returned
  with ``interrupted`` set, and the case that was running is named.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import signal
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..results.jsonl import JsonlWriter, drop_partial_last_line, load_results
from ..results.result import Result, error_record
from .case import Case
from .cpuload import OtherLoad

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


def call(case: Case) -> Result:
    """Run one case; on the CPU, with the share of the CPUs other processes used meanwhile in its telemetry."""
    if str(case.kwargs.get("device", "")) != "cpu":
        return case.fn(*case.args, **case.kwargs)
    with OtherLoad() as load:
        r = case.fn(*case.args, **case.kwargs)
    if load.share is None or not isinstance(r, Result):
        return r
    return r.with_(telemetry={**r.telemetry, "cpu_busy_other": round(load.share, 4)})


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
            conn.send(("ok", call(case).to_dict()))
        except Exception as exc:
            conn.send(("error", error_record(exc)))


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
                raise _Lost(
                    {"type": "Timeout", "message": f"did not {what} within {timeout:g} s; its process was ended"}
                )
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
                raise _Lost(
                    {"type": "ProcessCrashed", "message": f"the case's process died ({name}) before it finished"}
                )

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
        return call(case)
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
    return {
        r.case: r for r in loaded.results if r.case is not None and r.device == device and (r.ok or not retry_failed)
    }


class _Runner:
    """Runs cases one by one, here or in a child process (see the module doc); one per run."""

    def __init__(self, device: str, isolate: bool, timeout: float | None, notes: list[str], say) -> None:
        self.device, self.isolate, self.timeout, self.notes, self.say = device, isolate, timeout, notes, say
        self.worker: _Worker | None = None

    def run(self, case: Case) -> Result:
        if not self.isolate:
            r = _run_here(case, self.device)
            if r.error and may_poison_context(r.error) and self.device.startswith("cuda"):
                self.isolate = True
                note = (
                    f"{case.label} failed with {r.error['type']}, which may have ended this process's CUDA "
                    "context: the remaining cases run each in a child process"
                )
                self.notes.append(note)
                self.say(f"[yellow]warning:[/yellow] {escape(note)}")
            return r
        try:
            if self.worker is None:
                self.worker = _Worker()
            kind, payload = self.worker.run(case, self.timeout)
            if kind == "ok":
                return Result.from_dict(payload)
            if may_poison_context(payload):
                self.worker.close()
                self.worker = None
            return case.failed_with(payload, self.device)
        except _Lost as lost:
            self.worker = None
            return case.failed_with(lost.error, self.device)

    def close(self, interrupted: bool) -> None:
        if self.worker is not None:
            self.worker.kill() if interrupted else self.worker.close()
            self.worker = None


def iter_results(
    cases: Sequence[Case],
    *,
    device: str,
    isolate: bool = False,
    timeout: float | None = None,
    run: dict | None = None,
    notes: list[str] | None = None,
    say=lambda text: None,
) -> Iterator[Result]:
    """Yield each case's Result as it finishes (failures recorded, not raised): the one loop of every suite.

    The Python sweeps (``run_macro``, ``run_layers``, ``membw.sweep``) and ``run_cases`` all go through it.
    """
    if timeout is not None:
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout={timeout!r} is not allowed: it must be a positive number of seconds")
        isolate = True
    runner = _Runner(device, isolate, timeout, notes if notes is not None else [], say)
    interrupted = False
    try:
        for case in cases:
            t0 = time.monotonic()
            r = runner.run(case)
            # The whole case (set-up, verification, warm-up, samples): what a suite's time budget is made of.
            r = r.with_(metrics={**r.metrics, "case_wall_s": round(time.monotonic() - t0, 3)})
            if r.case is None:
                r = r.with_(case=case.id)
            if run is not None:
                r = r.with_(run=run)
            yield r
    except (KeyboardInterrupt, GeneratorExit):
        interrupted = True
        raise
    finally:
        runner.close(interrupted)


def run_cases(
    cases: Sequence[Case],
    *,
    device: str,
    out: str | None = None,
    console: Console | None = None,
    resume: bool = False,
    isolate: bool = False,
    timeout: float | None = None,
    retry_failed: bool = False,
    run: dict | None = None,
) -> RunResults:
    """Run every case in order and write each Result as it finishes; see the module doc for the options.

    ``out`` is appended to: check it first with ``aimatrix.suite.outfile.prepare``.
    """
    console = console or Console(stderr=True, soft_wrap=True)
    results = RunResults()
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
    left = sum(c.est_s for c in todo)
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[n]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(compact=True),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("starting", total=max(left, 1e-9), n="")
            say = progress.console.print
            it = iter_results(
                todo, device=device, isolate=isolate, timeout=timeout, run=run, notes=results.notes, say=say
            )
            for i, case in enumerate(todo):
                results.running = case.label
                progress.update(
                    task, description=f"[bold]{case.tier}[/bold] {escape(case.label)}", n=f"{i + 1}/{len(todo)}"
                )
                r = next(it)
                results.append(r)
                if writer:
                    writer.write(r)
                results.running = None
                progress.advance(task, case.est_s)
    except KeyboardInterrupt:
        results.interrupted = True
        results.not_run = len(todo) - len(results) - (1 if results.running else 0)
    finally:
        if writer:
            writer.close()
    return results
