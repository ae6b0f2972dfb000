"""VGG16: torchvision's definition (random weights); a narrow variant for ``tiny``."""

from __future__ import annotations

from torch import nn
from torchvision.models import vgg as tv_vgg


def build(size: str = "full", *, num_classes: int = 1000) -> nn.Module:
    """torchvision ``vgg16(weights=None)``; ``tiny`` has 1/16 width and a 64-unit head."""
    if size == "tiny":
        cfg = [c if c == "M" else c // 16 for c in tv_vgg.cfgs["D"]]
        m = tv_vgg.VGG(tv_vgg.make_layers(cfg), num_classes=10 if num_classes == 1000 else num_classes)
        m.avgpool = nn.AdaptiveAvgPool2d(1)
        m.classifier = nn.Sequential(
            nn.Linear(cfg[-2], 64), nn.ReLU(inplace=True), nn.Linear(64, m.classifier[-1].out_features)
        )
        return m
    return tv_vgg.vgg16(weights=None, num_classes=num_classes)
