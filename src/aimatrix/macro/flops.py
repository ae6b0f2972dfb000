"""Multiply-accumulate counts of a module, from forward hooks on its conv, linear and RNN layers.

Convs and linears follow the convention of torchvision's published "GFLOPS"
figures (which are GMACs); LSTM/GRU layers add gates x hidden x (input + hidden)
per step and direction (0 in CNNs, so the CNN figures stay comparable). Run it on
the ``meta`` device to count a full-size model without computing anything.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

_GATES = {nn.LSTM: 4, nn.GRU: 3, nn.RNN: 1}


def _macs(m: nn.Module, args: tuple, out: Any) -> int:
    if isinstance(m, nn.modules.conv._ConvNd):
        k = 1
        for s in m.kernel_size:
            k *= s
        return out.numel() * (m.in_channels // m.groups) * k
    if isinstance(m, nn.Linear):
        return out.numel() * m.in_features
    x = args[0]  # an RNN: [T, B, F] or [B, T, F] (or unbatched [T, F])
    steps = x.shape[:-1].numel()
    dirs = 2 if m.bidirectional else 1
    per_step = 0
    for layer in range(m.num_layers):
        width = m.input_size if layer == 0 else m.hidden_size * dirs
        per_step += _GATES[type(m)] * m.hidden_size * (width + m.hidden_size) * dirs
    return steps * per_step


def run_counting(module: nn.Module, *inputs: Any) -> tuple[list[dict], Any]:
    """Call ``module(*inputs)`` with hooks; returns one record per conv/linear/RNN call and the output."""
    names = {m: n for n, m in module.named_modules()}
    records: list[dict] = []

    def hook(m: nn.Module, args: tuple, out: Any) -> None:
        first = out[0] if isinstance(out, tuple) else out
        records.append({"name": names.get(m, ""), "type": type(m).__name__, "macs": int(_macs(m, args, first)),
                        "input": tuple(args[0].shape), "output": tuple(first.shape)})

    kinds = (nn.modules.conv._ConvNd, nn.Linear, *_GATES)
    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, kinds)]
    try:
        with torch.no_grad():
            out = module(*inputs)
    finally:
        for h in handles:
            h.remove()
    return records, out


def count_macs(module: nn.Module, *inputs: Any, per_layer: bool = False) -> int | tuple[int, list[dict]]:
    """MACs of one forward pass of ``module(*inputs)`` (conv + linear + RNN layers, the whole batch).

    With ``per_layer=True`` also returns one record per call: name, type, MACs,
    input and output shapes.
    """
    records, _ = run_counting(module, *inputs)
    total = sum(r["macs"] for r in records)
    return (total, records) if per_layer else total
