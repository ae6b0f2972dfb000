"""``layer()``: one layer benchmark (verified, then timed) and ``run_layers()``: a sweep."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import torch

from .. import _check, run_options
from ..device import resolve
from ..errors import UnsupportedError, VerificationError
from ..macro import _guard, backends, verify
from ..macro.backends.base import DTYPES, TORCH_DTYPE, ModelCase, bare_case, cast_floats, flat, torch_result
from ..results.result import Result
from .catalog import catalog
from .ops import LAYERS, NAMES

#: Layers run through these macro backends (ONNX/TensorRT/TensorFlow are for whole models).
LAYER_BACKENDS = ("torch", "torch-compile", "torch-graph")
_BYTES = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2}


def _shape(name: str, shape: dict) -> dict:
    d = LAYERS[name].defaults
    unknown = sorted(set(shape) - set(d))
    if unknown:
        raise TypeError(f"layer {name!r} has no shape parameter {unknown[0]!r}: expected {', '.join(d)}")
    out = dict(d)
    for k, v in shape.items():
        if isinstance(d[k], bool):
            out[k] = _check.boolean(k, v)
        elif isinstance(d[k], str):
            out[k] = _check.choice(k, v, LAYERS[name].choices[k])
        elif isinstance(d[k], float):
            out[k] = _check.number(k, v, minimum=0.0)
        elif k in ("pad", "kv_heads"):  # kv_heads 0: as many as heads
            out[k] = _check.non_negative_int(k, v)
        else:
            out[k] = _check.positive_int(k, v)
    return out


def layer(
    name: str,
    *,
    dtype: str = "fp32",
    backend: str = "torch",
    train: bool = False,
    channels_last: bool | None = None,
    **shape_and_options: Any,
) -> Result:
    """Benchmark one layer (``aimatrix.layers.NAMES``) at a shape; unspecified dimensions take the defaults.

    Shape keywords depend on the layer (e.g. ``conv_bn_relu``: n, c, h, w, k, r,
    stride, pad, groups; ``lstm``: n, seq, input, hidden, layers); the rest are
    run options (``device``, ``mode``, ``seed``, ``telemetry``, the timing options: ``aimatrix.RunOptions``).
    ``train=True`` times forward + backward (backend ``torch``
    only; FLOPs then count 3x the forward's). The output is checked against the
    fp32 eager layer on the same inputs first (``Result.verify``).
    """
    if name not in LAYERS:
        raise ValueError(f"layer={name!r} is not allowed: known layers are {', '.join(NAMES)}")
    how = run_options.check({k: shape_and_options.pop(k) for k in list(shape_and_options) if k in run_options.NAMES})
    s = _shape(name, shape_and_options)
    _check.choice("dtype", dtype, DTYPES)
    _check.choice("backend", backend, LAYER_BACKENDS)
    train = _check.boolean("train", train)
    if train and backend != "torch":
        raise UnsupportedError(f"train=True runs on backend='torch' only, not {backend!r}")
    dev = resolve(how.device)
    be = backends.get(backend)
    d = LAYERS[name]
    cl = (name in ("conv_bn_relu", "maxpool", "avgpool", "batchnorm")) if channels_last is None else channels_last
    tdev = torch.device(str(dev))
    what = f"layer {name} {s} ({dtype}, {backend})"
    with _guard.errors(what, dev), _guard.precision(dtype, dev):
        chosen = d.check(s, TORCH_DTYPE[dtype], tdev) if d.check else {}  # refusals before building anything
        g = torch.Generator().manual_seed(how.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(how.seed)
            module = d.build(s).to(tdev).eval()
        inputs = tuple(t.to(tdev) for t in d.inputs(s, g))
        with _guard.precision("fp32", dev, autotune=False), torch.inference_mode():
            ref = [flat((d.reference(module) if d.reference else module)(*inputs))]
        case = bare_case(name, module, inputs, dtype=dtype, device=dev, batch=s.get("n", 1), channels_last=cl)
        be.check(case)
        prep = _train_prepared(case) if train else be.prepare(case)
        ver = verify.compare(prep.collect(), ref, dtype)
        if not ver["passed"] and dtype == "fp32":
            raise VerificationError(f"{what}: output differs from the reference: rel_error {ver['rel_error']:.3g}")
        m = how.measure(prep.run, dev, prep.stream)
    flops = d.flops(s)
    if flops is not None and train:
        flops *= 3.0  # backward = two forward-sized products (input and weight gradients)
    params = {"layer": name, **s, **chosen, "train": train, "channels_last": cl, "seed": how.seed, "mode": how.mode}
    return torch_result(
        "layer",
        params,
        dev,
        m,
        backend=backend,
        dtype=dtype,
        flops=flops,
        bytes=d.elements(s) * _BYTES[dtype] * (2.0 if train else 1.0),
        verify=ver,
    )


def _train_prepared(case: ModelCase) -> backends.Prepared:
    """Forward + backward of the layer in train mode, parameters and float inputs requiring grad."""
    dt = TORCH_DTYPE[case.dtype]
    module = case.module.to(dt).train()
    if case.channels_last:
        module = module.to(memory_format=torch.channels_last)
    inputs = [cast_floats(t, dt, case.channels_last).detach() for t in case.steps[0]]
    for t in inputs:
        if t.is_floating_point():
            t.requires_grad_(True)

    def run() -> None:
        out = [t for t in flat(module(*inputs)) if t.is_floating_point()]
        torch.autograd.backward(out, [torch.ones_like(t) for t in out])

    def collect():
        module.eval()
        with torch.no_grad():
            out = flat(module(*inputs))
        module.train()
        return [out]

    return backends.Prepared(run, collect)


def run_layers(
    cases: Iterable[dict] | str | Iterable[str] | None = None,
    dtypes: str | Iterable[str] = ("fp32",),
    backends_: str | Iterable[str] = ("torch",),
    *,
    train: bool = False,
    device: str = "auto",
    **options: Any,
) -> Iterator[Result]:
    """Yield one Result per (case, dtype, backend), through the suite runner; a failure is a failed Result.

    ``cases``: None for the whole :func:`catalog` (the macro models' shapes), a
    model name's catalogue (``"deepspeech"``), layer names (comma-separated or a
    list; default shapes), or dicts ``{"layer": ..., "shape": {...}}``. Other
    keyword options go to :func:`layer` (timing options, ``seed``, ...).
    """
    entries: list[dict]
    if cases is None:
        entries = catalog()
    elif isinstance(cases, str) and cases in {e["model"] for e in catalog()}:
        entries = catalog(cases)
    else:
        items = [c.strip() for c in cases.split(",")] if isinstance(cases, str) else list(cases)
        entries = [c if isinstance(c, dict) else {"layer": c, "shape": {}} for c in items]
    dts = [x.strip() for x in dtypes.split(",")] if isinstance(dtypes, str) else list(dtypes)
    bes = [x.strip() for x in backends_.split(",")] if isinstance(backends_, str) else list(backends_)
    from ..suite.case import Case
    from ..suite.runner import iter_results

    cases = [
        Case(
            "layer",
            layer,
            (e["layer"],),
            dict(e.get("shape", {}), dtype=dt, backend=be, device=device, train=train, **options),
            arg_names=("layer",),
        )
        for e in entries
        for dt in dts
        for be in bes
    ]
    yield from iter_results(cases, device=str(device))
