"""The StatsNet workload model: MACs and warps of a convolution layer.

This mirrors ``csrc/synth/model.hpp`` exactly (same integers): the native GA and
the numpy reference both evaluate synthetic layers with these formulas, and the
profiler uses them for real layers when no GPU measures the warps.

MACs of a convolution (a fully connected layer is a 1x1 conv on a 1x1 input)::

    MACs = batch * Hout * Wout * Cout * (Cin / groups) * Kh * Kw

A synthetic layer is a stride-1 SAME conv (groups 1) at its group's input size
H x W, so ``MACs = batch * H * W * Cout * Cin * Kh * Kw`` with ``Cin`` the previous
synthetic layer's filter count (for a group's first layer: the previous group's
last filter count, 3 for the image).

Warps -- the analytic launch-shape estimator. The output of each channel group
is cut into warp tiles of ``tm`` output pixels (along the flattened
batch*Hout*Wout axis) by ``tn`` output channels, ``wpt`` warps per tile::

    warps = groups * ceil((Cout / groups) / tn) * ceil(batch * Hout * Wout / tm) * wpt

The default ``(tm, tn, wpt) = (32, 1, 1)`` is a direct-convolution launch (one
thread per output element, a warp spanning 32 consecutive pixels of one
channel); ``(128, 128, 8)`` is the CTA shape of a 128x128 implicit-GEMM kernel.
Measured warps (Σ grid * ceil(block / 32) over a layer's kernels, from the torch
profiler on a GPU) say which describes a device's library; the GA's fitness is
relative, so a global scale factor between model and measurement does not
matter, only the shape of the dependence does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class WarpModel:
    """Warp tile of the launch-shape estimator: ``tm`` pixels x ``tn`` channels, ``wpt`` warps."""

    tm: int = 32
    tn: int = 1
    wpt: int = 1

    def __post_init__(self) -> None:
        for name in ("tm", "tn", "wpt"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"warp model {name}={v!r} is not allowed: it must be an integer >= 1")

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.tm, self.tn, self.wpt)

    @classmethod
    def of(cls, value: "WarpModel | Sequence[int] | str | None") -> "WarpModel":
        """A WarpModel from itself, a (tm, tn, wpt) triple, a preset name or None (the default)."""
        if value is None:
            return cls()
        if isinstance(value, WarpModel):
            return value
        if isinstance(value, str):
            if value not in PRESETS:
                raise ValueError(f"warp_model={value!r} is not allowed: expected one of {', '.join(PRESETS)} or (tm, tn, wpt)")
            return PRESETS[value]
        try:
            tm, tn, wpt = value
        except (TypeError, ValueError):
            raise ValueError(f"warp_model={value!r} is not allowed: expected (tm, tn, wpt) or one of {', '.join(PRESETS)}") from None
        return cls(tm, tn, wpt)


PRESETS = {
    "direct": WarpModel(32, 1, 1),        # one thread per output element
    "igemm128": WarpModel(128, 128, 8),   # 128x128 implicit-GEMM CTA, 8 warps
    "igemm64": WarpModel(64, 64, 4),      # 64x64 implicit-GEMM CTA, 4 warps
}
DEFAULT_WARP_MODEL = PRESETS["direct"]


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def conv_macs(batch: int, hout: int, wout: int, cin: int, cout: int, kh: int, kw: int, groups: int = 1) -> int:
    """MACs = batch * Hout * Wout * Cout * (Cin / groups) * Kh * Kw."""
    return batch * hout * wout * cout * (cin // groups) * kh * kw


def conv_warps(model: WarpModel, batch: int, hout: int, wout: int, cout: int, groups: int = 1) -> int:
    """Warps the estimator assigns to a conv layer's launch (see the module docstring)."""
    return groups * _ceil_div(cout // groups, model.tn) * _ceil_div(batch * hout * wout, model.tm) * model.wpt


def decode(gene: int, upper: int) -> int:
    """A gene's value is a channel count: 0 decodes to 1, values above ``upper`` clamp to it."""
    return min(1 if gene == 0 else int(gene), upper)


def chain_totals(*, batch: int, h: int, w: int, kernels: Sequence[tuple[int, int]], chain: Sequence[int],
                 warp_model: WarpModel = DEFAULT_WARP_MODEL) -> tuple[int, int]:
    """(MACs, warps) of a synthetic group: stride-1 SAME convs; ``chain`` = [input channels, filters...]."""
    macs = warps = 0
    for i, (kh, kw) in enumerate(kernels):
        macs += conv_macs(batch, h, w, chain[i], chain[i + 1], kh, kw)
        warps += conv_warps(warp_model, batch, h, w, chain[i + 1])
    return macs, warps


def fitness(macs: float, warps: float, macs_real: float, warps_real: float) -> float:
    """0.5 |MAC - MAC_real| / MAC_real + 0.5 |WP - WP_real| / WP_real."""
    return 0.5 * abs(float(macs) - macs_real) / macs_real + 0.5 * abs(float(warps) - warps_real) / warps_real
