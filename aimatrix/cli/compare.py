"""``aimatrix compare BASE NEW``: case by case, with noise-aware verdicts; exit 1 on a regression."""

from __future__ import annotations

import argparse

from rich.markup import escape

from ..suite.outfile import check_writable
from .common import Command, console
from .results_files import load_runs


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("base", help="results of the base run (JSON Lines)")
    p.add_argument("new", help="results of the new run (JSON Lines)")
    p.add_argument("--threshold", default="3%", help="smallest change that counts as a regression (default 3%%)")
    p.add_argument(
        "--gate", action="store_true", help="exit 1 on a regression even when the runs are on different devices"
    )


def run(args: argparse.Namespace) -> int:
    from ..results.compare import compare, parse_threshold
    from .console import comparison_table, write_comparison_csv

    con = console()
    threshold = parse_threshold(args.threshold)
    if args.csv:
        check_writable(args.csv, "--csv")
    base, new = load_runs([args.base, args.new])
    cmp = compare(base.results, new.results, threshold=threshold, base_name=args.base, new_name=args.new)
    # Device names and file names come from outside: escaped, never read as markup.
    base_dev, new_dev, base_f, new_f = map(escape, (cmp.base_device, cmp.new_device, args.base, args.new))
    if not cmp.matched:
        con.print(
            f"[red]no case in common[/red] between {base_f} ({len(base.results)} results, {base_dev}) and "
            f"{new_f} ({len(new.results)} results, {new_dev}): nothing to compare"
        )
        return 2
    if cmp.devices_differ:
        con.print(f"base: {base_dev} ({base_f}); new: {new_dev} ({new_f})")
    con.print(comparison_table(cmp))
    if args.csv:
        write_comparison_csv(args.csv, cmp)
    summary = ", ".join(f"{n} {v}" for v, n in cmp.counts().most_common())
    gate = args.gate or not cmp.devices_differ
    if cmp.devices_differ:
        con.print(
            f"devices differ ({base_dev} vs {new_dev}): side-by-side comparison"
            + ("" if args.gate else ", not a regression gate (--gate makes it one)")
        )
    regressions = cmp.regressions
    if regressions and gate:
        con.print(
            f"{summary}. [red]{len(regressions)} regression(s)[/red] beyond {threshold:.1%}: "
            + escape("; ".join(r.label + f" ({r.verdict})" for r in regressions[:10]))
        )
        return 1
    if gate:
        con.print(f"{summary}. No significant regression beyond {threshold:.1%}.")
    else:
        con.print(f"{summary} ({new_dev} against {base_dev}, threshold {threshold:.1%}).")
    return 0


COMMAND = Command(
    "compare",
    "compare two runs case by case; exit 1 on a significant regression",
    """examples:
  aimatrix compare base.jsonl new.jsonl --threshold 2%
  aimatrix compare h100.jsonl h200.jsonl --csv side-by-side.csv""",
    ("csv",),
    add_options,
    run,
)
