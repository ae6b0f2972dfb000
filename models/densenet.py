"""DenseNet-121: torchvision's definition (random weights); a small ``tiny`` variant."""

from __future__ import annotations

from torch import nn
from torchvision.models import densenet as tv_densenet


def build(size: str = "full", *, num_classes: int = 1000) -> nn.Module:
    """torchvision ``densenet121``; ``tiny`` has growth 8, two layers per block."""
    if size == "tiny":
        return tv_densenet.DenseNet(
            growth_rate=8,
            block_config=(2, 2, 2, 2),
            num_init_features=16,
            bn_size=2,
            num_classes=10 if num_classes == 1000 else num_classes,
        )
    return tv_densenet.densenet121(weights=None, num_classes=num_classes)
