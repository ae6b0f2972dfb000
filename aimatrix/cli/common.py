"""What every suite subcommand shares: the console, the timing options, and running the cases."""

from __future__ import annotations

import argparse
import datetime as _dt
from dataclasses import dataclass, field
from typing import Callable, Sequence

from rich.console import Console
from rich.markup import escape

from .. import timing
from ..results.export import write_csv
from ..results.result import Result
from ..suite import outfile, provenance
from ..suite.case import Case
from ..suite.runner import RunResults, run_cases
from .console import print_results


def console() -> Console:
    """Wide enough for the results table when writing to a file or pipe."""
    c = Console(soft_wrap=True)
    return c if c.is_terminal else Console(width=160, soft_wrap=True)


def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True)


def timing_of(args: argparse.Namespace) -> dict:
    """The stopping rule of every case: --max-time, --target, and --quick's short budget (``timing.QUICK``,
    one meaning for every subcommand)."""
    return timing.rule(
        max_time=args.max_time,
        target=args.target,
        timer=args.timer,
        pause=args.pause,
        keep_samples=args.keep_samples or None,
        discard_throttled=args.discard_throttled or None,
        preset=timing.QUICK if args.quick else None,
    )


def device_title(dev) -> str:
    """``cuda:0 (NVIDIA H100 80GB HBM3)`` or ``CPU (AMD EPYC ..., 2 threads)``."""
    from ..system.env import device_info, host_environment

    if not dev.is_cuda:
        env = host_environment()
        return f"CPU ({env['cpu']}, {env['cpu_threads']} threads)"
    return f"{dev} ({device_info(dev)['name']})"


def default_out(device: str, suffix: str = ".jsonl") -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"aimatrix-{device.replace(':', '')}-{stamp}{suffix}"


@dataclass(frozen=True)
class Command:
    """One subcommand: its help, examples, the shared options it takes, its own options and what it runs."""

    name: str
    help: str
    examples: str
    shared: tuple[str, ...]
    add_options: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


@dataclass
class Outcome:
    """A suite run's results and where they went."""

    results: RunResults
    out: str
    run: dict
    shown: list[Result] = field(default_factory=list)
    code: int = 0


def run_suite(
    args: argparse.Namespace,
    cases: Sequence[Case],
    *,
    device: str,
    title: str,
    con: Console | None = None,
    table: bool = True,
) -> Outcome:
    """Run ``cases`` with the suite options in ``args``: check --out first, stamp the run, print, summarise.

    The exit code (``Outcome.code``): 0 every case passed; 1 some case failed; 130 interrupted
    (what finished is in the file).
    """
    con = con or console()
    out = args.out or default_out(device)
    if args.retry_failed and not args.resume:
        raise ValueError("--retry-failed goes with --resume")
    if args.resume and not args.out:
        raise ValueError("--resume needs --out FILE: the results file of the run to go on with")
    for note in outfile.prepare(out, resume=args.resume, append=args.append):
        con.print(f"[yellow]note:[/yellow] {escape(note)}")
    if args.csv:
        outfile.check_writable(args.csv, "--csv")
    run = provenance.new_run(getattr(args, "argv", None))
    con.print(f"[bold]aimatrix[/bold] {escape(title)}: {len(cases)} cases -> {escape(out)} (run {run['run_id']})")
    results = run_cases(
        cases,
        device=device,
        out=out,
        resume=args.resume,
        isolate=args.isolate,
        timeout=args.timeout,
        retry_failed=args.retry_failed,
        run=run,
    )
    if results.skipped:
        con.print(f"--resume: {len(results.skipped)} case(s) already in {escape(out)}, not run again")
    shown = [*results.skipped, *results]
    if shown and table:
        print_results(shown, con, title=title)
    if args.csv:
        write_csv(args.csv, shown)
        con.print(f"CSV: {escape(args.csv)}")
    failed = len(results.failed)
    ok = len(shown) - failed
    throttled = sum(1 for r in shown if r.throttled)
    loaded = sum(1 for r in shown if "busy CPU" in r.warnings)
    tail = f"; {throttled} measured while the GPU throttled" if throttled else ""
    tail += f"; {loaded} measured while other processes kept the CPU busy" if loaded else ""
    if results.interrupted:
        running = f" while running {results.running}" if results.running else ""
        con.print(
            f"[yellow]interrupted{escape(running)}[/yellow]: {ok} passed, {failed} failed, "
            f"{results.not_run + (1 if results.running else 0)} not run{tail}; "
            f"every finished case is in {escape(out)} (go on with --resume --out {escape(out)})"
        )
        return Outcome(results, out, run, shown, 130)
    con.print(f"{ok} passed, {failed} failed{tail}; results in {escape(out)}")
    return Outcome(results, out, run, shown, 1 if failed else 0)
