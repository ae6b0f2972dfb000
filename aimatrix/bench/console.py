"""Console tables of Results."""

from __future__ import annotations

from typing import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..results.result import Result


def _fmt(x: float | None, spec: str) -> str:
    return "" if x is None else format(x, spec)


def _shape(r: Result) -> str:
    p = r.params
    if r.op == "gemm" and "m" in p:
        t = ("T" if p.get("trans_a") else "N") + ("T" if p.get("trans_b") else "N")
        b = f" x{p['batch']}" if p.get("batch", 1) > 1 else ""
        return f"{p['m']}x{p['n']}x{p['k']} {t}{b}"
    return " ".join(f"{k}={v}" for k, v in p.items() if not isinstance(v, (dict, list)))[:40]


def results_table(results: Sequence[Result], title: str = "aimatrix") -> Table:
    t = Table(title=title)
    for col, just in (("op", "left"), ("shape", "left"), ("dtype", "left"), ("backend", "left"), ("median ms", "right"),
                      ("±CI", "right"), ("TFLOP/s", "right"), ("GB/s", "right"), ("% peak", "right"),
                      ("rel err", "right"), ("status", "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in results:
        if r.error:
            t.add_row(r.op, _shape(r), r.dtype, r.backend, "", "", "", "", "", "",
                      f"[red]{escape(r.error['type'] + ': ' + r.error['message'][:100])}[/red]")
            continue
        ci = r.stats.get("rel_ci")
        status = "ok" if r.stats.get("converged") else "[yellow]noisy[/yellow]"
        t.add_row(r.op, _shape(r), r.dtype, r.backend, _fmt(r.median_ms, ".4g"),
                  f"{100 * ci:.2f}%" if ci is not None else "", _fmt(r.tflops, ".4g"), _fmt(r.gbps, ".0f"),
                  _fmt(r.pct_of_peak, ".1f"), _fmt(r.rel_error, ".1e"), status)
    return t


def print_results(results: Sequence[Result], console: Console | None = None, title: str = "aimatrix") -> None:
    (console or Console()).print(results_table(results, title))
