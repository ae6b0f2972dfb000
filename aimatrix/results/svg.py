"""Small inline-SVG charts for the HTML report: no JavaScript, no external files.

Two kinds: ``xy_chart`` (points and lines on linear or log axes: rooflines,
bandwidth over size, throughput over batch) and ``bar_chart`` (horizontal bars
by category and series; also ranges, for latency percentiles). Each returns a
``Chart`` whose ``svg`` is a complete ``<svg>`` element with explicit size.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Sequence

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\""


def esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def fmt(v: float) -> str:
    """Short tick text: 1, 2.5, 1k, 20k, 1M, 0.01."""
    if v == 0:
        return "0"
    a = abs(v)
    for div, suf in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:g}{suf}"
    return f"{v:.3g}"


@dataclass
class Series:
    name: str
    points: list[tuple[float, float, str]] = field(default_factory=list)  # (x, y, tooltip)
    color: str | None = None
    line: bool = False  # connect the points (sorted by x)
    markers: bool = True
    dash: str | None = None
    label_at_end: bool = False  # write the name next to the last point (for ceilings)


@dataclass
class Chart:
    name: str
    title: str
    svg: str
    width: int
    height: int


class _Scale:
    def __init__(self, lo: float, hi: float, a: float, b: float, log: bool) -> None:
        self.log = log
        if log:
            lo, hi = (math.log10(lo), math.log10(hi)) if 0 < lo < math.inf and 0 < hi < math.inf else (0.0, 1.0)
        if not (math.isfinite(lo) and math.isfinite(hi)):  # an axis over absurd values: still draw, never raise
            lo, hi = 0.0, 1.0
        if hi - lo < 1e-12:
            lo, hi = lo - 0.5, hi + 0.5
        self.lo, self.hi, self.a, self.b = lo, hi, a, b

    def __call__(self, v: float) -> float:
        t = math.log10(v) if self.log else v
        return self.a + (t - self.lo) / (self.hi - self.lo) * (self.b - self.a)

    def ticks(self) -> list[float]:
        if self.log:
            lo, hi = math.floor(self.lo), math.ceil(self.hi)
            dec = [10.0**e for e in range(lo, hi + 1)]
            if len(dec) <= 3:
                dec = sorted({d * m for d in dec for m in (1, 2, 5)})
            return [t for t in dec if self.lo - 1e-9 <= math.log10(t) <= self.hi + 1e-9]
        span = self.hi - self.lo
        raw = span / 6
        mag = 10 ** math.floor(math.log10(raw))
        step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
        first = math.ceil(self.lo / step) * step
        count = min(20, int((self.hi + 1e-9 * span - first) / step) + 1)  # counted, not summed: no endless loop
        return [round(first + i * step, 12) for i in range(max(0, count))]


def _open(width: int, height: int, title: str, legend_svg: str) -> list[str]:
    """The start of every chart: the svg element, a white background, the title and the legend."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'{FONT} role="img" aria-label="{esc(title)}">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{width / 2:.0f}" y="20" text-anchor="middle" font-size="15" font-weight="600">{esc(title)}</text>',
        f'<g transform="translate(0,44)">{legend_svg}</g>' if legend_svg else "",
    ]


def _range(values: list[float], log: bool, pad: float) -> tuple[float, float]:
    vals = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
    if not vals:
        return (1.0, 10.0) if log else (0.0, 1.0)
    lo, hi = min(vals), max(vals)
    if log:
        return lo / pad, hi * pad
    span = (hi - lo) or abs(hi) or 1.0
    return (min(0.0, lo) if lo >= 0 else lo - 0.05 * span), hi + 0.08 * span


def _legend(series: Sequence[tuple[str, str]], x: float, y: float, width: float) -> tuple[str, float]:
    """Legend entries laid out in rows from (x, y); returns the SVG and its height."""
    out, cx, cy = [], x, y
    for name, color in series:
        w = 18 + 7 * len(name)
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 18
        out.append(
            f'<rect x="{cx:.1f}" y="{cy - 9:.1f}" width="10" height="10" fill="{color}"/>'
            f'<text x="{cx + 14:.1f}" y="{cy:.1f}" font-size="12">{esc(name)}</text>'
        )
        cx += w + 10
    return "".join(out), (cy - y) + 18 if series else 0


