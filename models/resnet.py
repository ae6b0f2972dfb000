"""ResNet-50/152: torchvision's definitions (random weights); shallow, narrow ``tiny`` variants."""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet as tv_resnet

DEPTHS = {"resnet50": [3, 4, 6, 3], "resnet101": [3, 4, 23, 3], "resnet152": [3, 8, 36, 3]}


RESIDUAL_GAMMA = 0.2


def tame_residuals(module: nn.Module, gamma: float = RESIDUAL_GAMMA) -> nn.Module:
    """Start the last batch norm of every residual branch at scale ``gamma`` (instead of 1).

    With every branch at full scale a random-weight ResNet is chaotic: bf16 rounding
    alone changes its logits by 10-20% (ResNet-50/152), which no trained network
    does. Small final-BN scales (as in zero_init_residual/SkipInit) keep it in the
    ordered regime, so low-precision verification means something. MACs are unchanged.
    """
    for m in module.modules():
        if isinstance(m, tv_resnet.Bottleneck):
            nn.init.constant_(m.bn3.weight, gamma)
        elif isinstance(m, tv_resnet.BasicBlock):
            nn.init.constant_(m.bn2.weight, gamma)
    return module


def build(size: str = "full", *, depth: str = "resnet50", num_classes: int = 1000) -> nn.Module:
    """torchvision ``resnet50``/``resnet152``; ``tiny`` is one bottleneck per stage at 1/4 width."""
    if size == "tiny":
        m = tv_resnet.ResNet(
            tv_resnet.Bottleneck,
            [1, 1, 1, 1],
            num_classes=10 if num_classes == 1000 else num_classes,
            width_per_group=16,
        )
    else:
        m = tv_resnet.ResNet(tv_resnet.Bottleneck, DEPTHS[depth], num_classes=num_classes)
    return tame_residuals(m)
