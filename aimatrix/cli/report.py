"""``aimatrix report RUN.jsonl ...``: one self-contained HTML file of one or more runs."""

from __future__ import annotations

import argparse

from ..suite.outfile import check_writable
from .common import Command, console
from .results_files import load_runs


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", help="results files (JSON Lines); with several, the first is the base")
    p.add_argument("-o", "--output", default="report.html", help="HTML file to write (default report.html)")
    p.add_argument("--title", default=None, help="the report's title")
    p.add_argument(
        "--png",
        default=None,
        metavar="DIR",
        help="also write each chart as a PNG into DIR (needs chromium; see docs/results-schema.md)",
    )
    p.add_argument("--threshold", default="3%", help="the comparison's threshold (default 3%%)")


def run(args: argparse.Namespace) -> int:
    from ..results.compare import parse_threshold
    from ..results.report import export_pngs, write_report

    con = console()
    threshold = parse_threshold(args.threshold)
    check_writable(args.output, "-o")
    runs = load_runs(args.runs)
    report = write_report(
        args.output,
        [(lo.path, lo.results) for lo in runs],
        title=args.title,
        threshold=threshold,
        problems=[p for lo in runs for p in lo.problems],
    )
    con.print(f"report: {report.path} ({len(report.charts)} charts)")
    if args.png:
        for png in export_pngs(report.charts, args.png):
            con.print(f"chart: {png}")
    return 0


COMMAND = Command(
    "report",
    "a self-contained HTML report (charts, environment, comparison) of one or more runs",
    """examples:
  aimatrix report run.jsonl -o report.html
  aimatrix report base.jsonl new.jsonl -o cmp.html --png charts/""",
    (),
    add_options,
    run,
)
