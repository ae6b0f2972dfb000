"""Emit a SyntheticModel as a torch module or an ONNX file.

The network: for each group, largest input first, SAME conv + batch norm + ReLU
per synthetic layer (stride 1; a group whose real layers downsample ends with a
stride-2 conv, padded by half its kernel); between groups a 2x2 max-pool (none
when the previous group's output already has the next group's size, an adaptive
max-pool to the next group's size when the sizes do not halve).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def layer_specs(model: Any) -> list[dict]:
    """Every synthetic conv in network order: group, index, cin, cout, kernel, size, batch."""
    out = []
    for g in model.groups:
        for i, layer in enumerate(g.layers()):
            out.append({"group": g.center, "index": i, **layer})
    return out


def to_torch(model: Any, *, seed: int = 0):
    """``torch.nn.Sequential`` of the synthetic CNN (eval mode, weights from ``seed``)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_module(model)


def build_module(model: Any):
    """``torch.nn.Sequential`` of the synthetic CNN (eval mode), its weights drawn from torch's current RNG."""
    from collections import OrderedDict

    from torch import nn

    mods: list[tuple[str, nn.Module]] = []
    prev = None
    for g in model.groups:
        if prev is not None:
            size = prev.out_size
            if size == (2 * g.h, 2 * g.w):
                mods.append((f"pool_{prev.center}_{g.center}", nn.MaxPool2d(2)))
            elif size != (g.h, g.w):
                mods.append((f"pool_{prev.center}_{g.center}", nn.AdaptiveMaxPool2d((g.h, g.w))))
        for i, x in enumerate(g.layers()):
            s = x["stride"]
            pad = "same" if s == 1 else (x["kh"] // 2, x["kw"] // 2)  # odd kernels: out = ceil(in / s)
            mods.append(
                (f"g{g.center}_conv{i}", nn.Conv2d(x["cin"], x["cout"], (x["kh"], x["kw"]), s, padding=pad, bias=True))
            )
            mods.append((f"g{g.center}_bn{i}", nn.BatchNorm2d(x["cout"])))
            mods.append((f"g{g.center}_relu{i}", nn.ReLU(inplace=True)))
        prev = g
    return nn.Sequential(OrderedDict(mods)).eval()


def example_input(model: Any, *, batch: int | None = None, seed: int = 0, device: Any = "cpu", dtype: Any = None):
    import torch

    g = torch.Generator().manual_seed(seed)
    b = model.batch if batch is None else batch
    x = torch.randn(b, model.groups[0].cin, model.groups[0].h, model.groups[0].w, generator=g)
    return x.to(device=device, dtype=dtype) if dtype is not None else x.to(device)


def to_onnx(model: Any, path: str | os.PathLike, *, opset: int = 17, batch: int | None = None) -> Path:
    """Export the synthetic CNN to ONNX (static shapes)."""
    import torch

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    m = to_torch(model)
    x = example_input(model, batch=batch)
    kw: dict[str, Any] = {"opset_version": opset, "input_names": ["image"], "output_names": ["features"]}
    try:
        torch.onnx.export(m, (x,), str(p), dynamo=False, **kw)
    except TypeError:  # older torch without the dynamo flag
        torch.onnx.export(m, (x,), str(p), **kw)
    return p
