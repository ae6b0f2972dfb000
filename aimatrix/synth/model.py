"""The StatsNet workload model: MACs and warps of a convolution layer.

This mirrors ``csrc/synth/model.hpp`` exactly (same integers): the native GA and
the numpy reference both evaluate synthetic layers with these formulas, and the
profiler uses them for real layers when no GPU measures the warps.

MACs of a convolution (a fully connected layer is a 1x1 conv on a 1x1 input)::

    MACs = batch * Hout * Wout * Cout * (Cin / groups) * Kh * Kw

A synthetic layer is a SAME conv (groups 1) reading its group's input size
H x W: stride 1 (or, for a group's last layer when the real group downsamples, stride
s with a ceil(H/s) x ceil(W/s) output), so ``MACs = batch * Hout * Wout * Cout * Cin * Kh * Kw``
with ``Cin`` the previous synthetic layer's filter count (for a group's first layer: the previous group's
last filter count, 3 for the image).

Warps -- the analytic launch-shape estimator. Per filter class (1x1, 3x3,
5x5, other), a :class:`WarpModel` describes cuDNN's launch as an implicit GEMM
of ``M = batch*Hout*Wout`` rows, ``N = Cout/groups`` columns and depth
``K = (Cin/groups)*Kh*Kw``, per channel group::

    tiles = ceil(M / tm) * ceil(N / tn)                      # CTA tiles, wpt warps each
    split = max(1, min(ceil(ctas / tiles), ceil(K / kc)))    # split-K while the grid is small
    warps = groups * tiles * split * wpt
          + [split > 1] * (reduce == 1: 4 * ceil(M*N*groups / 512);          # split-K reduction kernel
                           reduce == 2: 4 * ceil(M*N*groups*split / 512))
          + bias * 4 * ceil(M*N*groups / 512)                                 # elementwise epilogue kernel

The default, :data:`H100`, is that family fitted (grid search over tile shapes,
split targets and extra kernels, per filter class) to the warps measured on an
H100 (fp32, cuDNN 9.19, torch 2.11; AlexNet/VGG16/GoogLeNet convs at 224,
batch 1; ``data/h100_measured_warps.csv``). Its error against those 75 layers
(``tests/test_synth.py::test_estimator_error_against_h100``)::

    per layer |error|: median 17.3 %, mean 22.2 %, max 120 %
        (old direct model (32, 1, 1): 53.9 % / 60.8 % / 97 % unscaled; 41 % / 69 % / 257 % after its best scale)
    per group total:   224 -2.3 %, 112 +13.8 %, 56 +19.5 %, 28 -34.6 %, 14 -26.3 %, 7 +10.7 %

(no scale factor: the fitted model predicts warps, not just their shape). The
worst layers are those where cuDNN's heuristics switch algorithm (GoogLeNet's
5x5 32->64 at 14x14: 6564 measured warps, 1288 predicted; AlexNet's grouped
3x3 at 13x13; VGG16's 512-channel 3x3s at 28 and 14, -50 %, which drive the
28 and 14 group totals). The bias term assumes the conv has a bias (the classic
models do; the synthetic convs are emitted with bias=True so they launch the
same epilogue kernel). ``(tm, tn, wpt) = (32, 1, 1)``, the old "direct" preset, is one
thread per output element.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

CLASSES = ("1x1", "3x3", "5x5", "other")


def kernel_class(kh: int, kw: int, stride: int = 1) -> str:
    """The filter class of a conv for the launch model: 1x1, 3x3 (stride 1), 5x5, other."""
    if kh == kw == 1:
        return "1x1"
    if kh == kw == 3 and stride == 1:
        return "3x3"
    if kh == kw == 5:
        return "5x5"
    return "other"


@dataclass(frozen=True)
class WarpModel:
    """Launch shape of one filter class (see the module docstring)."""

    tm: int = 32
    tn: int = 1
    wpt: int = 1
    ctas: int = 1
    kc: int = 1
    reduce: int = 0
    bias: int = 0

    def __post_init__(self) -> None:
        for name in ("tm", "tn", "wpt", "ctas", "kc"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"warp model {name}={v!r} is not allowed: it must be an integer >= 1")
        if self.reduce not in (0, 1, 2) or self.bias not in (0, 1):
            raise ValueError(
                f"warp model reduce={self.reduce!r}, bias={self.bias!r} is not allowed: reduce 0..2, bias 0..1"
            )

    def as_tuple(self) -> tuple:
        return (self.tm, self.tn, self.wpt, self.ctas, self.kc, self.reduce, self.bias)

    def for_kernel(self, kh: int, kw: int, stride: int = 1) -> "WarpModel":
        return self

    def to_json(self) -> list:
        return list(self.as_tuple())

    @classmethod
    def of(cls, value: Any) -> "WarpModel | LaunchModel":
        """A launch model from itself, a (tm, tn, wpt[, ctas, kc, reduce, bias]) tuple, a {class: tuple} dict,
        a preset name or None (the default, :data:`H100`)."""
        if value is None:
            return DEFAULT_WARP_MODEL
        if isinstance(value, (WarpModel, LaunchModel)):
            return value
        if isinstance(value, str):
            if value not in PRESETS:
                raise ValueError(
                    f"warp_model={value!r} is not allowed: expected one of {', '.join(PRESETS)} or (tm, tn, wpt)"
                )
            return PRESETS[value]
        if isinstance(value, dict):
            return LaunchModel({k: cls.of(v) for k, v in value.items()})
        try:
            t = tuple(value)
        except TypeError:
            raise ValueError(
                f"warp_model={value!r} is not allowed: expected (tm, tn, wpt) or one of {', '.join(PRESETS)}"
            ) from None
        if len(t) not in (3, 7):
            raise ValueError(
                f"warp_model={value!r} is not allowed: expected (tm, tn, wpt) or (tm, tn, wpt, ctas, kc, reduce, bias)"
            )
        return cls(*t)


class LaunchModel:
    """One :class:`WarpModel` per filter class (``1x1``, ``3x3``, ``5x5``, ``other``)."""

    def __init__(self, models: dict) -> None:
        bad = set(models) - set(CLASSES)
        if bad or "other" not in models:
            raise ValueError(
                f"a launch model needs WarpModels for classes {CLASSES} ('other' at least), got {sorted(models)}"
            )
        self.models = {k: (v if isinstance(v, WarpModel) else WarpModel.of(v)) for k, v in models.items()}

    def for_kernel(self, kh: int, kw: int, stride: int = 1) -> WarpModel:
        return self.models.get(kernel_class(kh, kw, stride), self.models["other"])

    def to_json(self) -> dict:
        return {k: list(v.as_tuple()) for k, v in self.models.items()}

    def as_tuple(self) -> tuple:
        return tuple((k, v.as_tuple()) for k, v in self.models.items())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LaunchModel) and self.models == other.models

    def __hash__(self) -> int:
        return hash(self.as_tuple())

    def __repr__(self) -> str:
        return f"LaunchModel({self.to_json()})"


# Fitted to the H100 measurements (module docstring); (tm, tn, wpt, ctas, kc, reduce, bias) per class.
H100 = LaunchModel(
    {
        "1x1": WarpModel(64, 32, 32, 132, 256, 1, 0),
        "3x3": WarpModel(512, 8, 32, 1056, 128, 0, 1),
        "5x5": WarpModel(512, 8, 8, 132, 32, 1, 1),
        "other": WarpModel(32, 128, 2, 528, 128, 1, 1),
    }
)

PRESETS: dict = {
    "h100": H100,
    "direct": WarpModel(32, 1, 1),  # one thread per output element
    "igemm128": WarpModel(128, 128, 8),  # 128x128 implicit-GEMM CTA, 8 warps
    "igemm64": WarpModel(64, 64, 4),  # 64x64 implicit-GEMM CTA, 4 warps
}
DEFAULT_WARP_MODEL = H100


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def conv_macs(batch: int, hout: int, wout: int, cin: int, cout: int, kh: int, kw: int, groups: int = 1) -> int:
    """MACs = batch * Hout * Wout * Cout * (Cin / groups) * Kh * Kw."""
    return batch * hout * wout * cout * (cin // groups) * kh * kw


def conv_warps(
    model: Any,
    batch: int,
    hout: int,
    wout: int,
    cout: int,
    groups: int = 1,
    *,
    cin: int = 1,
    kh: int = 1,
    kw: int = 1,
    stride: int = 1,
) -> int:
    """Warps the estimator assigns to a conv layer's launch (see the module docstring)."""
    m = WarpModel.of(model).for_kernel(kh, kw, stride)
    M, N, K = batch * hout * wout, cout // groups, (cin // groups) * kh * kw
    tiles = _ceil_div(M, m.tm) * _ceil_div(N, m.tn)
    split = max(1, min(_ceil_div(m.ctas, tiles) if tiles else 1, _ceil_div(K, m.kc)))
    w = groups * tiles * split * m.wpt
    if split > 1 and m.reduce == 1:
        w += 4 * _ceil_div(M * N * groups, 512)
    if split > 1 and m.reduce == 2:
        w += 4 * _ceil_div(M * N * groups * split, 512)
    if m.bias:
        w += 4 * _ceil_div(M * N * groups, 512)
    return w


