"""The monitor: walk models and record every conv and fully connected layer.

``profile(models)`` accepts zoo names (``aimatrix.macro.zoo``), ``torch.nn.Module``
objects and ONNX files, and returns a :class:`~aimatrix.synth.workload.Workload`.
Warps come from the GPU (``warps="measure"``, torch models on a CUDA device) or
from the analytic estimator (``warps="estimate"``); ``"auto"`` measures when the
device is a GPU.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from .. import _check
from .model import WarpModel, conv_macs
from .warps import estimate, measure_torch
from .workload import Layer, Workload

WARPS = ("auto", "estimate", "measure")


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        return (int(v[0]), int(v[-1]))
    return (int(v), int(v))


def _layer(
    model: str,
    name: str,
    kind: str,
    batch: int,
    in_hw,
    cin,
    cout,
    k,
    stride,
    pad,
    groups,
    dil,
    out_hw,
    bias: bool,
    warp_model: WarpModel,
) -> Layer:
    macs = conv_macs(batch, out_hw[0], out_hw[1], cin, cout, k[0], k[1], groups)
    params = cout * (cin // groups) * k[0] * k[1] + (cout if bias else 0)
    rec = Layer(
        model,
        name,
        kind,
        batch,
        in_hw[0],
        in_hw[1],
        cin,
        cout,
        k[0],
        k[1],
        stride[0],
        stride[1],
        pad[0],
        pad[1],
        groups,
        dil[0],
        dil[1],
        out_hw[0],
        out_hw[1],
        macs,
        params,
        0,
        "estimate",
    )
    return _with_warps(rec, estimate(rec, warp_model), "estimate")


def _with_warps(rec: Layer, warps: int, source: str) -> Layer:
    d = rec.to_dict()
    d.update(warps=int(warps), warps_source=source)
    return Layer(**d)


# -- torch ------------------------------------------------------------------------------
def _torch_records(module: Any, x: Any, model: str, warp_model: WarpModel) -> tuple[list[Layer], list[Any]]:
    import torch
    from torch import nn

    names = {m: n for n, m in module.named_modules()}
    recs: list[Layer] = []

    def hook(m, args, out):
        inp = args[0]
        name = names.get(m, type(m).__name__)
        if isinstance(m, nn.Conv2d):
            n, c, h, w = inp.shape
            oh, ow = out.shape[-2:]
            k, s, d = _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation)
            if isinstance(m.padding, str):  # 'same' / 'valid': the padding that gives this output
                p = tuple(
                    max(0, ((o - 1) * st + dd * (kk - 1) + 1 - i) // 2)
                    for o, st, dd, kk, i in zip((oh, ow), s, d, k, (h, w))
                )
            else:
                p = _pair(m.padding)
            recs.append(
                _layer(
                    model,
                    name,
                    "conv",
                    int(n),
                    (int(h), int(w)),
                    int(c),
                    m.out_channels,
                    k,
                    s,
                    p,
                    m.groups,
                    d,
                    (int(oh), int(ow)),
                    m.bias is not None,
                    warp_model,
                )
            )
        else:  # Linear: every leading dimension is batch
            rows = int(math.prod(inp.shape[:-1]))
            recs.append(
                _layer(
                    model,
                    name,
                    "fc",
                    rows,
                    (1, 1),
                    m.in_features,
                    m.out_features,
                    (1, 1),
                    (1, 1),
                    (0, 0),
                    1,
                    (1, 1),
                    (1, 1),
                    m.bias is not None,
                    warp_model,
                )
            )

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            module(x)
    except (RuntimeError, ValueError) as e:
        raise ValueError(f"model {model!r} does not run on a {tuple(x.shape)} input: {e}") from None
    finally:
        for h in handles:
            h.remove()
    return recs, handles


def _build_named(name: str, device: str, size: str = "full") -> Any:
    try:
        from ..macro import zoo
    except ImportError:  # the zoo is not installed: torchvision's definition
        import torchvision

        if not hasattr(torchvision.models, name):
            raise ValueError(f"model={name!r} is not allowed: no model zoo and torchvision has no such model") from None
        import torch

        with torch.device("meta") if device == "meta" else torch.device("cpu"):
            m = getattr(torchvision.models, name)(weights=None)
        return m.to(device).eval()
    return zoo.build(name, size, device=device, calibrate=False)


def _profile_torch(
    module: Any,
    model: str,
    *,
    input_size: int,
    batch: int,
    device: Any,
    warps: str,
    warp_model: WarpModel,
    dtype: str,
    channels: int = 3,
) -> list[Layer]:
    import torch

    params = list(module.parameters())
    dev = params[0].device if params else torch.device("cpu")
    if warps == "measure":
        dev = torch.device(device) if not isinstance(device, torch.device) else device
        module = module.to(dev)
    tdt = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    if warps == "measure":
        module = module.to(tdt)
    x = torch.zeros(
        batch,
        channels,
        input_size,
        input_size,
        device=dev,
        dtype=tdt if warps == "measure" else (params[0].dtype if params else torch.float32),
    )
    recs, _ = _torch_records(module, x, model, warp_model)
    if warps == "measure":
        meas = measure_torch(module, x)
        if len(meas) != len(recs):
            raise RuntimeError(f"{model}: {len(recs)} layers but {len(meas)} profiled ranges")
        recs = [_with_warps(r, m["warps"], "measured") for r, m in zip(recs, meas)]
    return recs


# -- ONNX ---------------------------------------------------------------------------------
def _profile_onnx(path: Path, model: str, *, input_size: int, batch: int, warp_model: WarpModel) -> list[Layer]:
    import onnx
    from onnx import shape_inference

    try:
        proto = onnx.load(str(path))
    except Exception as e:
        raise ValueError(f"{path}: not a readable ONNX model ({e})") from None
    inits = {i.name: i for i in proto.graph.initializer}
    for inp in proto.graph.input:  # fix symbolic dims: batch first, then the image size
        if inp.name in inits:
            continue
        dims = inp.type.tensor_type.shape.dim
        for j, d in enumerate(dims):
            if not d.HasField("dim_value"):
                d.dim_value = batch if j == 0 else (input_size if j >= 2 else 3)
    proto = shape_inference.infer_shapes(proto)
    shapes: dict[str, list[int]] = {}
    for vi in list(proto.graph.value_info) + list(proto.graph.input) + list(proto.graph.output):
        shapes[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    for name, t in inits.items():
        shapes[name] = list(t.dims)

    def attr(node, key, default):
        for a in node.attribute:
            if a.name == key:
                return onnx.helper.get_attribute_value(a)
        return default

    recs = []
    for i, node in enumerate(proto.graph.node):
        lname = node.name or (node.output[0] if node.output else f"node{i}")
        if node.op_type == "Conv":
            xs, ws, ys = shapes.get(node.input[0]), shapes.get(node.input[1]), shapes.get(node.output[0])
            if not xs or not ws or not ys or len(xs) != 4 or 0 in xs + ys:
                raise ValueError(
                    f"{path}: node {lname!r}: the shapes of this Conv are unknown (only 2-D convs are profiled)"
                )
            k = tuple(attr(node, "kernel_shape", ws[2:]))
            s = tuple(attr(node, "strides", [1, 1]))
            d = tuple(attr(node, "dilations", [1, 1]))
            pads = attr(node, "pads", [0, 0, 0, 0])
            recs.append(
                _layer(
                    model,
                    lname,
                    "conv",
                    xs[0],
                    (xs[2], xs[3]),
                    xs[1],
                    ws[0],
                    k,
                    s,
                    (pads[0], pads[1]),
                    int(attr(node, "group", 1)),
                    d,
                    (ys[2], ys[3]),
                    len(node.input) > 2,
                    warp_model,
                )
            )
        elif node.op_type in ("Gemm", "MatMul") and len(node.input) > 1 and node.input[1] in inits:
            ws, xs = shapes[node.input[1]], shapes.get(node.input[0]) or []
            if len(ws) != 2:
                continue
            trans_b = int(attr(node, "transB", 0)) if node.op_type == "Gemm" else 0
            cin, cout = (ws[1], ws[0]) if trans_b else (ws[0], ws[1])
            rows = int(math.prod(xs[:-1])) if len(xs) > 1 and 0 not in xs else batch
            recs.append(
                _layer(
                    model,
                    lname,
                    "fc",
                    rows,
                    (1, 1),
                    cin,
                    cout,
                    (1, 1),
                    (1, 1),
                    (0, 0),
                    1,
                    (1, 1),
                    (1, 1),
                    node.op_type == "Gemm" and len(node.input) > 2,
                    warp_model,
                )
            )
    return recs


# -- public -------------------------------------------------------------------------------
def profile(
    models: Any,
    *,
    input_size: int = 224,
    batch: int = 1,
    device: str = "cpu",
    warps: str = "auto",
    warp_model: Any = None,
    dtype: str = "fp32",
    size: str = "full",
) -> Workload:
    """Record every conv and fully connected layer of ``models``.

    ``models``: a zoo name (``"alexnet"``), a ``torch.nn.Module``, a path to an ONNX
    file, a ``{name: module}`` dict, or a list of these. ``warps``: ``"measure"``
    (GPU profiler; torch models on a CUDA ``device``), ``"estimate"`` (analytic
    model ``warp_model``, see :mod:`aimatrix.synth.model`), ``"auto"`` (measure on
    a CUDA device, else estimate). ``size="tiny"`` builds the zoo's small variants.
    """
    input_size = _check.positive_int("input_size", input_size)
    batch = _check.positive_int("batch", batch)
    _check.choice("warps", warps, WARPS)
    _check.choice("dtype", dtype, ("fp32", "fp16", "bf16"))
    wm = WarpModel.of(warp_model)
    dev = str(device)
    if dev == "auto":
        from ..device import resolve

        dev = "cuda:0" if resolve("auto").is_cuda else "cpu"
    is_cuda = dev.startswith("cuda")
    if warps == "auto":
        warps = "measure" if is_cuda else "estimate"
    if warps == "measure" and not is_cuda:
        raise ValueError(f"warps='measure' needs a CUDA device, not device={device!r}")

    items: list[tuple[str, Any]] = []
    if isinstance(models, dict):
        items = list(models.items())
    else:
        seq = (
            [models]
            if isinstance(models, (str, os.PathLike)) or not isinstance(models, (list, tuple))
            else list(models)
        )
        for m in seq:
            if isinstance(m, (str, os.PathLike)) and (str(m).endswith(".onnx") or os.path.sep in str(m)):
                items.append((Path(m).stem, Path(m)))
            elif isinstance(m, str):
                items.append((m, m))
            else:
                items.append((type(m).__name__.lower(), m))
    if not items:
        raise ValueError("models=[] is not allowed: give at least one model")

    layers: list[Layer] = []
    for name, m in items:
        if isinstance(m, Path):
            if not m.exists():
                raise ValueError(f"model file {str(m)!r} does not exist")
            recs = _profile_onnx(m, name, input_size=input_size, batch=batch, warp_model=wm)
        elif isinstance(m, str):
            module = _build_named(m, dev if warps == "measure" else "meta", size)
            recs = _profile_torch(
                module, name, input_size=input_size, batch=batch, device=dev, warps=warps, warp_model=wm, dtype=dtype
            )
        elif hasattr(m, "named_modules") and callable(m):
            recs = _profile_torch(
                m, name, input_size=input_size, batch=batch, device=dev, warps=warps, warp_model=wm, dtype=dtype
            )
        else:
            raise TypeError(f"cannot profile {type(m).__name__}: give a zoo name, a torch.nn.Module or an ONNX file")
        if not any(r.type == "conv" for r in recs):
            raise ValueError(f"model {name!r} has no conv layers: nothing to profile for a synthetic CNN")
        layers += recs
    return Workload(
        layers,
        meta={
            "input_size": input_size,
            "batch": batch,
            "warps": warps,
            "warp_model": wm.to_json(),
            "dtype": dtype,
            "device": dev,
        },
    )
