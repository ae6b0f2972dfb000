"""StatsNet: the synthetic proxy of AlexNet + VGG16 + GoogLeNet (``aimatrix.synth``) as a zoo model.

The network is built from a saved synthesis (``aimatrix/synth/data/syntheses/statsnet_paper.json``,
made by ``bench/synth_fidelity.py --ship``: the paper set profiled at 224 x 224, batch 1, clustered into
the groups 224/112/56/28/14/7, synthesized with the paper objective, seed 0): per synthetic layer a
conv + batch norm + ReLU, a 2x2 max-pool between groups (``aimatrix.synth.emit``). Its output is the last
group's feature map; items are images. ``model_kw={"synthesis": path}`` builds another saved synthesis.

``size="tiny"`` keeps the layers, kernels and strides and shrinks the rest: every group's input edge
divided by TINY_SHRINK (224 -> 32 ... 7 -> 1) and every filter count by TINY_WIDTH (at least TINY_MIN).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import torch
from torch import nn

SYNTHESIS = Path(__file__).resolve().parents[2] / "synth" / "data" / "syntheses" / "statsnet_paper.json"
TINY_SHRINK = 7
TINY_WIDTH = 16
TINY_MIN = 4


@functools.lru_cache(maxsize=8)
def _load(path: str):
    from ...synth.synthesize import SyntheticModel

    return SyntheticModel.load(path)


def synthesis(size: str = "full", synthesis: str | os.PathLike | None = None):
    """The SyntheticModel the zoo model is built from (``size="tiny"``: shrunk, see the module docstring)."""
    m = _load(str(synthesis or SYNTHESIS))
    if size == "full":
        return m
    groups, cin = [], m.groups[0].cin
    for g in m.groups:
        if g.h % TINY_SHRINK or g.w % TINY_SHRINK:
            raise ValueError(f"size='tiny' needs group sizes divisible by {TINY_SHRINK}; "
                             f"group {g.center} is {g.h}x{g.w}")
        filters = [max(TINY_MIN, f // TINY_WIDTH) for f in g.filters]
        groups.append(dataclasses.replace(g, center=g.center // TINY_SHRINK, h=g.h // TINY_SHRINK,
                                          w=g.w // TINY_SHRINK, cin=cin, filters=filters))
        cin = filters[-1]
    return dataclasses.replace(m, groups=groups)


def build(size: str = "full", synthesis: str | os.PathLike | None = None) -> nn.Module:
    from ...synth.emit import build_module

    return build_module(globals()["synthesis"](size, synthesis))


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
    from ._common import calibrate_batchnorm

    return [ModelSpec("statsnet", "synthetic", build, make_inputs, lambda b, size, **kw: float(b), "images", 256,
                      _loss, cnn=True, calibrate=calibrate_batchnorm,
                      description="StatsNet: the synthetic proxy of AlexNet + VGG16 + GoogLeNet (aimatrix.synth)")]
