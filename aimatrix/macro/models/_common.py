"""Pieces shared by the model definitions."""

from __future__ import annotations

import torch
from torch import nn

SIZES = ("full", "tiny")


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


def lrn() -> nn.Module:
    """Caffe's across-channel LRN as in the BVLC prototxts (local_size 5, alpha 1e-4, beta 0.75)."""
    return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)


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
