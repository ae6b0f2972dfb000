"""``aimatrix export RUN.jsonl -o run.csv``: results as CSV."""

from __future__ import annotations

import argparse

from ..results.export import write_csv
from ..suite.outfile import check_writable
from .common import Command, console
from .results_files import load_runs


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", help="results files (JSON Lines)")
    p.add_argument("-o", "--output", required=True, help="CSV file to write")


def run(args: argparse.Namespace) -> int:
    con = console()
    check_writable(args.output, "-o")
    runs = load_runs(args.runs)
    n = write_csv(args.output, [r for lo in runs for r in lo.results])
    con.print(f"{n} results -> {args.output}")
    return 0


COMMAND = Command("export", "results as CSV", "examples:\n  aimatrix export run.jsonl -o run.csv", (), add_options, run)