def _x_grid(sx: _Scale, top: float, bottom_y: float) -> list[str]:
    """A vertical grid line from ``top`` to ``bottom_y`` at each of the x scale's ticks, labelled below."""
    return [
        f'<line x1="{sx(t):.1f}" y1="{top}" x2="{sx(t):.1f}" y2="{bottom_y}" stroke="#e5e5e5"/>'
        f'<text x="{sx(t):.1f}" y="{bottom_y + 16}" text-anchor="middle" font-size="11">{fmt(t)}</text>'
        for t in sx.ticks()
    ]


def xy_chart(
    name: str,
    title: str,
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    x_log: bool = False,
    y_log: bool = False,
    width: int = 760,
    height: int = 440,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
) -> Chart:
    """Points and lines; log axes drop non-positive values."""
    colors = {}
    for i, s in enumerate(series):
        colors[s.name] = s.color or PALETTE[i % len(PALETTE)]
    legend_items = [(s.name, colors[s.name]) for s in series if s.markers and s.points]
    legend_svg, legend_h = _legend(legend_items, 70, 0, width - 90)
    top, left, right, bottom = 40 + legend_h, 70, 24, 56
    xs = [p[0] for s in series for p in s.points]
    ys = [p[1] for s in series for p in s.points]
    xr = x_range or _range(xs, x_log, 1.6)
    yr = y_range or _range(ys, y_log, 1.6)
    sx = _Scale(*xr, left, width - right, x_log)
    sy = _Scale(*yr, height - bottom, top, y_log)
    parts = _open(width, height, title, legend_svg)
    # grid and ticks
    parts += _x_grid(sx, top, height - bottom)
    for t in sy.ticks():
        y = sy(t)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e5e5e5"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{fmt(t)}</text>'
        )
    parts.append(
        f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" '
        'fill="none" stroke="#888"/>'
    )
    parts.append(
        f'<text x="{(left + width - right) / 2:.0f}" y="{height - 14}" text-anchor="middle" font-size="12">'
        f"{esc(x_label)}</text>"
    )
    parts.append(
        f'<text transform="translate(16,{(top + height - bottom) / 2:.0f}) rotate(-90)" text-anchor="middle" '
        f'font-size="12">{esc(y_label)}</text>'
    )
    parts.append(
        f'<clipPath id="clip-{esc(name)}"><rect x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}"/></clipPath><g clip-path="url(#clip-{esc(name)})">'
    )

    def ok(p):
        return math.isfinite(p[0]) and math.isfinite(p[1]) and (p[0] > 0 or not x_log) and (p[1] > 0 or not y_log)

    labels = []
    for s in series:
        color = colors[s.name]
        pts = [p for p in s.points if ok(p)]
        if s.line and len(pts) >= 2:
            path = " ".join(
                f"{'M' if i == 0 else 'L'}{sx(p[0]):.1f},{sy(p[1]):.1f}"
                for i, p in enumerate(sorted(pts, key=lambda p: p[0]))
            )
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            parts.append(
                f'<path d="{path}" fill="none" stroke="{color}" stroke-width="1.8"{dash}>'
                f"<title>{esc(s.name)}</title></path>"
            )
        if s.markers:
            for p in pts:
                parts.append(
                    f'<circle cx="{sx(p[0]):.1f}" cy="{sy(p[1]):.1f}" r="4.5" fill="{color}" fill-opacity="0.85" '
                    f'stroke="#fff" stroke-width="0.8"><title>{esc(p[2])}</title></circle>'
                )
        if s.label_at_end and pts:
            last = max(pts, key=lambda p: p[0])
            labels.append(
                f'<text x="{min(sx(last[0]), width - right) - 4:.1f}" y="{sy(last[1]) - 5:.1f}" '
                f'text-anchor="end" font-size="11" fill="{color}">{esc(s.name)}</text>'
            )
    parts.append("</g>")
    parts += labels
    parts.append("</svg>")
    return Chart(name, title, "".join(parts), width, height)


