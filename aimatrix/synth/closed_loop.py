"""The fidelity objective's closed loop: synthesize, time what was built, correct the time model, again.

The conv-time table's grid is coarse (channel counts in powers of two and a few); cuDNN's time between its
points is not smooth (tile quantisation, kernels picked per shape), so a synthesis fitted to the grid alone
lands on layers whose real time differs from the fit's (H100, 2026-12-06: up to +60% per group). Timing the
layers the synthesis chose and adding them to the table (``point`` rows, exact where measured and
correcting the fit around them) makes the next synthesis' prediction right where it lands.

Started afresh from the paper objective's result, every round's search landed on ~45 new layers of ~50, and
the last synthesis, never timed, was off by as much as the first (H100, 2026-12-07: 25 of 36 groups within 10%
against 36 of 36 predicted). So each round after the first moves from the round before
(``synthesize(..., start=...)``) with the channel counts between groups kept: each group then moves alone, and
the loop returns, per group, the round whose timed layers came closest to the real ones. A one-layer group (a
strided stem: ResNet-50's and DenseNet-121's 7x7/2 at 224) has no count but its output channels; those move in
every round (with the next group, kept from the same round), or the stem's first, untimed guess would stay
(H100, 2026-12-07: 17% off in all four rounds at fp32 batch 1).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Sequence

from .. import _check
from .efficiency import ConvTimeModel, ConvTimes, points
from .synthesize import synthesize
from .timefit import time_errors


def refine(
    groups: Sequence[Any],
    table: ConvTimes,
    time_fn: Callable[..., float],
    *,
    rounds: int = 3,
    configs: Sequence[str] | None = None,
    progress: Callable[[str], Any] | None = None,
    start: Any = None,
    **synthesize_options: Any,
) -> tuple[Any, ConvTimes]:
    """(fidelity synthesis, table with the timed points) after up to ``rounds`` rounds of: time the synthesis'
    layers with ``time_fn(config, kh, kw, stride, h, w, cin, cout)`` (e.g.
    :func:`aimatrix.synth.efficiency.device_time`) under ``configs`` (default: the table's with a grid, at the
    ``batches`` and ``dtypes`` options'), add them to the table, synthesize again from it starting at that
    synthesis. Returns, group by group, the timed round whose group came closest to the real time over the
    configurations (``time_errors`` then the timed ones), or with ``rounds=0`` the first synthesis, untimed. Stops
    early once a round times nothing new (the synthesis repeated itself). ``start``: a fidelity synthesis of these
    groups for the first round to move from (an earlier loop's result), as :func:`synthesize`'s."""
    rounds = _check.non_negative_int("rounds", rounds)
    opts = synthesize_options
    configs = list(configs or ConvTimeModel(table).configs_at(opts.get("batches"), opts.get("dtypes")))
    sm = synthesize(groups, objective="fidelity", efficiency=table, start=start, **opts)
    best: list[tuple[float, Any]] = []  # per group: (worst timed error over the configurations, the group)
    for i in range(rounds):
        new = points(sm, time_fn, configs, known=table)
        table = table + new
        errs = time_errors(sm, groups, ConvTimeModel(table), configs)
        worst = [max(abs(e) for e in g.values()) for g in errs]
        if progress:
            progress(
                f"round {i + 1}: {len(new.rows)} new synthetic layers timed; worst group {100 * max(worst):.1f}% off"
            )
        timed = [(w, replace(g, time_errors=e)) for w, g, e in zip(worst, sm.groups, errs)]
        prev, best = best, [min(b, t, key=lambda x: x[0]) for b, t in zip(best, timed)] if best else timed
        for k in _joined(sm.groups):  # a one-layer group and the next come from the same round
            if best[k][1].filters[-1] != best[k + 1][1].cin:
                best[k : k + 2] = min(prev[k : k + 2], timed[k : k + 2], key=lambda p: max(p[0][0], p[1][0]))
        if not new.rows:
            break
        sm = synthesize(groups, objective="fidelity", efficiency=table, start=sm, **opts)
    return (replace(sm, groups=[g for _, g in best]) if best else sm), table


def _joined(groups: Sequence[Any]) -> list[int]:
    """Indices k where group k is one layer (a strided stem): its output channels, the one count it has, move in
    later rounds too (:func:`aimatrix.synth.timefit.improve`), so groups k and k + 1 are kept from one round."""
    return [k for k in range(len(groups) - 1) if len(groups[k].filters) == 1]
