"""StatsNet: the synthetic proxy of AlexNet + VGG16 + GoogLeNet (``aimatrix.synth``) as a zoo model.

The network is built from a saved synthesis (``aimatrix/synth/data/syntheses/statsnet_paper.json``,
made by ``bench/synth_fidelity.py --ship``: the paper set profiled at 224 x 224, batch 1, clustered into
the groups 224/112/56/28/14/7, synthesized with the paper objective, seed 0): per synthetic layer a
conv + batch norm + ReLU, a 2x2 max-pool between groups (``aimatrix.synth.emit``). Its output is the last
group's feature map; items are images. ``model_kw={"synthesis": path}`` builds another saved synthesis.

Weights: He-normal convs (zero bias) and batch norm at identity statistics, not batch-norm statistics from one
calibration batch as the other zoo CNNs: a random chain of conv + batch-statistics BN + ReLU is chaotic (a
perturbation grows ~1.2x per layer; over 55 layers fp32 rounding between two memory layouts reached 3e-4 of
the output), while He-normal weights keep both the scale and the rounding error (2e-6) through the chain.

``size="tiny"`` keeps the layers, kernels and strides and shrinks the rest: every group's input edge
times TINY_EDGE (224 -> 64 ... 7 -> 2) and every filter count divided by TINY_WIDTH (at least TINY_MIN).
"""

from __future__ import annotations

import dataclasses
import functools
import os

import torch
from torch import nn

from ..synth.database import DATA
from ._common import per_sample

SYNTHESIS = DATA / "syntheses" / "statsnet_paper.json"
TINY_EDGE = (2, 7)  # numerator, denominator
TINY_WIDTH = 8
TINY_MIN = 8


@functools.lru_cache(maxsize=8)
def _load(path: str):
    from ..synth.synthesize import SyntheticModel

    return SyntheticModel.load(path)


def synthesis(size: str = "full", synthesis: str | os.PathLike | None = None):
    """The SyntheticModel the zoo model is built from (``size="tiny"``: shrunk, see the module docstring)."""
    m = _load(str(synthesis or SYNTHESIS))
    if size == "full":
        return m
    groups, cin = [], m.groups[0].cin
    for g in m.groups:
        num, den = TINY_EDGE
        if g.h % den or g.w % den:
            raise ValueError(f"size='tiny' needs group sizes divisible by {den}; group {g.center} is {g.h}x{g.w}")
        filters = [max(TINY_MIN, f // TINY_WIDTH) for f in g.filters]
        groups.append(
            dataclasses.replace(
                g, center=g.center * num // den, h=g.h * num // den, w=g.w * num // den, cin=cin, filters=filters
            )
        )
        cin = filters[-1]
    return dataclasses.replace(m, groups=groups)


def build(size: str = "full", synthesis: str | os.PathLike | None = None) -> nn.Module:
    from ..synth.emit import build_module

    m = build_module(globals()["synthesis"](size, synthesis))
    for c in m.modules():
        if isinstance(c, nn.Conv2d):
            nn.init.kaiming_normal_(c.weight, nonlinearity="relu")
            nn.init.zeros_(c.bias)
    return m


def make_inputs(batch: int, size: str, seed: int, synthesis: str | os.PathLike | None = None) -> list[tuple]:
    from .classification import images

    m = globals()["synthesis"](size, synthesis)
    g0 = m.groups[0]
    if g0.cin != 3 or g0.h != g0.w:
        raise ValueError(f"a StatsNet zoo model reads square RGB images; this synthesis reads {g0.cin}x{g0.h}x{g0.w}")
    return [(images(batch, g0.h, seed),)]


def _loss(module: nn.Module, inputs: tuple, gen: torch.Generator) -> torch.Tensor:
    """Mean squared error of the feature map against random targets (the network has no classifier)."""
    out = module(*inputs)
    target = torch.randn(out.shape, generator=gen).to(out.device)
    return nn.functional.mse_loss(out.float(), target)


def specs(ModelSpec) -> list:
    return [
        ModelSpec(
            "statsnet",
            "synthetic",
            build,
            make_inputs,
            per_sample,
            "images",
            256,
            _loss,
            cnn=True,
            description="StatsNet: the synthetic proxy of AlexNet + VGG16 + GoogLeNet (aimatrix.synth)",
        )
    ]