# -- a group's problem dict (the GA's genes), shared by the native runner's caller and the numpy reference --
def free_positions(prob: dict) -> list[int]:
    """Chain positions that are genes (mirrors Problem::free_positions)."""
    n = len(prob["kernels"])
    pos = [0] if prob.get("cin0_max", 0) > 0 else []
    return pos + [i for i in range(1, n + 1) if i < n or not prob.get("last_fixed", 0)]


def upper(prob: dict, pos: int) -> int:
    """The largest value of the gene at chain position ``pos``."""
    return prob["cin0_max"] if pos == 0 else (1 << prob["bits"]) - 1


def decode(gene: int, upper: int, lower: int = 1) -> int:
    """A gene's value is a channel count: values below ``lower`` decode to it, above ``upper`` clamp to it."""
    return min(max(int(gene), lower), upper)


def layer_models(warp_model: Any, kernels: Sequence[tuple[int, int]]) -> list[WarpModel]:
    """The WarpModel of each synthetic layer (stride-1 convs of the given kernel sizes)."""
    m = WarpModel.of(warp_model)
    return [m.for_kernel(kh, kw, 1) for kh, kw in kernels]


def chain_totals(
    *,
    batch: int,
    h: int,
    w: int,
    kernels: Sequence[tuple[int, int]],
    chain: Sequence[int],
    warp_model: Any = None,
    strides: Sequence[int] | None = None,
) -> tuple[int, int]:
    """(MACs, warps) of a synthetic group: SAME convs reading ``h x w`` (stride 1 unless ``strides`` says
    otherwise; a stride-s layer's output is ceil(h / s) x ceil(w / s)); ``chain`` = [input channels, filters...].
    ``warp_model``: a launch model, or a list of one WarpModel per layer."""
    if isinstance(warp_model, (list, tuple)) and warp_model and isinstance(warp_model[0], (WarpModel, list, tuple)):
        wms = [WarpModel.of(x) for x in warp_model]
    else:
        wms = layer_models(warp_model, kernels)
    strides = list(strides) if strides else [1] * len(kernels)
    macs = warps = 0
    for i, (kh, kw) in enumerate(kernels):
        ho, wo = _ceil_div(h, strides[i]), _ceil_div(w, strides[i])
        macs += conv_macs(batch, ho, wo, chain[i], chain[i + 1], kh, kw)
        warps += conv_warps(wms[i], batch, ho, wo, chain[i + 1], cin=chain[i], kh=kh, kw=kw)
    return macs, warps


def fitness(macs: float, warps: float, macs_real: float, warps_real: float) -> float:
    """0.5 |MAC - MAC_real| / MAC_real + 0.5 |WP - WP_real| / WP_real."""
    return 0.5 * abs(float(macs) - macs_real) / macs_real + 0.5 * abs(float(warps) - warps_real) / warps_real