def bar_chart(
    name: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    value_label: str,
    width: int = 760,
    ranges: Sequence[tuple[float, float] | None] | None = None,
    reference: float | None = None,
    band: tuple[float, float] | None = None,
    tooltips: Sequence[Sequence[str]] | None = None,
    value_format: str = ".3g",
    bar_colors: Sequence[str | None] | None = None,
) -> Chart:
    """Horizontal bars: one row per category, one bar per series in it.

    ``ranges`` draws, for a single series, a whisker lo..hi per category (percentiles).
    ``reference`` draws a vertical line (e.g. 1.0 for speed-ups); ``band`` shades a value range.
    ``bar_colors`` colours each category's bar (single series), e.g. by verdict.
    """
    n_series = max(1, len(series))
    bar_h = 14 if n_series > 1 else 18
    row_h = bar_h * n_series + 10
    legend_items = [(s[0], PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)] if n_series > 1 else []
    legend_svg, legend_h = _legend(legend_items, 12, 0, width - 24)
    label_w = min(340, 16 + 7.0 * max((len(c) for c in categories), default=4))
    top, left, right, bottom = 40 + legend_h, label_w, 48, 46
    height = int(top + row_h * len(categories) + bottom)
    vals = [v for _, vs in series for v in vs if v is not None and math.isfinite(v)]
    if ranges:
        vals += [x for r in ranges if r for x in r if math.isfinite(x)]
    if reference is not None:
        vals.append(reference)
    if band:
        vals += list(band)
    hi = max(vals, default=1.0)
    lo = min(0.0, min(vals, default=0.0))
    if reference is not None:  # bars start at the reference: zoom on the values around it
        span = (hi - min(vals)) or abs(hi) or 1.0
        lo, hi = min(vals) - 0.1 * span, hi + 0.02 * span
    sx = _Scale(lo, hi * 1.08 if hi > 0 and reference is None else hi, left, width - right, False)
    base = sx(reference if reference is not None else max(lo, 0.0))
    parts = _open(width, height, title, legend_svg)
    parts += _x_grid(sx, top, height - bottom)
    if band:
        parts.append(
            f'<rect x="{sx(band[0]):.1f}" y="{top}" width="{sx(band[1]) - sx(band[0]):.1f}" '
            f'height="{height - top - bottom}" fill="#2ca02c" fill-opacity="0.08"/>'
        )
    for i, cat in enumerate(categories):
        y0 = top + i * row_h + 5
        parts.append(
            f'<text x="{left - 8}" y="{y0 + row_h / 2 + 1:.1f}" text-anchor="end" font-size="11">{esc(cat)}</text>'
        )
        for j, (sname, vs) in enumerate(series):
            v = vs[i] if i < len(vs) else None
            if v is None or not math.isfinite(v):
                continue
            color = (bar_colors[i] if bar_colors and bar_colors[i] else None) or PALETTE[j % len(PALETTE)]
            x0, x1 = base, sx(v)
            y = y0 + j * bar_h
            tip = tooltips[j][i] if tooltips else f"{sname}: {v:.4g} {value_label}"
            parts.append(
                f'<rect x="{min(x0, x1):.1f}" y="{y:.1f}" width="{max(1.0, abs(x1 - x0)):.1f}" '
                f'height="{bar_h - 3}" fill="{color}"><title>{esc(tip)}</title></rect>'
                f'<text x="{max(x0, x1) + 3:.1f}" y="{y + bar_h - 5:.1f}" font-size="10">{v:{value_format}}</text>'
            )
            if ranges and ranges[i]:
                a, b = ranges[i]  # type: ignore[misc]
                ym = y + (bar_h - 3) / 2
                parts.append(
                    f'<line x1="{sx(a):.1f}" y1="{ym:.1f}" x2="{sx(b):.1f}" y2="{ym:.1f}" stroke="#222" '
                    f'stroke-width="1.5"/><line x1="{sx(a):.1f}" y1="{ym - 4:.1f}" x2="{sx(a):.1f}" '
                    f'y2="{ym + 4:.1f}" stroke="#222"/><line x1="{sx(b):.1f}" y1="{ym - 4:.1f}" x2="{sx(b):.1f}" '
                    f'y2="{ym + 4:.1f}" stroke="#222"/>'
                )
    if reference is not None:
        x = sx(reference)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - bottom}" stroke="#333" stroke-dasharray="4 3"/>'
        )
    parts.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#888"/>'
    )
    parts.append(
        f'<text x="{(left + width - right) / 2:.0f}" y="{height - 12}" text-anchor="middle" font-size="12">'
        f"{esc(value_label)}</text></svg>"
    )
    return Chart(name, title, "".join(parts), width, height)
