"""Multiply-accumulate counts of a module, from forward hooks on its conv and linear layers.

This is the convention of torchvision's published "GFLOPS" figures (which are
GMACs): convolutions and fully connected layers only. Run it on the ``meta``
device to count a full-size model without allocating or computing anything.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _conv_macs(m: nn.modules.conv._ConvNd, out: torch.Tensor) -> int:
    k = 1
    for s in m.kernel_size:
        k *= s
    return out.numel() * (m.in_channels // m.groups) * k


def count_macs(module: nn.Module, *inputs: Any, per_layer: bool = False) -> int | tuple[int, list[dict]]:
    """MACs of one forward pass of ``module(*inputs)`` (conv + linear layers, the whole batch).

    With ``per_layer=True`` also returns one record per call: name, type, MACs,
    input and output shapes.
    """
    names = {m: n for n, m in module.named_modules()}
    records: list[dict] = []

    def hook(m: nn.Module, args: tuple, out: Any) -> None:
        if isinstance(m, nn.modules.conv._ConvNd):
            macs = _conv_macs(m, out)
        else:  # nn.Linear
            macs = out.numel() * m.in_features
        records.append({"name": names.get(m, ""), "type": type(m).__name__, "macs": int(macs),
                        "input": tuple(args[0].shape), "output": tuple(out.shape)})

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))]
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        for h in handles:
            h.remove()
    total = sum(r["macs"] for r in records)
    return (total, records) if per_layer else total
