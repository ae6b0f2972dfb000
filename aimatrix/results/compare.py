"""Compare two runs case by case, with verdicts that know how noisy each number is.

Cases are matched by the suite runner's case id when both records carry one,
else by ``Result.spec_key()`` (op, dtype, backend and the spec's parameters). For
each pair, ``ratio`` is new median time / base median time (> 1: slower) and
``noise`` the relative half-width of that ratio's 95% confidence interval, the
two medians' relative half-widths added in quadrature. With ``d = ln(ratio)``
and ``T = ln(1 + threshold)``:

- ``slower`` / ``faster``: the change is significant (``|d| > noise``; when both Results kept
  their samples, a Mann-Whitney rank test at p < 0.05 instead) and beyond the threshold (``|d| > T``);
- ``same``: the whole interval lies within the threshold (``|d| + noise <= T``);
- ``ambiguous``: neither: too noisy to tell, or too close to the threshold.

A case that ran in the base but fails in the new run is a ``new failure``; both
count as regressions. When the two runs are on different devices, the table is a
side-by-side comparison of the devices and is not a regression gate unless asked.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from .result import Result

REGRESSIONS = ("slower", "new failure")


def parse_threshold(text: str | float) -> float:
    """'3%', '3', '0.03' -> 0.03 (a bare number above 1 is read as percent)."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        s = str(text).strip()
        try:
            value = float(s[:-1]) / 100 if s.endswith("%") else float(s)
        except ValueError:
            raise ValueError(f"threshold {text!r} is not allowed: expected a percentage such as 3% or 0.03") from None
        if not s.endswith("%") and value >= 1:
            value /= 100
    if not (0 <= value < 1) or math.isnan(value):
        raise ValueError(f"threshold {text!r} is not allowed: it must be between 0% and 100%")
    return value


def rel_halfwidth(r: Result) -> float:
    """The relative half-width of the 95% CI of the median (inf when unknown)."""
    ci = r.stats.get("rel_ci")
    if isinstance(ci, (int, float)) and math.isfinite(ci) and ci >= 0:
        return float(ci)
    lo, hi, med = r.stats.get("ci_lo_ms"), r.stats.get("ci_hi_ms"), r.median_ms
    if all(isinstance(x, (int, float)) for x in (lo, hi, med)) and med > 0 and hi >= lo:
        return (hi - lo) / 2 / med
    return math.inf


def device_name(results: Sequence[Result]) -> str:
    """The device a run measured (the GPU's name, or the CPU model), the most common one if several."""
    names = Counter()
    for r in results:
        gpu = r.env.get("gpu") or {}
        if gpu.get("name"):
            names[gpu["name"]] += 1
        elif r.device == "cpu" and r.env.get("cpu"):
            names["CPU " + str(r.env["cpu"])] += 1
        else:
            names[r.device] += 1
    return names.most_common(1)[0][0] if names else "unknown device"


def _bytes(n: float) -> str:
    for unit, div in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= div:
            return f"{n / div:g} {unit}"
    return f"{n:g} B"


def _fit(words: list[str], width: int) -> str:
    """The words that fit in ``width`` characters, whole, and "…" where some were left out."""
    out = words[0]
    for i, w in enumerate(words[1:], 1):
        if len(out) + 1 + len(w) > width - (2 if i < len(words) - 1 else 0):
            return out + " …"
        out += " " + w
    return out


def shape_label(r: Result) -> str:
    """The case's shape in a few words: ``4096x4096x4096 NN``, ``triad 1 GiB``, ``resnet50 b32``, ``vgg16 tiny
    b1`` (a model at other than its full size), ``llama_1b decode b64`` (an LLM phase)."""
    p = r.params
    if r.op in ("gemm",) and {"m", "n", "k"} <= p.keys():
        t = ("T" if p.get("trans_a") else "N") + ("T" if p.get("trans_b") else "N")
        b = f" x{p['batch']}" if (p.get("batch") or 1) > 1 else ""
        return f"{p['m']}x{p['n']}x{p['k']} {t}{b}"
    if r.op == "conv" and {"n", "c", "h", "w", "k", "r"} <= p.keys():
        stride = p.get("stride_h", p.get("stride", 1))
        return (
            f"{p['n']}x{p['c']}x{p['h']}x{p['w']} k{p['k']} {p['r']}x{p.get('s', p['r'])}/{stride} "
            f"{p.get('direction', 'fwd')}"
        )
    if r.op == "layer" and isinstance(p.get("layer"), str):
        dims = [
            f"{k}={v}"
            for k, v in p.items()
            if k not in ("layer", "seed") and isinstance(v, int) and not isinstance(v, bool)
        ]
        return _fit([p["layer"], *dims], 56)
    words = []
    for k in ("model", "name", "kind", "kernel", "phase"):
        if isinstance(p.get(k), str):
            words.append(p[k])
    if p.get("size") not in (None, "full") and isinstance(p.get("size"), str):
        words.append(p["size"])  # a model's reduced size: its time is not the full model's
    if p.get("scenario") not in (None, "offline") and isinstance(p.get("scenario"), str):
        words.append(p["scenario"])
    if isinstance(p.get("models"), list) and all(isinstance(m, str) for m in p["models"]):
        words.append("of " + "+".join(p["models"]))  # a synthetic proxy's real models
    for k in ("nbytes", "bytes", "size"):
        if isinstance(p.get(k), (int, float)) and not isinstance(p.get(k), bool):
            words.append(_bytes(float(p[k])))
            break
    if "batch" in p:
        words.append(f"b{p['batch']}")
    if words:
        return " ".join(str(w) for w in words)
    return " ".join(
        f"{k}={v}"
        for k, v in p.items()
        if not isinstance(v, (dict, list)) and k not in ("seed", "mode", "repeat", "timer")
    )[:60]


