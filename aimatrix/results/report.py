"""The HTML report: one self-contained file (inline CSS and SVG, no network) for one or more runs.

First, when the suite gives one, its score card against a reference run
(``scorecard_view``). Then sections, each present only when the runs hold such results: device,
environment and the runs' provenance; roofline (GEMM/conv: achieved TFLOP/s over arithmetic intensity,
with the device's compute ceilings per dtype and its memory-bandwidth ceiling);
GEMM efficiency over shapes; memory bandwidth over size (op ``membw``); model
throughput over batch and latency percentiles (op ``model``); the synthetic
group table (op ``synth``); telemetry; failures; every result; and, for several
runs, the comparison of each with the first.

``export_pngs`` writes each chart as a PNG with a headless Chromium (found as
``chromium``, ``chromium-browser``, ``google-chrome`` or ``$AIMATRIX_CHROMIUM``).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import shutil
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..system import peaks
from .compare import case_label, compare, device_name, rate, rel_halfwidth
from .result import Result
from .scorecard_view import CSS as SCORECARD_CSS
from .scorecard_view import scorecard_html
from .svg import PALETTE, Chart, Series, bar_chart, esc, xy_chart

Run = tuple[str, Sequence[Result]]  # (name, results)
VERDICT_COLORS = {"same": "#7f9fbf", "faster": "#2ca02c", "slower": "#d62728", "ambiguous": "#ff9f1c"}

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#222;
 padding:0 16px;line-height:1.4}
h1{font-size:24px;margin-bottom:4px} h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:16px;margin-top:22px} .muted{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:12.5px;margin:8px 0 16px} th,td{padding:3px 8px;border-bottom:1px solid #eee;
 text-align:left;vertical-align:top} th{background:#f6f6f6;position:sticky;top:0} td.num{text-align:right;
 font-variant-numeric:tabular-nums}
figure.chart{margin:12px 0 20px;display:inline-block;border:1px solid #eee;border-radius:4px}
figure.chart figcaption{font-size:12px;color:#555;padding:4px 8px;max-width:740px}
.bad{color:#b00020;font-weight:600} .warn{color:#a36200} .good{color:#16794a} .env td:first-child{color:#555}
.kv{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:0 24px}
details{margin:8px 0} summary{cursor:pointer;font-weight:600}
"""

# Checks in the browser that every chart has drawn something; tests read the result from the DOM.
SCRIPT = """
(function(){
  var figs = document.querySelectorAll('figure.chart svg');
  var ok = 0;
  figs.forEach(function(svg){
    var b = svg.getBBox();
    var marks = svg.querySelectorAll('circle,rect,path,line').length;
    if (b.width > 0 && b.height > 0 && marks > 1) { ok++; svg.parentNode.setAttribute('data-rendered', '1'); }
  });
  document.body.setAttribute('data-charts', String(figs.length));
  document.body.setAttribute('data-charts-rendered', String(ok));
})();
"""


@dataclass
class Report:
    path: Path
    charts: list[Chart] = field(default_factory=list)


def _num(v, spec: str = ".4g") -> str:
    """A number formatted; "" for anything else (None, inf, a value of the wrong type)."""
    try:
        ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
    except OverflowError:  # an integer beyond the float range
        ok = False
    return format(v, spec) if ok else ""


