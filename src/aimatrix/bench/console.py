"""Console tables of Results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..results.result import Result

if TYPE_CHECKING:
    from ..results.compare import Comparison


def _fmt(x: float | None, spec: str) -> str:
    return "" if x is None else format(x, spec)


def _shape(r: Result) -> str:
    p = r.params
    if r.op == "gemm" and "m" in p:
        t = ("T" if p.get("trans_a") else "N") + ("T" if p.get("trans_b") else "N")
        b = f" x{p['batch']}" if p.get("batch", 1) > 1 else ""
        return f"{p['m']}x{p['n']}x{p['k']} {t}{b}"
    return " ".join(f"{k}={v}" for k, v in p.items() if not isinstance(v, (dict, list)))[:40]


def status_text(r: Result) -> str:
    """ok / noisy (CI target not met) / throttled / the error, as console markup."""
    if r.error:
        return f"[red]{escape(r.error['type'] + ': ' + str(r.error.get('message', ''))[:100])}[/red]"
    colour = {"throttled": "yellow", "noisy": "yellow", "wrong": "red"}
    return " ".join(f"[{colour[w]}]{w}[/{colour[w]}]" for w in r.warnings) or "ok"


def results_table(results: Sequence[Result], title: str = "aimatrix") -> Table:
    power = any(r.metrics.get("avg_power_w") for r in results)
    t = Table(title=title)
    cols = [("op", "left"), ("shape", "left"), ("dtype", "left"), ("backend", "left"), ("median ms", "right"),
            ("±CI", "right"), ("TFLOP/s", "right"), ("GB/s", "right"), ("% peak", "right")]
    if power:
        cols += [("W", "right"), ("TFLOP/s/W", "right")]
    cols += [("rel err", "right"), ("status", "left")]
    for col, just in cols:
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in results:
        if r.error:
            t.add_row(r.op, _shape(r), r.dtype, r.backend, *([""] * (len(cols) - 5)), status_text(r))
            continue
        ci = r.stats.get("rel_ci")
        row = [r.op, _shape(r), r.dtype, r.backend, _fmt(r.median_ms, ".4g"),
               f"{100 * ci:.2f}%" if ci is not None else "", _fmt(r.tflops, ".4g"), _fmt(r.gbps, ".0f"),
               _fmt(r.pct_of_peak, ".1f")]
        if power:
            row += [_fmt(r.metrics.get("avg_power_w"), ".0f"), _fmt(r.metrics.get("tflops_per_watt"), ".3g")]
        row += [_fmt(r.rel_error, ".1e"), status_text(r)]
        t.add_row(*row)
    return t


def print_results(results: Sequence[Result], console: Console | None = None, title: str = "aimatrix") -> None:
    (console or Console()).print(results_table(results, title))


_VERDICT_STYLE = {"same": "green", "faster": "bold green", "slower": "bold red", "ambiguous": "yellow",
                  "new failure": "bold red", "fixed": "green", "failed in both": "red", "only in base": "dim",
                  "only in new": "dim"}


def comparison_table(cmp: "Comparison") -> Table:
    """Case by case: base and new medians, the change with its noise, the headline rates, the verdict."""
    from ..results.compare import rate

    base_t, new_t = "base", "new"
    t = Table(title=f"{cmp.base_name} → {cmp.new_name} (threshold {cmp.threshold:.1%})")
    for col, just in (("case", "left"), (f"{base_t} ms", "right"), (f"{new_t} ms", "right"), ("time Δ", "right"),
                      ("±noise", "right"), (f"{base_t} rate", "right"), (f"{new_t} rate", "right"),
                      ("speed-up", "right"), ("verdict", "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for row in cmp.rows:
        def rate_txt(r):
            if r is None or r.error:
                return "" if r is None else "[red]failed[/red]"
            x = rate(r)
            return "" if x is None else f"{x[1]:.4g} {x[0]}"

        med = lambda r: _fmt(r.median_ms, ".4g") if r is not None and r.ok else ""  # noqa: E731
        change = f"{100 * row.change:+.2f}%" if row.change is not None else ""
        noise = f"{100 * row.noise:.2f}%" if row.noise is not None and row.noise != float("inf") else (
            "∞" if row.noise is not None else "")
        speed = f"{1 / row.ratio:.3f}×" if row.ratio else ""
        style = _VERDICT_STYLE.get(row.verdict, "")
        verdict = f"[{style}]{row.verdict}[/{style}]" if style else row.verdict
        if row.throttled:
            verdict += " [yellow](throttled)[/yellow]"
        t.add_row(escape(row.label), med(row.base), med(row.new), change, noise, rate_txt(row.base), rate_txt(row.new),
                  speed, verdict)
    return t


def write_comparison_csv(path: str, cmp: "Comparison") -> None:
    import csv

    try:
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["case", "base_median_ms", "new_median_ms", "ratio", "change", "noise", "verdict", "throttled"])
            for row in cmp.rows:
                w.writerow([row.label, row.base.median_ms if row.base else "", row.new.median_ms if row.new else "",
                            row.ratio if row.ratio is not None else "", row.change if row.change is not None else "",
                            row.noise if row.noise is not None else "", row.verdict, row.throttled])
    except OSError as e:
        raise ValueError(f"cannot write CSV to {path!r}: {e.strerror}") from e