def case_label(r: Result) -> str:
    return f"{r.op} {shape_label(r)} {r.dtype} {r.backend}".strip()


def rate(r: Result) -> tuple[str, float] | None:
    """The headline rate of a Result: (unit, value)."""
    for key, unit in (("tflops", "TFLOP/s"), ("gbps", "GB/s"), ("items_per_s", "items/s")):
        v = r.metrics.get(key)
        if isinstance(v, (int, float)):
            return unit, float(v)
    return None


@dataclass
class Row:
    label: str
    base: Result | None
    new: Result | None
    verdict: str
    ratio: float | None = None  # new median / base median
    noise: float | None = None  # relative half-width of the ratio's 95% CI

    @property
    def change(self) -> float | None:
        """Relative change of the median time: +0.05 = 5% slower."""
        return None if self.ratio is None else self.ratio - 1

    @property
    def throttled(self) -> bool:
        return bool((self.base and self.base.throttled) or (self.new and self.new.throttled))


@dataclass
class Comparison:
    base_name: str
    new_name: str
    base_device: str
    new_device: str
    threshold: float
    rows: list[Row] = field(default_factory=list)

    @property
    def devices_differ(self) -> bool:
        return self.base_device != self.new_device

    @property
    def matched(self) -> list[Row]:
        return [r for r in self.rows if r.base is not None and r.new is not None]

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.verdict in REGRESSIONS]

    def counts(self) -> Counter:
        return Counter(r.verdict for r in self.rows)


def verdict(base: Result, new: Result, threshold: float) -> tuple[str, float | None, float | None]:
    """(verdict, ratio, noise) for two Results of the same case."""
    if base.error and new.error:
        return "failed in both", None, None
    if new.error:
        return "new failure", None, None
    if base.error:
        return "fixed", None, None
    b, n = base.median_ms, new.median_ms
    if not (isinstance(b, (int, float)) and isinstance(n, (int, float))) or b <= 0 or n <= 0:
        return "ambiguous", None, None
    ratio = n / b
    noise = math.hypot(rel_halfwidth(base), rel_halfwidth(new))
    d, t = math.log(ratio), math.log1p(threshold)
    p = rank_p_value(base, new)  # both kept their samples: a rank test decides significance
    significant = abs(d) > noise if p is None else p < RANK_ALPHA
    if significant and abs(d) > t:
        return ("slower" if d > 0 else "faster"), ratio, noise
    if abs(d) + noise <= t:
        return "same", ratio, noise
    return "ambiguous", ratio, noise


RANK_ALPHA = 0.05


def mann_whitney_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation, ties corrected, continuity
    corrected): the chance of ranks this far apart if both samples came from one distribution."""
    import numpy as np

    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        raise ValueError("the rank test needs samples on both sides")
    both = np.concatenate([a, b])
    order = np.argsort(both, kind="mergesort")
    ranks = np.empty(len(both))
    ranks[order] = np.arange(1, len(both) + 1)
    _, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
    ranks = np.bincount(inverse, weights=ranks)[inverse] / counts[inverse]  # ties share their mean rank
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - (counts**3 - counts).sum() / (n * (n - 1)))
    if var <= 0:
        return 1.0  # every value equal
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(var)
    return float(math.erfc(max(z, 0.0) / math.sqrt(2)))


def rank_p_value(base: Result, new: Result) -> float | None:
    """The rank test's p-value when both Results kept their samples (``keep_samples``), else None."""
    a, b = base.stats.get("samples_ms"), new.stats.get("samples_ms")
    if not (isinstance(a, list) and isinstance(b, list) and a and b):
        return None
    return mann_whitney_p(a, b)


def _latest(results: Sequence[Result]) -> list[Result]:
    """One Result per case: a later record of the same case (a retry) replaces an earlier one."""
    last: dict = {}
    for r in results:
        last[("case", r.case) if r.case is not None else ("spec", r.spec_key())] = r
    return list(last.values())


def compare(
    base: Sequence[Result],
    new: Sequence[Result],
    *,
    threshold: float = 0.03,
    base_name: str = "base",
    new_name: str = "new",
) -> Comparison:
    """Match the cases of two runs and give each pair a verdict (see the module doc)."""
    cmp = Comparison(base_name, new_name, device_name(base), device_name(new), threshold)
    base_l = _latest(base)
    b_case = {r.case: r for r in base_l if r.case is not None}
    b_key = {r.spec_key(): r for r in base_l}
    used: set[int] = set()
    for r in _latest(new):
        b = b_case.get(r.case) if r.case is not None else None
        if b is None:
            b = b_key.get(r.spec_key())
        if b is None or id(b) in used:
            cmp.rows.append(Row(case_label(r), None, r, "only in new"))
            continue
        used.add(id(b))
        v, ratio, noise = verdict(b, r, threshold)
        cmp.rows.append(Row(case_label(b if b.ok or not r.ok else r), b, r, v, ratio, noise))
    cmp.rows += [Row(case_label(b), b, None, "only in base") for b in base_l if id(b) not in used]
    return cmp
