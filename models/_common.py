"""Pieces shared by the model definitions."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

SIZES = ("full", "tiny")


def sized(size: str, full: dict, tiny: dict, kw: dict) -> dict:
    """A model's settings at ``size`` ("full" or "tiny"), with ``kw`` overriding them."""
    return {**(full if size == "full" else tiny), **kw}


def per_sample(batch: int, size: str, **kw: Any) -> float:
    """``count_items`` of a model whose items are its batch's samples (images, sequences, ...)."""
    return float(batch)


def init_caffe_style(module: nn.Module) -> None:
    """Kaiming-normal convs, small normal FCs, zero biases: random weights that keep
    activations in a sane range through deep nets (no checkpoint is downloaded)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)


def conv_relu(cin: int, cout: int, k: int, stride: int = 1, pad: int = 0, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, pad, groups=groups), nn.ReLU(inplace=True))


class LRN(nn.Module):
    """Caffe's across-channel LRN: x / (k + alpha/n * sum of x^2 over n neighbouring channels)^beta.

    The same maths as ``nn.LocalResponseNorm`` (the window's sum divided by ``size``,
    zeros beyond the first and last channel), written as a sum of channel-shifted
    slices: elementwise work in any memory format, with no reshape. (A reshape of a
    channels-last tensor into an average pool's input, the previous form, made
    torch.compile's Inductor emit a fused kernel that read out of bounds on an H100:
    bench/CHANGELOG.md, issue 4. ``nn.LocalResponseNorm``'s 3-D pool has no bf16 CPU kernel.)
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        lo = self.size // 2
        sq = nn.functional.pad(x * x, (0, 0, 0, 0, lo, self.size - 1 - lo))  # zero channels at both ends
        window = sum(sq[:, i : i + c] for i in range(self.size))
        return x / (self.k + (self.alpha / self.size) * window).pow(self.beta)


def lrn() -> nn.Module:
    """Caffe's across-channel LRN as in the BVLC prototxts (local_size 5, alpha 1e-4, beta 0.75)."""
    return LRN(5, alpha=1e-4, beta=0.75, k=1.0)


@torch.no_grad()
def calibrate_batchnorm(module: nn.Module, inputs: tuple) -> None:
    """Set every BatchNorm's running statistics from one forward pass on ``inputs``.

    Random weights with identity BN statistics let activations grow through
    residual stacks until fp16 overflows; a trained checkpoint would not. One
    train-mode pass with cumulative averaging (momentum=None) gives the
    statistics a trained model would roughly have, deterministically.
    """
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [(m, m.momentum) for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    was_training = module.training
    module.train()
    module(*inputs)
    for m, mom in saved:
        m.momentum = mom
    module.train(was_training)
