"""Convolution micro benchmark: ``aimatrix.conv``.

Backends: ``cudnn`` (cuDNN 9's graph API, as PyTorch uses it: every engine config
the heuristics offer timed, or the heuristics' first; cuDNN's legacy algorithms on
request; the workspace allocated once), ``igemm`` (our implicit-GEMM kernels:
fp32 on CUDA cores, fp16/bf16 on tensor cores; forward, bwd_data at stride 1, and bwd_filter in fp16/bf16 on
Hopper; NHWC), ``cpu`` (im2col +
our OpenMP sgemm, every direction and layout, fp32), ``onednn`` (oneDNN's convolution
primitives on the CPU, every direction and layout, fp32; the ``onednn`` wheel, picked by
``auto`` on a CPU when installed).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Sequence

from .. import _check, _vendor, run_options
from ..results.result import Result
from ..run_options import Run
from ..system.peaks import device_peak_tflops
from . import _run

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..run_options import RunOptions

DTYPES = ("fp32", "tf32", "fp16", "bf16")
LAYOUTS = ("nchw", "nhwc")
DIRECTIONS = ("fwd", "bwd_data", "bwd_filter")
CUDA_BACKENDS = ("cudnn", "igemm")
CPU_BACKENDS = ("cpu", "onednn")
BACKENDS = ("auto",) + CPU_BACKENDS + CUDA_BACKENDS
#: cuDNN algorithm choices (``algo=``). Graph API: "find" (time the engine configs), "heuristic" (the heuristics'
#: order), "engine:N" (engine N) or "engine:N(KNOB=V,...)" (engine N with these knob choices, e.g.
#: "engine:58(WORKSPACE=1)"; knob names as cuDNN's CUDNN_KNOB_TYPE_* or their numbers). Legacy API:
#: "legacy-find", "legacy-heuristic", or a legacy algorithm name (e.g. "IMPLICIT_PRECOMP_GEMM", "WINOGRAD").
ALGOS = ("find", "heuristic", "engine:N", "engine:N(KNOB=V,...)", "legacy-find", "legacy-heuristic")

#: What the cudnn backend records in ``Result.params``: ``api`` ("graph" or "legacy"), ``algo`` ("engine:N" or the
#: legacy name), ``workspace_bytes``, ``algo_find_ms`` (the search's time for one launch) and ``algos_rejected``
#: (candidates that failed verification); graph API: ``engine``, ``knobs`` ("TILE_SIZE=3,STAGES=4"), ``algo_exact``
#: (the ``algo`` that runs this very config again: "engine:N(TILE_SIZE=3,STAGES=4)"), ``notes`` (the
#: engine's numerical notes, e.g. "TENSOR_CORE"), ``behavior`` (its behaviour notes), ``heur`` / ``heur_rank``
#: (which heuristics list offered the config, "A" or "FALLBACK", and where), ``algo_find_count`` (configs timed),
#: ``algo_find_mode`` ("cold": each timed launch followed an L2 flush, as the samples of mode="cold" do; else "hot"),
#: ``configs_declined`` (configs left out, by reason: "numerics=2,rtc=1,finalize=0,workspace=0,execute=0"; rtc:
#: compiled at run time, only run as "engine:N"); legacy API: ``algo_id``, ``math``.


def _pair(name: str, value: Any, *, minimum: int) -> tuple[int, int]:
    """An int or an (h, w) pair of ints, each in minimum..2^31 - 1."""
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(vals) != 2:
        raise ValueError(f"{name}={value!r} is not allowed: expected an integer or a pair (h, w)")
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name}={value!r} is not allowed: it must be an integer or a pair of integers")
        if not minimum <= int(v) <= _check.INT32_MAX:
            raise ValueError(
                f"{name}={value!r} is not allowed: each must be in {minimum}..{_check.INT32_MAX} (2^31 - 1)"
            )
    return int(vals[0]), int(vals[1])


def output_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def conv(
    n: int,
    c: int,
    h: int,
    w: int,
    *,
    k: int,
    r: int,
    s: int | None = None,
    stride: Any = 1,
    pad: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    dtype: str = "fp32",
    layout: str = "nchw",
    direction: str = "fwd",
    backend: str = "auto",
    algo: str = "find",
    **options: Unpack[RunOptions],
) -> Result:
    """Benchmark one 2-D convolution (cross-correlation, as cuDNN and PyTorch compute it).

    x is [n, c, h, w] (or NHWC), the filter [k, c/groups, r, s], the output
    [n, k, ho, wo]; ``direction`` is ``fwd`` (y from x and w), ``bwd_data`` (dx from
    dy and w) or ``bwd_filter`` (dw from x and dy). FLOPs = 2·N·K·Ho·Wo·(C/groups)·R·S
    in each direction. Inputs are random (seeded, drawn in fp32 and rounded); the
    output is checked against a float64 reference on sampled elements before timing.
    ``algo`` (cudnn only), through cuDNN's graph API: ``find`` (time up to 24 engine
    configs of the heuristics, mode A then FALLBACK; take the fastest that verifies),
    ``heuristic`` (mode A's order, untimed), ``engine:N`` (engine N's configs; the
    only way to engines compiled at run time, which take seconds to build) or
    ``engine:N(KNOB=V,...)`` (only the configs of engine N that make these knob
    choices; a Result's ``ran["algo_exact"]`` names its config so, to time the very
    same config again, in a later run or another program);
    through the legacy API: ``legacy-find`` (cudnnFind*AlgorithmEx), ``legacy-heuristic``
    or an algorithm name such as ``IMPLICIT_PRECOMP_GEMM``. fp32 never runs on tensor
    cores (no TF32); tf32 may. What ran (the algorithm or engine config chosen) is in the Result's ``ran``.
    ``options``: the run options (``device``, ``mode``, ``seed``, ``telemetry``, the timing options), see
    ``aimatrix.RunOptions``.
    """
    how = run_options.check(options)
    layer = dict(n=n, c=c, h=h, w=w, k=k, r=r, s=s, stride=stride, pad=pad, dilation=dilation, groups=groups)
    spec, shape = _spec(layer, dtype=dtype, layout=layout, direction=direction, seed=how.seed)
    params = {k_: v for k_, v in spec.items() if k_ not in ("dtype", "seed")}
    params.update(ho=shape["ho"], wo=shape["wo"])
    return _run_specs([spec], [shape], params, dtype=dtype, backend=backend, algo=algo, how=how)


def conv_chain(
    layers: Sequence[dict],
    *,
    dtype: str = "fp32",
    layout: str = "nhwc",
    backend: str = "auto",
    algo: str = "find",
    **options: Unpack[RunOptions],
) -> Result:
    """Benchmark forward convolutions run back to back, as one sample: a network's conv layers.

    ``layers``: dicts with ``conv``'s shape arguments (``n, c, h, w, k, r`` and optionally
    ``s, stride, pad, dilation, groups``). Each layer has its own random inputs and is
    verified on its own before the chain is timed; the time of one sample is the whole
    chain's (CUDA: one graph of every layer's kernels). ``params`` holds the layer count and
    each layer's algorithm (``algo``, ';'-separated); FLOPs are the layers' sum. ``options``: the
    run options, as ``conv``'s (layer i's inputs are seeded ``seed + i``).
    """
    how = run_options.check(options)
    if isinstance(layers, dict) or not isinstance(layers, Sequence) or not layers:
        raise ValueError(f"layers={layers!r} is not allowed: expected a non-empty list of conv shape dicts")
    specs, shapes = [], []
    for i, x in enumerate(layers):
        if not isinstance(x, dict):
            raise TypeError(f"layers[{i}]={x!r} is not allowed: expected a dict of conv shape arguments")
        unknown = set(x) - _LAYER_KEYS
        if unknown:
            raise ValueError(f"layers[{i}] has unknown key(s) {sorted(unknown)}: allowed are {sorted(_LAYER_KEYS)}")
        missing = {"n", "c", "h", "w", "k", "r"} - set(x)
        if missing:
            raise ValueError(f"layers[{i}] lacks {sorted(missing)}")
        try:
            sp, sh = _spec(x, dtype=dtype, layout=layout, direction="fwd", seed=how.seed + i)
        except (TypeError, ValueError) as e:
            raise type(e)(f"layers[{i}]: {e}") from None
        specs.append(sp)
        shapes.append(sh)
    params = {
        "layers": len(specs),
        "layout": layout,
        "direction": "fwd",
        "shapes": [
            f"{sp['n']}x{sp['c']}x{sp['h']}x{sp['w']} k{sp['k']} {sp['r']}x{sp['s']}/{sp['stride_h']}" for sp in specs
        ],
    }
    return _run_specs(specs, shapes, params, dtype=dtype, backend=backend, algo=algo, how=how)


_LAYER_KEYS = {"n", "c", "h", "w", "k", "r", "s", "stride", "pad", "dilation", "groups"}


#: ``conv``'s defaults of the optional shape arguments (``s`` None: as ``r``).
_LAYER_DEFAULTS: dict[str, Any] = {"s": None, "stride": 1, "pad": 0, "dilation": 1, "groups": 1}


def _spec(layer: dict, *, dtype: str, layout: str, direction: str, seed: int) -> tuple[dict, dict]:
    """The native runner's spec of one conv (``layer``: ``conv``'s shape arguments, ``_LAYER_KEYS``), validated,
    and its output size, FLOPs and bytes."""
    x = {**_LAYER_DEFAULTS, **layer}
    # Each dimension within 32 bits (as cuDNN's legacy API takes them), their products within 64 (below).
    n, c, h, w, k, r = (
        _check.positive_int(nm, x[nm], maximum=_check.INT32_MAX) for nm in ("n", "c", "h", "w", "k", "r")
    )
    s = r if x["s"] is None else _check.positive_int("s", x["s"], maximum=_check.INT32_MAX)
    groups = _check.positive_int("groups", x["groups"], maximum=_check.INT32_MAX)
    (sh, sw), (ph, pw), (dh, dw) = (
        _pair("stride", x["stride"], minimum=1),
        _pair("pad", x["pad"], minimum=0),
        _pair("dilation", x["dilation"], minimum=1),
    )
    _check.choice("dtype", dtype, DTYPES)
    _check.choice("layout", layout, LAYOUTS)
    _check.choice("direction", direction, DIRECTIONS)
    seed = _check.non_negative_int("seed", seed)
    if c % groups or k % groups:
        raise ValueError(f"groups={groups} is not allowed: it must divide both c={c} and k={k}")
    ho, wo = output_size(h, r, sh, ph, dh), output_size(w, s, sw, pw, dw)
    if ho < 1 or wo < 1:
        raise ValueError(
            f"filter {r}x{s} (dilation {dh}x{dw}) is larger than the padded input {h + 2 * ph}x{w + 2 * pw}: "
            f"the output would be {ho}x{wo}"
        )
    size, cg, kg = 4 if dtype in ("fp32", "tf32") else 2, c // groups, k // groups
    for expr, factors in (
        ("n*c*h*w", (n, c, h, w)),
        ("k*(c/groups)*r*s", (k, cg, r, s)),
        ("n*k*ho*wo", (n, k, ho, wo)),
        ("ho*wo*(c/groups)*r*s", (ho, wo, cg, r, s)),
    ):  # the last: the CPU's im2col buffer
        _check.count(expr, *factors, itemsize=size)
    # What the CPU runner allocates (fp32): the three tensors and, per group, im2col's buffer, the output's and the
    # filters' scratch (and an accumulator for bwd_filter).
    cpu_elems = (
        n * c * h * w
        + k * cg * r * s
        + n * k * ho * wo
        + ho * wo * (cg * r * s + kg)
        + kg * cg * r * s * (2 if direction == "bwd_filter" else 1)
    )
    spec = dict(
        n=n,
        c=c,
        h=h,
        w=w,
        k=k,
        r=r,
        s=s,
        stride_h=sh,
        stride_w=sw,
        pad_h=ph,
        pad_w=pw,
        dil_h=dh,
        dil_w=dw,
        groups=groups,
        dtype=dtype,
        layout=layout,
        direction=direction,
        seed=seed,
    )
    shape = {
        "ho": ho,
        "wo": wo,
        "flops": 2.0 * n * k * ho * wo * (c // groups) * r * s,
        "bytes": conv_bytes(n, c, h, w, k, r, s, ho, wo, groups, dtype, direction),
        "cpu_bytes": 4 * cpu_elems,
    }
    return spec, shape


def _run_specs(
    specs: list[dict], shapes: list[dict], params: dict, *, dtype: str, backend: str, algo: str, how: Run
) -> Result:
    """Run one conv or a chain through the device's native runner; the Result."""
    if not isinstance(algo, str) or not algo:
        raise TypeError(
            f"algo={algo!r} is not allowed: expected one of {', '.join(ALGOS)} or a cuDNN legacy algorithm name"
        )
    dev, backend = _run.resolve_backend("conv", backend, how.device, CUDA_BACKENDS, "cudnn", CPU_BACKENDS)
    if not dev.is_cuda:
        _check.host_memory(
            "cpu conv" if len(specs) == 1 else f"cpu conv chain of {len(specs)} layers",
            sum(x["cpu_bytes"] for x in shapes),
        )
    cold, opts = how.cold, how.timing
    arg = specs[0] if len(specs) == 1 else specs
    ran = _run.run(
        dev,
        how,
        what="conv",
        cuda_call=lambda m: m.conv(dev.index, backend, algo, arg, cold, opts),
        cpu_call=lambda m: m.conv(
            arg, cold, opts, backend=backend, library="" if backend == "cpu" else _vendor.path(backend)
        ),
    )
    params = dict(params)
    if backend == "cudnn":
        params["algo_choice"] = algo
    return ran.result(
        "conv",
        params,
        dtype=dtype,
        flops=sum(x["flops"] for x in shapes),
        bytes=sum(x["bytes"] for x in shapes),
        peak_tflops=device_peak_tflops(dev, dtype),
    )


def conv_bytes(
    n: int, c: int, h: int, w: int, k: int, r: int, s: int, ho: int, wo: int, groups: int, dtype: str, direction: str
) -> float:
    """Fewest bytes moved: both inputs read once, the output written once."""
    x, wt, y = n * c * h * w, k * (c // groups) * r * s, n * k * ho * wo
    size = 4 if dtype in ("fp32", "tf32") else 2
    return float(size * (x + wt + y))
