"""Run synthetic models as benchmarks, and measure how well they stand in for the real layers.

``run_model(model)`` times the synthetic CNN's forward pass with the native
timing engine (``aimatrix.timing.measure``) through torch and returns a Result
(op ``"synth"``). ``fidelity(model, workload)`` times, per group, the synthetic
convs and the real convs they stand for (each conv alone, same device and
dtype) and reports the relative error. ``run_synth`` is the CLI pipeline:
profile -> cluster -> synthesize -> run, printing the group table.

``backend="native"`` times the synthetic convs alone, back to back through the
native conv runner (``aimatrix.micro.conv_chain``: cuDNN on a GPU, the CPU conv
on the CPU), each verified first.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Sequence

from .. import _check, run_options, timing
from ..device import resolve
from ..results.result import Result
from ..run_options import Run
from .cluster import Group
from .emit import example_input, layer_specs, to_torch
from .workload import Layer, Workload

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..run_options import RunOptions
    from .synthesize import SyntheticModel

DTYPES = ("fp32", "fp16", "bf16")
BACKENDS = ("torch", "torch-graph", "native")


def _torch_dtype(dtype: str):
    import torch

    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]


def _env(dev) -> dict:
    try:
        from ..system.env import environment

        return environment(dev)
    except Exception:  # the environment is informative; never fail a run for it
        return {}


def _run_native(model: SyntheticModel, *, dev, dtype: str, batch: int, channels_last: bool, how: Run) -> Result:
    """The synthetic convs alone, back to back through the native conv runner (cuDNN on a GPU, our
    im2col + sgemm on the CPU): ``aimatrix.micro.conv_chain``. Batch norm, ReLU and pooling are
    left out: they are the framework's, not the convolution's, work."""
    from ..micro.conv import conv_chain

    layers = [
        {
            "n": batch,
            "c": x["cin"],
            "h": x["h"],
            "w": x["w"],
            "k": x["cout"],
            "r": x["kh"],
            "s": x["kw"],
            "stride": x["stride"],
            "pad": (x["kh"] // 2, x["kw"] // 2),
        }
        for x in layer_specs(model)
    ]
    layout = "nhwc" if channels_last else "nchw"
    return conv_chain(
        layers,
        dtype=dtype,
        layout=layout,
        device=dev,
        seed=how.seed,
        mode=how.mode,
        telemetry=how.telemetry,
        **how.timing,
    )


def _run_torch(
    model: SyntheticModel,
    *,
    dev,
    dtype: str,
    backend: str,
    batch: int,
    channels_last: bool,
    how: Run,
) -> tuple[dict, dict, dict]:
    """The whole module through a macro torch backend (eager or CUDA graph), checked first against
    its fp32 forward: (measurement, verify, seconds spent before timing as the models report them)."""
    import torch

    from ..macro import _guard, backends, verify
    from ..macro.backends.base import bare_case, flat

    tdev = torch.device(f"cuda:{dev.index}" if dev.is_cuda else "cpu")
    with _guard.errors(f"synthetic model ({dtype}, {backend})", dev), _guard.precision(dtype, dev):
        t0 = time.perf_counter()
        m = to_torch(model, seed=how.seed).to(tdev).eval()
        x = example_input(model, batch=batch, seed=how.seed, device=tdev, dtype=torch.float32)
        t1 = time.perf_counter()
        with _guard.precision("fp32", dev, autotune=False), torch.inference_mode():
            ref = [flat(m(x))]
        t2 = time.perf_counter()
        case = bare_case("synthetic", m, (x,), dtype=dtype, device=dev, batch=batch, channels_last=channels_last)
        be = backends.get(backend)
        be.check(case)
        prep = be.prepare(case)
        ver = verify.compare(prep.collect(), ref, dtype)
        t3 = time.perf_counter()
        raw = how.measure(prep.run, dev, prep.stream)
    return raw, ver, {"build_s": t1 - t0, "reference_s": t2 - t1, "prepare_s": t3 - t2}


def run_model(
    model: SyntheticModel,
    *,
    dtype: str = "fp32",
    backend: str = "torch",
    batch: int | None = None,
    channels_last: bool = False,
    **options: Unpack[RunOptions],
) -> Result:
    """Time one forward pass of the synthetic CNN; returns a Result (op ``"synth"``), verified first.

    ``backend``: ``torch`` (the whole module: convs, batch norm, ReLU, pooling), ``torch-graph``
    (the same replayed as one CUDA graph: no launch overhead, so the GPU's time rather than the
    host's) or ``native`` (the convs alone through the native conv runner; NHWC when ``channels_last``).
    ``options``: the run options (``device``, ``mode``, ``seed``, ``telemetry``, the timing options), see
    ``aimatrix.RunOptions``.
    """
    how = run_options.check(options)
    _check.choice("dtype", dtype, DTYPES)
    _check.choice("backend", backend, BACKENDS)
    dev = resolve(how.device)
    b = model.batch if batch is None else _check.positive_int("batch", batch)
    macs = model.macs * b // model.batch
    params = {
        "model": "synthetic",
        "groups": [g.center for g in model.groups],
        "convs": model.conv_count,
        "batch": b,
        "macs": macs,
        "channels_last": channels_last,
        "fitness_error": {str(g.center): g.fitness_error for g in model.groups},
        "models": model.models,
    }
    differs: dict[str, Any]  # what the two backends' Results do not share
    if backend != "native":
        raw, ver, phases = _run_torch(
            model,
            dev=dev,
            dtype=dtype,
            backend=backend,
            batch=b,
            channels_last=channels_last,
            how=how,
        )
        differs = dict(measurement=raw, flops=2.0 * macs, verify=ver, extra_metrics=phases, env=_env(dev))
    else:
        native = _run_native(model, dev=dev, dtype=dtype, batch=b, channels_last=channels_last, how=how)
        params.update(
            ops="convs only",
            algo=native.ran.get("algo"),
            repeat=native.ran.get("repeat"),
            timer=native.ran.get("timer"),
        )
        differs = dict(
            measurement={"stats": native.stats},
            flops=native.metrics["flops"],
            verify=native.verify,
            env=native.env,
            telemetry=native.telemetry,
        )
    return Result.from_measurement(
        "synth", params, backend=backend, dtype=dtype, device=str(dev), items=float(b), **differs
    )


# -- fidelity ---------------------------------------------------------------------------
def _conv_time(shape: tuple, *, dev, dtype: str, seed: int, cache: dict, **timing_options: Any) -> float:
    """Median ms of one conv (cin, cout, kh, kw, stride, pad, dil, groups, batch, h, w, same)."""
    if shape in cache:
        return cache[shape]
    import torch
    from torch import nn

    cin, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups, batch, h, w, same = shape
    tdev = torch.device(f"cuda:{dev.index}" if dev.is_cuda else "cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        conv = nn.Conv2d(cin, cout, (kh, kw), (sh, sw), "same" if same else (ph, pw), (dh, dw), groups, bias=False)
    conv = conv.to(device=tdev, dtype=_torch_dtype(dtype)).eval()
    x = torch.randn(batch, cin, h, w, generator=torch.Generator().manual_seed(seed)).to(tdev, _torch_dtype(dtype))

    def fwd() -> None:
        with torch.inference_mode():
            conv(x)

    saved = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # fp32 is IEEE fp32, as in aimatrix.model (TF32 is its own dtype)
    try:
        _verify_conv(conv, x, dtype, shape)
        ms = timing.measure(fwd, device=dev, **timing_options).median_ms
    finally:
        torch.backends.cudnn.allow_tf32 = saved
    cache[shape] = ms
    return ms


# relative Frobenius error allowed against the float64 reference, per dtype (aimatrix.macro.verify's)
CONV_TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2, "bf16": 8e-2}


def _verify_conv(conv, x, dtype: str, shape: tuple) -> None:
    """The conv's output for the batch's first image against float64 on the same device (VerificationError)."""
    import torch

    from ..errors import VerificationError

    with torch.inference_mode():
        got = conv(x[:1]).double()
        ref = torch.nn.functional.conv2d(
            x[:1].double(), conv.weight.double(), None, conv.stride, conv.padding, conv.dilation, conv.groups
        )
    err = ((got - ref).norm() / ref.norm().clamp_min(1e-300)).item()
    if not err <= CONV_TOLERANCE[dtype]:
        raise VerificationError(
            f"conv {shape} in {dtype}: relative error {err:.3g} against float64 is over {CONV_TOLERANCE[dtype]}"
        )


def synthetic_shape(x: dict) -> tuple:
    """_conv_time's shape of a synthetic layer (a SyntheticGroup.layers() entry): a SAME conv."""
    kh, kw, s = x["kh"], x["kw"], x["stride"]
    return (x["cin"], x["cout"], kh, kw, s, s, kh // 2, kw // 2, 1, 1, 1, x["batch"], x["h"], x["w"], s == 1)


def _real_shape(x: Layer) -> tuple:
    """_conv_time's shape of a real conv: its shape with the batch after the groups, and explicit padding."""
    shape = x.conv_shape()
    return (*shape[:11], x.batch, *shape[11:], False)


def fidelity(
    model: SyntheticModel,
    workload: Workload | Sequence[Group],
    *,
    device: str = "auto",
    dtype: str = "fp32",
    seed: int = 0,
    batch: int | None = None,
    cache: dict | None = None,
    **timing_options: Any,
) -> list[dict]:
    """Per group: measured time of the synthetic convs vs the real convs they stand for.

    Each conv is timed alone (torch, same device and dtype; ``batch``: both at this batch instead of the
    synthesis'). Rows: ``center``, ``real_ms``, ``synth_ms``, ``error`` ((synth - real) / real), plus a
    final ``"all"`` row. ``cache``: a dict of conv times to share between calls of one device and dtype.
    """
    _check.choice("dtype", dtype, DTYPES)
    if batch is not None:
        batch = _check.positive_int("batch", batch)
    dev = resolve(device)
    if isinstance(workload, Workload):
        by_name = {f"{x.model}/{x.name}": x for x in workload}
    else:
        by_name = {f"{x.model}/{x.name}": x for g in workload for x in g.layers}
    cache = {} if cache is None else cache

    def at(shape: tuple) -> tuple:  # the shape at the requested batch
        return shape if batch is None else shape[:11] + (batch,) + shape[12:]

    rows = []
    for g in model.groups:
        missing = [n for n in g.real_layers if n not in by_name]
        if missing:
            raise ValueError(f"group {g.center}: the workload lacks the real layer(s) {', '.join(missing[:3])}")
        real = sum(
            _conv_time(at(_real_shape(by_name[n])), dev=dev, dtype=dtype, seed=seed, cache=cache, **timing_options)
            for n in g.real_layers
        )
        syn = sum(
            _conv_time(at(synthetic_shape(x)), dev=dev, dtype=dtype, seed=seed, cache=cache, **timing_options)
            for x in g.layers()
        )
        rows.append(
            {
                "center": g.center,
                "real_layers": len(g.real_layers),
                "synth_layers": len(g.filters),
                "real_ms": real,
                "synth_ms": syn,
                "error": (syn - real) / real if real > 0 else float("nan"),
            }
        )
    tr, ts = sum(r["real_ms"] for r in rows), sum(r["synth_ms"] for r in rows)
    rows.append(
        {
            "center": "all",
            "real_layers": sum(r["real_layers"] for r in rows),
            "synth_layers": sum(r["synth_layers"] for r in rows),
            "real_ms": tr,
            "synth_ms": ts,
            "error": (ts - tr) / tr if tr > 0 else float("nan"),
        }
    )
    return rows