class Html(str):
    """Text that is already HTML (built here, with every string from a record escaped): ``_table`` keeps it."""


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int] | None = None) -> str:
    """An HTML table; every cell is escaped except ``Html`` ones, so record text can never become markup."""
    numeric = numeric or set()
    out = ["<table><thead><tr>", *(f"<th>{esc(h)}</th>" for h in headers), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>")
        for i, cell in enumerate(row):
            cls = ' class="num"' if i in numeric else ""
            out.append(f"<td{cls}>{cell if isinstance(cell, Html) else esc('' if cell is None else cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _figure(chart: Chart, caption: str = "") -> str:
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return (
        f'<figure class="chart" id="chart-{esc(chart.name)}" data-chart="{esc(chart.name)}">{chart.svg}{cap}</figure>'
    )


def _gpu(results: Sequence[Result]) -> dict:
    for r in results:
        if r.env.get("gpu"):
            return r.env["gpu"]
    return {}


def _env(results: Sequence[Result]) -> dict:
    for r in results:
        if r.env:
            return r.env
    return {}


def _status(r: Result) -> Html:
    if r.error:
        return Html(
            f'<span class="bad">{esc(r.error.get("type", "error"))}: '
            f"{esc(str(r.error.get('message', ''))[:200])}</span>"
        )
    words = {"wrong": ("bad", "wrong result")}  # every other warning is a doubt, shown as itself
    spans = [
        f'<span class="{words.get(w, ("warn", w))[0]}">{esc(words.get(w, ("warn", w))[1])}</span>' for w in r.warnings
    ]
    return Html(" ".join(spans) or '<span class="good">ok</span>')


# -- sections -------------------------------------------------------------------------
def _environment_section(name: str, results: Sequence[Result]) -> str:
    env, gpu = _env(results), _gpu(results)
    rows: list[tuple[str, object]] = [("results file", name), ("device", device_name(results))]
    if gpu:
        cc = f"sm_{gpu.get('cc_major')}{gpu.get('cc_minor')}"
        rows += [
            (
                "GPU",
                f"{gpu.get('name')} ({cc}, {gpu.get('sm_count')} SMs, "
                f"{(gpu.get('total_mem_bytes') or 0) / 2**30:.1f} GiB)",
            ),
            ("GPU UUID / PCI", f"{gpu.get('uuid')} / {gpu.get('pci_bus_id')}"),
            ("driver", f"{gpu.get('nvml_driver_version') or ''} (CUDA driver API {gpu.get('driver_version')})"),
            ("CUDA runtime", gpu.get("cuda_runtime_version")),
            (
                "cuBLAS / cuBLASLt / cuDNN",
                f"{gpu.get('cublas_version')} / {gpu.get('cublaslt_version')} / "
                f"{gpu.get('cudnn_version') or 'not found'}",
            ),
            (
                "power limit, max SM clock",
                f"{_num(gpu.get('power_limit_w'), '.0f')} W, {gpu.get('max_sm_clock_mhz') or ''} MHz",
            ),
        ]
        bw = _peak_bw(gpu)
        pk = ", ".join(
            f"{d} {p:.0f}" for d in ("fp32", "tf32", "fp16", "bf16", "fp8", "int8") if (p := _peak(gpu, d)) is not None
        )
        rows.append(("peaks", f"{pk} TFLOP/s; memory {_num(bw, '.0f')} GB/s"))
    rev = env.get("git_revision")
    rows += [
        ("aimatrix", f"{env.get('aimatrix', '?')}{' (' + rev + ')' if rev else ''}"),
        ("host", f"{env.get('host', '?')}: {env.get('platform', '')}"),
        ("CPU", f"{env.get('cpu', '?')} ({env.get('cpu_count', '?')} logical CPUs)"),
        ("Python / numpy", f"{env.get('python', '?')} / {env.get('numpy', '?')}"),
    ]
    for run in _runs(results):
        cmd = run.get("command")
        rows.append(
            (
                "run",
                f"{run.get('run_id') or '?'} started {run.get('started_utc') or '?'} on {run.get('host') or '?'}"
                f": {' '.join(map(str, cmd)) if isinstance(cmd, list) else cmd or '?'}",
            )
        )
    fw = env.get("frameworks") or {}
    if fw:
        rows.append(("frameworks", ", ".join(f"{k} {v}" for k, v in fw.items() if v) or "none installed"))
    n_fail = sum(1 for r in results if r.error)
    n_thr = sum(1 for r in results if r.throttled)
    ops = sorted({r.op for r in results})
    rows.append(
        (
            "cases",
            f"{len(results)} ({', '.join(ops)}): {len(results) - n_fail} passed, {n_fail} failed"
            + (f", {n_thr} measured while throttled" if n_thr else ""),
        )
    )
    return '<table class="env">' + "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows) + "</table>"


def _runs(results: Sequence[Result]) -> list[dict]:
    """The distinct runs (``Result.run``) the results came from, in order."""
    seen: dict[str, dict] = {}
    for r in results:
        if r.run:
            seen.setdefault(str(r.run.get("run_id")), r.run)
    return list(seen.values())


def _peak(gpu: dict, dtype: str) -> float | None:
    try:
        return peaks.peak_tflops((gpu["cc_major"], gpu["cc_minor"]), gpu["sm_count"], gpu["clock_khz"], dtype)
    except (KeyError, TypeError):
        return None


def _peak_bw(gpu: dict) -> float | None:
    try:
        return peaks.peak_gbps(gpu["mem_clock_khz"], gpu["bus_width_bits"])
    except (KeyError, TypeError):
        return None


def _tip(r: Result) -> str:
    x = rate(r)
    parts = [case_label(r), f"median {r.median_ms:.4g} ms" if r.median_ms else ""]
    if x:
        parts.append(f"{x[1]:.4g} {x[0]}")
    if r.pct_of_peak is not None:
        parts.append(f"{r.pct_of_peak:.1f}% of peak")
    return ", ".join(p for p in parts if p)


def roofline(name: str, results: Sequence[Result], key: str) -> Chart | None:
    pts = [
        r
        for r in results
        if r.ok and r.op in ("gemm", "conv", "layer") and r.metrics.get("flops") and r.metrics.get("bytes") and r.tflops
    ]
    if not pts:
        return None
    gpu = _gpu(results)
    by_dtype: dict[str, list[Result]] = defaultdict(list)
    for r in pts:
        by_dtype[r.dtype].append(r)
    series = []
    ai = [r.metrics["flops"] / r.metrics["bytes"] for r in pts]
    ys = [r.tflops for r in pts]
    order = list(by_dtype)  # first-appearance order: the GEMM efficiency chart's series colours match
    for i, (dtype, rs) in enumerate(by_dtype.items()):
        series.append(
            Series(
                f"{dtype}",
                [(r.metrics["flops"] / r.metrics["bytes"], r.tflops, _tip(r)) for r in rs],
                color=PALETTE[i % len(PALETTE)],
            )
        )
    bw = _peak_bw(gpu) if gpu else None
    ceilings = {
        d: p
        for d in by_dtype
        if (
            p := (_peak(gpu, d) if gpu else None)
            or next((r.metrics.get("peak_tflops") for r in by_dtype[d] if r.metrics.get("peak_tflops")), None)
        )
    }
    x_lo, x_hi = min(ai) / 4, max(ai) * 4
    if bw and ceilings:
        ridge = [p * 1e3 / bw for p in ceilings.values()]
        x_lo, x_hi = min(x_lo, min(ridge) / 4), max(x_hi, max(ridge) * 2)
    y_hi = max(ys + list(ceilings.values())) * 2
    y_lo = min(ys) / 4
    if bw:
        y_lo = min(y_lo, bw * x_lo / 1e3 * 1.5)
    same_peak: dict[float, list[str]] = defaultdict(list)  # fp16 and bf16 share a ceiling: one line, one label
    for d, p in sorted(ceilings.items()):
        same_peak[round(p, 6)].append(d)
    for p, ds in sorted(same_peak.items()):
        color = PALETTE[order.index(ds[0]) % len(PALETTE)]
        ridge = p * 1e3 / bw if bw else x_lo
        series.append(
            Series(
                f"{'/'.join(ds)} peak {p:.0f} TFLOP/s",
                [(ridge, p, ""), (x_hi, p, "")],
                color=color,
                line=True,
                markers=False,
                dash="6 4",
                label_at_end=True,
            )
        )
    if bw:
        top = max(ceilings.values()) if ceilings else y_hi
        series.append(
            Series(
                f"memory {bw:.0f} GB/s",
                [(x_lo, bw * x_lo / 1e3, ""), (top * 1e3 / bw, top, "")],
                color="#444",
                line=True,
                markers=False,
                dash="2 3",
                label_at_end=False,
            )
        )
    title = f"Roofline — {device_name(results)}"
    return xy_chart(
        f"roofline{key}",
        title,
        series,
        x_label="arithmetic intensity (FLOP per byte moved, fewest bytes)",
        y_label="achieved TFLOP/s",
        x_log=True,
        y_log=True,
        x_range=(x_lo, x_hi),
        y_range=(max(y_lo, 1e-6), y_hi),
    )


def gemm_efficiency(name: str, results: Sequence[Result], key: str) -> Chart | None:
    rs = [r for r in results if r.ok and r.op == "gemm" and r.tflops]
    if not rs:
        return None
    use_pct = all(r.pct_of_peak is not None for r in rs)

    def shape(r: Result) -> str:
        p = r.params
        return f"{p.get('m')}x{p.get('n')}x{p.get('k')}" + (f" x{p['batch']}" if (p.get("batch") or 1) > 1 else "")

    def layout(r: Result) -> str:
        return ("T" if r.params.get("trans_a") else "N") + ("T" if r.params.get("trans_b") else "N")

    layouts: dict[str, set] = defaultdict(set)
    for r in rs:
        layouts[f"{r.dtype} {r.backend}"].add(layout(r))

    def sname(r: Result) -> str:
        base = f"{r.dtype} {r.backend}"
        return f"{base} {layout(r)}" if len(layouts[base]) > 1 else base

    shapes = list(dict.fromkeys(shape(r) for r in rs))
    series_names = list(dict.fromkeys(sname(r) for r in rs))
    table = {(shape(r), sname(r)): r for r in rs}
    series, tips = [], []
    for sn in series_names:
        vals, tt = [], []
        for s in shapes:
            r = table.get((s, sn))
            vals.append(None if r is None else (r.pct_of_peak if use_pct else r.tflops))
            tt.append("" if r is None else _tip(r))
        series.append((sn, vals))
        tips.append(tt)
    label = "% of the dtype's peak" if use_pct else "TFLOP/s"
    return bar_chart(
        f"gemm{key}",
        f"GEMM efficiency over shapes — {device_name(results)}",
        shapes,
        series,
        value_label=label,
        tooltips=tips,
        value_format=".1f" if use_pct else ".4g",
    )


def _series_name(r: Result, keys: Sequence[str]) -> str:
    both = {**r.params, **r.ran}
    for k in keys:
        if both.get(k) is not None:
            return f"{both[k]} {r.dtype} {r.backend}".strip()
    return f"{r.dtype} {r.backend}".strip()


def membw_chart(name: str, results: Sequence[Result], key: str) -> Chart | None:
    rs = [r for r in results if r.ok and r.op == "membw" and r.gbps]
    if not rs:
        return None
    groups: dict[str, list[Result]] = defaultdict(list)
    for r in rs:
        groups[_series_name(r, ("kind", "kernel", "name", "op"))].append(r)

    def size(r: Result) -> float:
        for k in ("nbytes", "bytes", "size"):
            if isinstance(r.params.get(k), (int, float)):
                return float(r.params[k])
        return float(r.metrics.get("bytes") or 0)

    series = [Series(g, [(size(r), r.gbps, _tip(r)) for r in v], line=True) for g, v in sorted(groups.items())]
    bw = _peak_bw(_gpu(results))
    if bw:
        xs = [size(r) for r in rs if size(r) > 0]
        if xs:
            series.append(
                Series(
                    f"peak {bw:.0f} GB/s",
                    [(min(xs) / 2, bw, ""), (max(xs) * 2, bw, "")],
                    color="#444",
                    line=True,
                    markers=False,
                    dash="6 4",
                    label_at_end=True,
                )
            )
    return xy_chart(
        f"membw{key}",
        f"Memory bandwidth over size — {device_name(results)}",
        series,
        x_label="bytes",
        y_label="GB/s",
        x_log=True,
    )


def model_charts(name: str, results: Sequence[Result], key: str) -> tuple[list[Chart], str]:
    rs = [r for r in results if r.ok and r.op == "model" and r.items_per_s]
    if not rs:
        return [], ""
    groups: dict[str, list[Result]] = defaultdict(list)
    for r in rs:
        groups[_series_name(r, ("model", "name"))].append(r)
    series = [
        Series(g, [(float(r.params.get("batch") or 1), r.items_per_s, _tip(r)) for r in v], line=True)
        for g, v in sorted(groups.items())
    ]
    charts = [
        xy_chart(
            f"model-throughput{key}",
            f"Model throughput over batch size — {device_name(results)}",
            series,
            x_label="batch size",
            y_label="items/s",
            x_log=True,
        )
    ]
    cats, med, rng, rows = [], [], [], []
    for g, v in sorted(groups.items()):
        for r in sorted(v, key=lambda r: r.params.get("batch") or 1):
            st = r.stats
            cats.append(f"{g} b{r.params.get('batch', 1)}")
            med.append(st.get("median_ms"))
            lo, hi = st.get("p10_ms"), st.get("p90_ms")
            rng.append((lo, hi) if lo is not None and hi is not None else None)
            rows.append(
                (
                    g,
                    r.params.get("batch", 1),
                    _num(st.get("p10_ms")),
                    _num(st.get("median_ms")),
                    _num(st.get("p90_ms")),
                    _num(st.get("p99_ms")),
                    _num(st.get("max_ms")),
                    _num(r.items_per_s),
                )
            )
    charts.append(
        bar_chart(
            f"model-latency{key}",
            f"Latency (median, whiskers p10–p90) — {device_name(results)}",
            cats,
            [("median", med)],
            value_label="ms per batch",
            ranges=rng,
        )
    )
    table = _table(
        ("model", "batch", "p10 ms", "median ms", "p90 ms", "p99 ms", "max ms", "items/s"),
        rows,
        numeric={1, 2, 3, 4, 5, 6, 7},
    )
    return charts, table


def synth_table(results: Sequence[Result]) -> str:
    rs = [r for r in results if r.op == "synth"]
    if not rs:
        return ""
    out = []
    for r in rs:
        groups = r.params.get("groups") or r.metrics.get("groups")
        head = f"<h3>{esc(case_label(r))}</h3>"
        if r.error:
            out.append(head + f"<p>{_status(r)}</p>")
            continue
        if isinstance(groups, list) and groups and all(isinstance(g, dict) for g in groups):
            cols: list[str] = []
            for g in groups:
                cols += [k for k in g if k not in cols and not isinstance(g[k], (dict, list))]
            rows = [[_num(g.get(c)) if isinstance(g.get(c), float) else g.get(c) for c in cols] for g in groups]
            out.append(head + _table(cols, rows))
        else:
            flat = {
                **{f"params.{k}": v for k, v in r.params.items() if not isinstance(v, (dict, list))},
                **{f"ran.{k}": v for k, v in r.ran.items() if not isinstance(v, (dict, list))},
                **{f"metrics.{k}": v for k, v in r.metrics.items() if not isinstance(v, (dict, list))},
            }
            out.append(
                head
                + _table(("field", "value"), [(k, _num(v) if isinstance(v, float) else v) for k, v in flat.items()])
            )
    return "".join(out)


def telemetry_table(results: Sequence[Result]) -> str:
    rs = [r for r in results if r.telemetry]
    if not rs:
        return ""
    rows = []
    for r in rs:
        t = r.telemetry
        if t.get("unavailable"):
            rows.append((case_label(r), "", "", "", "", "", "", "", f"unavailable: {t['unavailable']}"))
            continue
        sm, mem, pw, tc = (
            (t.get("sm_clock_mhz") or {}),
            (t.get("mem_clock_mhz") or {}),
            (t.get("power_w") or {}),
            (t.get("temperature_c") or {}),
        )
        flag = (
            Html('<span class="warn">throttled: ' + esc(t.get("throttle_detail") or "") + "</span>")
            if t.get("throttled")
            else (", ".join(t.get("throttle_reasons") or []) or "none")
        )
        sm_text = f"{_num(sm.get('median'), '.0f')} ({_num(sm.get('min'), '.0f')}–{_num(sm.get('max'), '.0f')})"
        rows.append(
            (
                case_label(r),
                sm_text,
                _num(mem.get("median"), ".0f"),
                f"{_num(pw.get('mean'), '.0f')} / {_num(pw.get('max'), '.0f')}",
                _num(tc.get("max"), ".0f"),
                _num(t.get("energy_j"), ".4g"),
                _num(r.metrics.get("joules_per_op"), ".3g"),
                _num(r.metrics.get("tflops_per_watt"), ".3g"),
                flag,
            )
        )
    return _table(
        (
            "case",
            "SM MHz median (min–max)",
            "mem MHz",
            "power W mean / max",
            "temp °C max",
            "energy J",
            "J per op",
            "TFLOP/s per W",
            "throttle reasons",
        ),
        rows,
        numeric={2, 4, 5, 6, 7},
    )


def results_table(results: Sequence[Result]) -> str:
    rows = []
    for r in results:
        x = rate(r)
        ci = rel_halfwidth(r) if r.ok else math.inf
        rows.append(
            (
                case_label(r),
                r.device,
                _num(r.median_ms) if r.ok else "",
                f"{100 * ci:.2f}%" if math.isfinite(ci) else "",
                f"{x[1]:.4g} {x[0]}" if x else "",
                _num(r.pct_of_peak, ".1f"),
                _num(r.rel_error, ".1e"),
                _status(r),
            )
        )
    return _table(
        ("case", "device", "median ms", "±CI", "rate", "% peak", "rel err", "status"), rows, numeric={2, 3, 4, 5, 6}
    )


def failures_table(results: Sequence[Result]) -> str:
    rs = [r for r in results if r.error]
    if not rs:
        return ""
    return _table(
        ("case", "error", "message"), [(case_label(r), r.error.get("type"), r.error.get("message")) for r in rs]
    )


def comparison_section(base: Run, other: Run, threshold: float, key: str) -> tuple[str, list[Chart]]:
    cmp = compare(base[1], other[1], threshold=threshold, base_name=base[0], new_name=other[0])
    head = f"<h3>{esc(other[0])} against {esc(base[0])}</h3>"
    if not cmp.matched:
        return (
            head
            + f"<p class='warn'>No case in common between {esc(base[0])} and {esc(other[0])}: nothing to compare.</p>",
            [],
        )
    counts = ", ".join(f"{n} {v}" for v, n in cmp.counts().most_common())
    note = (
        f"<p>Devices differ ({esc(cmp.base_device)} vs {esc(cmp.new_device)}): a side-by-side comparison.</p>"
        if cmp.devices_differ
        else ""
    )
    reg = cmp.regressions
    verdict = (
        f"<p class='bad'>{len(reg)} regression(s) beyond {threshold:.1%}.</p>"
        if reg and not cmp.devices_differ
        else f"<p class='good'>No significant regression beyond {threshold:.1%}.</p>"
        if not cmp.devices_differ
        else ""
    )
    rows, cats, speed, tips, colors = [], [], [], [], []
    cls = {"slower": "bad", "new failure": "bad", "faster": "good", "same": "good", "ambiguous": "warn"}
    for row in cmp.rows:
        b, n = row.base, row.new
        rb, rn = (rate(b) if b and b.ok else None), (rate(n) if n and n.ok else None)
        rows.append(
            (
                row.label,
                _num(b.median_ms) if b and b.ok else ("failed" if b else ""),
                _num(n.median_ms) if n and n.ok else ("failed" if n else ""),
                f"{100 * row.change:+.2f}%" if row.change is not None else "",
                f"{100 * row.noise:.2f}%" if row.noise is not None and math.isfinite(row.noise) else "",
                f"{rb[1]:.4g} {rb[0]}" if rb else "",
                f"{rn[1]:.4g} {rn[0]}" if rn else "",
                Html(
                    f"<span class='{cls.get(row.verdict, '')}'>{esc(row.verdict)}</span>"
                    + (" <span class='warn'>(throttled)</span>" if row.throttled else "")
                ),
            )
        )
        if row.ratio:
            cats.append(row.label)
            speed.append(1 / row.ratio)
            colors.append(VERDICT_COLORS.get(row.verdict))
            tips.append(
                f"{row.label}: {1 / row.ratio:.3f}× ({row.verdict}; time {100 * row.change:+.2f}% "
                f"± {100 * row.noise:.2f}%)"
            )
    table = _table(
        (
            "case",
            f"{cmp.base_device if cmp.devices_differ else 'base'} ms",
            f"{cmp.new_device if cmp.devices_differ else 'new'} ms",
            "time Δ",
            "±noise",
            "base rate",
            "new rate",
            "verdict",
        ),
        rows,
        numeric={1, 2, 3, 4, 5, 6},
    )
    charts = []
    if cats:
        charts.append(
            bar_chart(
                f"compare{key}",
                f"Speed-up of {Path(other[0]).name} over {Path(base[0]).name}",
                cats,
                [("speed-up", speed)],
                value_label="× (base time / new time; > 1 is faster)",
                reference=1.0,
                band=(1 / (1 + threshold), 1 + threshold),
                tooltips=[tips],
                value_format=".3f",
                bar_colors=colors,
            )
        )
    body = (
        head
        + note
        + f"<p>{esc(counts)}.</p>"
        + verdict
        + "".join(_figure(c, "Shaded: within the threshold.") for c in charts)
        + table
    )
    return body, charts


# -- the page -------------------------------------------------------------------------
def build_report(
    runs: Sequence[Run],
    *,
    title: str | None = None,
    threshold: float = 0.03,
    problems: Sequence[str] = (),
    scorecard: Mapping[str, Any] | None = None,
) -> tuple[str, list[Chart]]:
    """The report's HTML and its charts; ``scorecard`` (see ``scorecard_view``) comes first when given."""
    if not runs:
        raise ValueError("a report needs at least one run")
    title = title or ("aimatrix report — " + ", ".join(dict.fromkeys(device_name(rs) for _, rs in runs)))
    charts: list[Chart] = []
    body = [
        f"<h1>{esc(title)}</h1>",
        scorecard_html(scorecard) if scorecard is not None else "",
        f"<p class='muted'>Generated {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} from "
        f"{esc(', '.join(n for n, _ in runs))}. Times are medians per launch; ±CI is the half-width of the "
        "median's 95% confidence interval. Hover a point or bar for its case.</p>",
    ]
    if problems:
        body.append(
            "<h2>Input warnings</h2><ul>"
            + "".join(f"<li class='warn'>{esc(p)}</li>" for p in problems)
            + "</ul><p class='muted'>Those lines were skipped; every readable line is used.</p>"
        )
    for i, (name, results) in enumerate(runs):
        key = f"-{i + 1}" if len(runs) > 1 else ""
        body.append(f"<h2>{'Run ' + str(i + 1) + ': ' if len(runs) > 1 else ''}{esc(device_name(results))}</h2>")
        body.append(_environment_section(name, results))
        r = roofline(name, results, key)
        if r:
            charts.append(r)
            body.append(
                _figure(
                    r,
                    "Each point is a case (x: FLOPs over the fewest bytes it must move; y: achieved "
                    "TFLOP/s). Dashed: the device's compute ceiling per dtype and its DRAM bandwidth "
                    "ceiling.",
                )
            )
        g = gemm_efficiency(name, results, key)
        if g:
            charts.append(g)
            body.append(_figure(g))
        m = membw_chart(name, results, key)
        if m:
            charts.append(m)
            body.append(_figure(m))
        mc, mt = model_charts(name, results, key)
        for c in mc:
            charts.append(c)
            body.append(_figure(c))
        if mt:
            body.append("<h3>Latency percentiles</h3>" + mt)
        st = synth_table(results)
        if st:
            body.append("<h3>Synthetic benchmark groups</h3>" + st)
        tt = telemetry_table(results)
        if tt:
            body.append("<h3>Telemetry during each measurement (NVML)</h3>" + tt)
        ft = failures_table(results)
        if ft:
            body.append(f"<h3 class='bad'>Failures ({sum(1 for r in results if r.error)})</h3>" + ft)
        body.append(f"<details open><summary>All results ({len(results)})</summary>{results_table(results)}</details>")
    if len(runs) > 1:
        body.append(f"<h2>Comparison with {esc(runs[0][0])} (threshold {threshold:.1%})</h2>")
        for j, other in enumerate(runs[1:], 2):
            html_part, cs = comparison_section(runs[0], other, threshold, f"-{j}")
            charts += cs
            body.append(html_part)
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{esc(title)}</title>"
        f"<style>{CSS}{SCORECARD_CSS}</style></head><body>{''.join(body)}<script>{SCRIPT}</script></body></html>"
    )
    return page, charts


def write_report(
    path: str | os.PathLike, runs: Sequence[Run], *, scorecard: Mapping[str, Any] | None = None, **kw
) -> Report:
    """Write the report (options as ``build_report``; ``scorecard`` first in the page); ValueError naming the
    path when it cannot be written."""
    page, charts = build_report(runs, scorecard=scorecard, **kw)
    p = Path(path)
    try:
        if p.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        p.write_text(page, encoding="utf-8")
    except OSError as e:
        raise ValueError(f"cannot write the report to {str(p)!r}: {e.strerror or e}") from e
    return Report(p, charts)


# -- PNG export (headless Chromium) ------------------------------------------------------
def find_chromium() -> str | None:
    """A headless-capable Chromium/Chrome on PATH, or $AIMATRIX_CHROMIUM; None when there is none."""
    env = os.environ.get("AIMATRIX_CHROMIUM")
    if env:
        return env if shutil.which(env) or Path(env).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_command(browser: str, user_data_dir: str) -> list[str]:
    return [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--disable-dev-shm-usage",
        f"--user-data-dir={user_data_dir}",
    ]


def export_pngs(charts: Sequence[Chart], out_dir: str | os.PathLike, *, scale: int = 2) -> list[Path]:
    """Write each chart as ``out_dir/<name>.png`` (``scale``× pixels) with a headless Chromium.

    Raises ValueError when no Chromium is found (the message says what to install) or one fails.
    """
    browser = find_chromium()
    if browser is None:
        raise ValueError(
            "PNG export needs a headless Chromium (Debian/Ubuntu: apt-get install chromium; or set "
            "AIMATRIX_CHROMIUM to a Chrome binary). The HTML report itself needs none."
        )
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot write PNGs to {str(out)!r}: {e.strerror}") from e
    written = []
    with tempfile.TemporaryDirectory(prefix="aimatrix-png-") as tmp:
        for c in charts:
            page = Path(tmp) / f"{c.name}.html"
            page.write_text(
                "<!DOCTYPE html><html><head><meta charset='utf-8'><style>html,body{margin:0;padding:0;"
                f"background:#fff}}</style></head><body>{c.svg}</body></html>",
                encoding="utf-8",
            )
            png = out / f"{c.name}.png"
            cmd = chromium_command(browser, str(Path(tmp) / "profile")) + [
                f"--window-size={c.width},{c.height}",
                f"--force-device-scale-factor={scale}",
                f"--screenshot={png.resolve()}",
                page.resolve().as_uri(),
            ]
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise ValueError(f"chromium could not render chart {c.name!r}: {e}") from e
            if p.returncode != 0 or not png.exists():
                raise ValueError(
                    f"chromium could not render chart {c.name!r} (exit {p.returncode}): {p.stderr.strip()[-500:]}"
                )
            written.append(png)
    return written


def render_in_browser(html_path: str | os.PathLike, *, timeout: float = 120) -> tuple[str, list[str]]:
    """Load a page in headless Chromium: (the DOM after scripts ran, the console messages). For tests and checks."""
    browser = find_chromium()
    if browser is None:
        raise ValueError("no headless Chromium found (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="aimatrix-dom-") as tmp:
        cmd = chromium_command(browser, tmp) + [
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            Path(html_path).resolve().as_uri(),
        ]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    console = [line for line in p.stderr.splitlines() if ":CONSOLE" in line]
    return p.stdout, console
