"""Console tables of Results."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..results.compare import shape_label
from ..results.result import Result

if TYPE_CHECKING:
    from ..results.compare import Comparison


def _fmt(x: float | None, spec: str) -> str:
    return "" if x is None else format(x, spec)


_STATUS_COLOUR = {"throttled": "yellow", "noisy": "yellow", "wrong": "red", "busy CPU": "yellow"}


def status_text(r: Result) -> str:
    """ok / noisy (CI target not met) / throttled / busy CPU / the error, as console markup."""
    if r.error:
        return f"[red]{escape(r.error['type'] + ': ' + str(r.error.get('message', ''))[:100])}[/red]"
    return " ".join(f"[{_STATUS_COLOUR.get(w, 'yellow')}]{escape(w)}[/]" for w in r.warnings) or "ok"


def _ci(r: Result) -> str:
    ci = r.stats.get("rel_ci")
    return f"{100 * ci:.2f}%" if isinstance(ci, (int, float)) and math.isfinite(ci) else ""


def _flops(r: Result, giga: bool) -> str:
    t = r.tflops
    return "" if t is None else format(t * 1e3, ".4g") if giga else format(t, ".4g")


#: (heading, cell) of the optional columns; a column is shown when some row has a value in it.
def _columns(giga: bool) -> list[tuple[str, Callable[[Result], str]]]:
    return [
        ("GFLOP/s" if giga else "TFLOP/s", lambda r: _flops(r, giga)),
        ("GB/s", lambda r: _fmt(r.gbps, ".4g")),
        ("items/s", lambda r: _fmt(r.items_per_s, ",.5g")),
        ("% peak", lambda r: _fmt(r.pct_of_peak, ".1f")),
        ("W", lambda r: _fmt(r.metrics.get("avg_power_w"), ".0f")),
        ("TFLOP/s/W", lambda r: _fmt(r.metrics.get("tflops_per_watt"), ".3g")),
        ("rel err", lambda r: _fmt(r.rel_error, ".1e")),
    ]


def results_table(results: Sequence[Result], title: str = "aimatrix") -> Table:
    """One row per Result: what ran, its median and CI, the rates it has (on a CPU in GFLOP/s), its status."""
    done = [r for r in results if not r.error]
    giga = bool(done) and all(r.device == "cpu" for r in done)
    optional = [(h, cell) for h, cell in _columns(giga) if any(cell(r) for r in done)]
    t = Table(title=escape(title))
    for col, just in [
        ("op", "left"),
        ("shape", "left"),
        ("dtype", "left"),
        ("backend", "left"),
        ("median ms", "right"),
        ("±CI", "right"),
        *((h, "right") for h, _ in optional),
        ("status", "left"),
    ]:
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in results:
        head = [escape(str(x)) for x in (r.op, shape_label(r), r.dtype, r.backend)]
        if r.error:
            t.add_row(*head, *([""] * (2 + len(optional))), status_text(r))
        else:
            t.add_row(*head, _fmt(r.median_ms, ".4g"), _ci(r), *(cell(r) for _, cell in optional), status_text(r))
    return t


def print_results(results: Sequence[Result], console: Console | None = None, title: str = "aimatrix") -> None:
    (console or Console()).print(results_table(results, title))


_VERDICT_STYLE = {
    "same": "green",
    "faster": "bold green",
    "slower": "bold red",
    "ambiguous": "yellow",
    "new failure": "bold red",
    "fixed": "green",
    "failed in both": "red",
    "only in base": "dim",
    "only in new": "dim",
}


def comparison_table(cmp: "Comparison") -> Table:
    """Case by case: base and new medians, the change with its noise, the headline rates, the verdict."""
    from ..results.compare import rate

    base_t, new_t = "base", "new"
    t = Table(title=f"{cmp.base_name} → {cmp.new_name} (threshold {cmp.threshold:.1%})")
    for col, just in (
        ("case", "left"),
        (f"{base_t} ms", "right"),
        (f"{new_t} ms", "right"),
        ("time Δ", "right"),
        ("±noise", "right"),
        (f"{base_t} rate", "right"),
        (f"{new_t} rate", "right"),
        ("speed-up", "right"),
        ("verdict", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for row in cmp.rows:

        def rate_txt(r):
            if r is None or r.error:
                return "" if r is None else "[red]failed[/red]"
            x = rate(r)
            return "" if x is None else f"{x[1]:.4g} {x[0]}"

        med = lambda r: _fmt(r.median_ms, ".4g") if r is not None and r.ok else ""  # noqa: E731
        change = f"{100 * row.change:+.2f}%" if row.change is not None else ""
        noise = (
            f"{100 * row.noise:.2f}%"
            if row.noise is not None and row.noise != float("inf")
            else ("∞" if row.noise is not None else "")
        )
        speed = f"{1 / row.ratio:.3f}×" if row.ratio else ""
        style = _VERDICT_STYLE.get(row.verdict, "")
        verdict = f"[{style}]{row.verdict}[/{style}]" if style else row.verdict
        if row.throttled:
            verdict += " [yellow](throttled)[/yellow]"
        t.add_row(
            escape(row.label),
            med(row.base),
            med(row.new),
            change,
            noise,
            rate_txt(row.base),
            rate_txt(row.new),
            speed,
            verdict,
        )
    return t


def write_comparison_csv(path: str, cmp: "Comparison") -> None:
    import csv

    try:
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["case", "base_median_ms", "new_median_ms", "ratio", "change", "noise", "verdict", "throttled"])
            for row in cmp.rows:
                w.writerow(
                    [
                        row.label,
                        row.base.median_ms if row.base else "",
                        row.new.median_ms if row.new else "",
                        row.ratio if row.ratio is not None else "",
                        row.change if row.change is not None else "",
                        row.noise if row.noise is not None else "",
                        row.verdict,
                        row.throttled,
                    ]
                )
    except OSError as e:
        raise ValueError(f"cannot write CSV to {path!r}: {e.strerror}") from e
