"""The fidelity objective's closed loop: synthesize, time what was built, correct the time model, again.

The conv-time table's grid is coarse (channel counts in powers of two and a few); cuDNN's time between its
points is not smooth (tile quantisation, kernels picked per shape), so a synthesis fitted to the grid alone
lands on layers whose real time differs from the fit's (H100, 2026-12-06: up to +60% per group). Timing the
layers the synthesis chose and adding them to the table (``point`` rows, exact where measured and
correcting the fit around them) makes the next synthesis' prediction right where it lands.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .. import _check
from .efficiency import ConvTimeModel, ConvTimes, points
from .synthesize import synthesize


def refine(
    groups: Sequence[Any],
    table: ConvTimes,
    time_fn: Callable[..., float],
    *,
    rounds: int = 3,
    configs: Sequence[str] | None = None,
    progress: Callable[[str], Any] | None = None,
    **synthesize_options: Any,
) -> tuple[Any, ConvTimes]:
    """(fidelity synthesis, table with the timed points) after up to ``rounds`` rounds of: synthesize with
    ``objective="fidelity"`` from the table, time its layers with ``time_fn(config, kh, kw, stride, h, w, cin,
    cout)`` (e.g. :func:`aimatrix.synth.efficiency.device_time`) under ``configs`` (default: the table's with a
    grid, at the ``batches`` and ``dtypes`` options'), add them. Stops early once a round times nothing new (the
    synthesis repeated itself)."""
    rounds = _check.non_negative_int("rounds", rounds)
    opts = synthesize_options
    configs = list(configs or ConvTimeModel(table).configs_at(opts.get("batches"), opts.get("dtypes")))
    sm = synthesize(groups, objective="fidelity", efficiency=table, **synthesize_options)
    for i in range(rounds):
        new = points(sm, time_fn, configs, known=table)
        if progress:
            progress(f"round {i + 1}: {len(new.rows)} new synthetic layers timed")
        if not new.rows:
            break
        table = table + new
        sm = synthesize(groups, objective="fidelity", efficiency=table, **synthesize_options)
    return sm, table
