"""``python -m aimatrix.bench`` (or ``aimatrix suite``): every tier on one device, and a report card.

micro, layers, macro and synthetic cases (``aimatrix.suite.default``) run through the one
suite runner into a JSON Lines file; then the score against the shipped reference device is
printed and an HTML report, the card at its top, is written next to the results.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.markup import escape

from .. import _native
from ..device import resolve
from ..results.result import CPU_BUSY
from ..results.scorecard_view import format_scorecard
from ..suite import default, outfile, score
from ..suite.case import TIERS, tier_of
from ..suite.cpuload import other_load
from ..suite.micro import device_dtypes
from .common import Command, console, default_out, device_title, run_suite, timing_of
from .console import print_results
from .options import SUITE, csv_list


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tiers",
        type=csv_list(TIERS),
        default=list(TIERS),
        metavar="LIST",
        help=f"comma list of {', '.join(TIERS)} (default: all)",
    )
    p.add_argument(
        "--html",
        default=None,
        metavar="FILE",
        help="the HTML report, score card on top (default: --out's name with .html)",
    )
    p.add_argument(
        "--reference",
        default=None,
        metavar="FILE.jsonl|none",
        help="score against this run instead of the reference shipped with aimatrix (none: no score)",
    )


def _header(con, dev) -> None:
    con.print(f"[bold]aimatrix[/bold] suite on {escape(device_title(dev))}")
    if not _native.cuda_available():
        con.print(f"[yellow]no CUDA[/yellow]: {escape(str(_native.cuda_unavailable_reason()))}")
    if dev.is_cuda:
        con.print(f"dtypes: {', '.join(device_dtypes(dev))}")
        return
    busy = other_load()
    if busy is not None and busy > CPU_BUSY:
        con.print(
            f"[yellow]warning:[/yellow] other processes are using {100 * busy:.0f}% of the CPUs: CPU timings "
            "will be wrong (each case's share is in its telemetry.cpu_busy_other)"
        )


def _reference(args: argparse.Namespace, results) -> tuple[str, list] | None:
    if args.reference == "none":
        return None
    if args.reference:
        from .results_files import load_runs

        (loaded,) = load_runs([args.reference])
        return Path(args.reference).stem, loaded.results
    return score.pick_reference(results)


def run(args: argparse.Namespace) -> int:
    from ..results.report import write_report

    t0 = time.monotonic()
    con = console()
    dev = resolve(args.device)
    args.out = args.out or default_out(str(dev))
    html = args.html or str(Path(args.out).with_suffix(".html"))
    outfile.check_writable(html, "--html")
    _header(con, dev)
    cases = default.cases(dev, timing_of(args), tuple(args.tiers))
    est = sum(c.est_s for c in cases)
    con.print(
        f"{len(cases)} cases in {', '.join(t for t in TIERS if t in args.tiers)}, about "
        f"{f'{est / 60:.0f} min' if est >= 120 else f'{est:.0f} s'}{' (--quick)' if args.quick else ''}"
    )
    outcome = run_suite(args, cases, device=str(dev), title="suite", con=con, table=False)
    for tier in TIERS:
        rows = [r for r in outcome.shown if tier_of(r.op, r.params) == tier]
        if rows:
            wall = sum(r.metrics.get("case_wall_s") or 0 for r in rows)
            print_results(rows, con, title=f"{tier} on {device_title(dev)} ({wall:.0f} s)")
    ref = _reference(args, outcome.shown)
    card = score.scorecard(outcome.shown, ref[1], name=ref[0]) if ref else None
    if card:
        con.print(format_scorecard(card), markup=False, highlight=False)
    elif args.reference != "none":
        con.print("no score: no reference run shares a case with this one")
    report = write_report(
        html, [(outcome.out, outcome.shown)], title=f"aimatrix suite on {device_title(dev)}", scorecard=card
    )
    con.print(
        f"results: {escape(outcome.out)}\nreport:  {escape(str(report.path))}\n"
        f"finished in {time.monotonic() - t0:.0f} s"
    )
    return outcome.code


COMMAND = Command(
    "suite",
    "every tier — micro, layers, macro, synthetic — and a score against a reference device (the default)",
    """examples:
  python -m aimatrix.bench                       # the whole suite on the first GPU (else the CPU)
  python -m aimatrix.bench --quick               # the same cases, a short time budget each
  python -m aimatrix.bench --tiers micro,macro --out run.jsonl
  python -m aimatrix.bench --device cpu --quick --reference none""",
    SUITE,
    add_options,
    run,
)
