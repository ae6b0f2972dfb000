"""ResNet-50/152: torchvision's definitions (random weights); shallow, narrow ``tiny`` variants."""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet as tv_resnet

DEPTHS = {"resnet50": [3, 4, 6, 3], "resnet101": [3, 4, 23, 3], "resnet152": [3, 8, 36, 3]}


def build(size: str = "full", *, depth: str = "resnet50", num_classes: int = 1000) -> nn.Module:
    """torchvision ``resnet50``/``resnet152``; ``tiny`` is one bottleneck per stage at 1/4 width."""
    if size == "tiny":
        m = tv_resnet.ResNet(tv_resnet.Bottleneck, [1, 1, 1, 1], num_classes=10 if num_classes == 1000 else num_classes,
                             width_per_group=16)
        return m
    return tv_resnet.ResNet(tv_resnet.Bottleneck, DEPTHS[depth], num_classes=num_classes)
