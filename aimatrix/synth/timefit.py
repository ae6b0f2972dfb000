"""The fidelity objective: move a synthesis' filter counts so that its predicted time matches the real layers'.

Per group, the objective adds a time term to the paper's::

    F = 0.5 |MAC - MAC_real| / MAC_real + 0.5 |WP - WP_real| / WP_real
        + time_weight * mean over configurations c of |T_c - T_real,c| / T_real,c

``T_c``: the synthetic convs' time predicted by a :class:`ConvTimeModel` (one per
device, dtype and batch in its table), ``T_real,c``: the real convs' measured
time. Starting from the paper objective's result (same layers, kernels and
strides), a deterministic local search (first improvement; single filter-count
moves of +-1, +-2, +-4, ... up to 2^(bits-1); a boundary move changes both
groups it joins) lowers the sum of every group's F. Per-layer terms are cached,
so a move re-evaluates two layers.
"""

from __future__ import annotations

from typing import Any, Sequence

from .efficiency import ConvTimeModel
from .model import WarpModel, conv_macs, conv_warps


class _Group:
    """One group's chain with per-layer MACs, warps and predicted times cached."""

    def __init__(
        self,
        sg: Any,
        real: Any,
        eff: ConvTimeModel,
        configs: Sequence[str],
        wm: Any,
        scale: float,
        weight: float,
    ) -> None:
        self.sg, self.eff, self.weight = sg, eff, weight
        self.wms = [WarpModel.of(wm).for_kernel(kh, kw, 1) for kh, kw in sg.kernels]
        self.configs = list(configs)
        self.t_real = [eff.real_ms(c, real.layers) for c in self.configs]
        self.macs_real, self.warps_real = float(real.macs), float(real.warps) / scale
        self.chain = [sg.cin] + list(sg.filters)
        self.terms = [self._layer(i) for i in range(len(sg.filters))]

    def _layer(self, i: int, chain: Sequence[int] | None = None) -> tuple:
        c = self.chain if chain is None else chain
        g, (kh, kw), s = self.sg, self.sg.kernels[i], self.sg.stride(i)
        ho, wo = -(-g.h // s), -(-g.w // s)
        m = conv_macs(g.batch, ho, wo, c[i], c[i + 1], kh, kw)
        w = conv_warps(self.wms[i], g.batch, ho, wo, c[i + 1], cin=c[i], kh=kh, kw=kw)
        t = tuple(self.eff.predict(cf, kh, kw, s, g.h, g.w, c[i], c[i + 1]) for cf in self.configs)
        return m, w, t

    def score(self, terms: Sequence[tuple] | None = None) -> float:
        terms = self.terms if terms is None else terms
        m = sum(x[0] for x in terms)
        w = sum(x[1] for x in terms)
        f = 0.5 * abs(m - self.macs_real) / self.macs_real + 0.5 * abs(w - self.warps_real) / self.warps_real
        return f + self.weight * self.time_error(terms)

    def time_errors(self, terms: Sequence[tuple] | None = None) -> list[float]:
        terms = self.terms if terms is None else terms
        return [sum(x[2][j] for x in terms) / tr - 1.0 for j, tr in enumerate(self.t_real)]

    def time_error(self, terms: Sequence[tuple] | None = None) -> float:
        e = self.time_errors(terms)
        return sum(abs(x) for x in e) / len(e)

    def trial(self, pos: int, value: int) -> tuple[list, list]:
        """Chain and terms with chain[pos] = value (layers pos - 1 and pos recomputed)."""
        chain = list(self.chain)
        chain[pos] = value
        terms = list(self.terms)
        for i in (pos - 1, pos):
            if 0 <= i < len(terms):
                terms[i] = self._layer(i, chain)
        return chain, terms


def improve(
    synth: Any,
    groups: Sequence[Any],
    eff: ConvTimeModel,
    *,
    configs: Sequence[str] | None = None,
    time_weight: float = 1.0,
    min_filters: int = 8,
    align: int = 1,
    max_steps: int = 2000,
    fixed_boundaries: bool = False,
) -> tuple[list[list[int]], list[dict]]:
    """Local search on the fidelity objective from ``synth`` (a SyntheticModel); ``groups``: its Groups, large to
    small; ``configs``: the time model's configurations to match (default: all); ``align``: every filter count a
    multiple of it (the paper objective's rounded to the nearest first); ``fixed_boundaries``: the filter counts
    where one group hands over to the next stay as they are, so that each group moves alone (the closed loop's
    later rounds), but for a one-layer group's (a strided stem's), its only count, which then moves with the next
    group. Returns the new chains ([cin, filters...] per group) and per group {config: predicted time
    error}."""
    fmax = (1 << synth.bits) - 1 - ((1 << synth.bits) - 1) % align
    lo = -(-min_filters // align) * align
    cfgs = eff.configs if configs is None else configs
    gs = [
        _Group(sg, g, eff, cfgs, synth.warp_model, synth.warps_scale, time_weight)
        for sg, g in zip(synth.groups, groups)
    ]
    if align > 1:
        for k, g in enumerate(gs):
            chain = [g.chain[0] if k == 0 else gs[k - 1].chain[-1]]
            chain += [min(fmax, max(lo, align * round(f / align))) for f in g.chain[1:]]
            g.chain = chain
            g.terms = [g._layer(i) for i in range(len(g.terms))]
    scores = [g.score() for g in gs]
    # moves: (group, position); a boundary (last entry of a group but the last) moves with the next group's first
    entries = [
        (k, p)
        for k, g in enumerate(gs)
        for p in range(1, len(g.chain))
        if p < len(g.chain) - 1 or (k + 1 < len(gs) and (not fixed_boundaries or len(g.chain) == 2))
    ]
    deltas = [align * d * s for e in range(synth.bits) for d in (1 << e,) for s in (1, -1) if align * d <= fmax]
    for _step in range(max_steps):
        moved = False
        for k, p in entries:
            for d in deltas:
                v = gs[k].chain[p] + d
                if not lo <= v <= fmax:
                    continue
                ca, ta = gs[k].trial(p, v)
                new = {k: (ca, ta, gs[k].score(ta))}
                if p == len(gs[k].chain) - 1:  # a boundary: the next group's input channels too
                    cb, tb = gs[k + 1].trial(0, v)
                    new[k + 1] = (cb, tb, gs[k + 1].score(tb))
                if sum(x[2] for x in new.values()) < sum(scores[j] for j in new) - 1e-15:
                    for j, (c, t, f) in new.items():
                        gs[j].chain, gs[j].terms, scores[j] = c, t, f
                    moved = True
                    break
        if not moved:
            break
    return [g.chain for g in gs], [dict(zip(g.configs, g.time_errors())) for g in gs]


def time_errors(
    synth: Any, groups: Sequence[Any], eff: ConvTimeModel, configs: Sequence[str] | None = None
) -> list[dict]:
    """Per group of ``synth`` (large to small), {config: predicted time error} of its layers against the real
    layers of ``groups`` (any order): exact where every layer is a measured point of ``eff``'s table."""
    order = sorted(groups, key=lambda g: -g.center)
    cfgs = eff.configs if configs is None else configs
    return [
        dict(zip(cfgs, _Group(sg, g, eff, cfgs, synth.warp_model, synth.warps_scale, 0.0).time_errors()))
        for sg, g in zip(synth.groups, order)
    ]
