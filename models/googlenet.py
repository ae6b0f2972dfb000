"""GoogLeNet as the BVLC Caffe network (``bvlc_googlenet`` deploy.prototxt).

Unlike torchvision's GoogLeNet (batch norm, 3x3 convs in the "5x5" branch), this
is the original: true 5x5 branches, LRN after pool1 and conv2, ceil-mode pooling,
no batch norm; the auxiliary classifiers exist only in training and are left out.
"""

from __future__ import annotations

import torch
from torch import nn

from ._common import conv_relu, init_caffe_style, lrn

# (name, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj) from the prototxt.
INCEPTION = [
    ("3a", 64, 96, 128, 16, 32, 32),
    ("3b", 128, 128, 192, 32, 96, 64),
    ("4a", 192, 96, 208, 16, 48, 64),
    ("4b", 160, 112, 224, 24, 64, 64),
    ("4c", 128, 128, 256, 24, 64, 64),
    ("4d", 112, 144, 288, 32, 64, 64),
    ("4e", 256, 160, 320, 32, 128, 128),
    ("5a", 256, 160, 320, 32, 128, 128),
    ("5b", 384, 192, 384, 48, 128, 128),
]


class Inception(nn.Module):
    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int) -> None:
        super().__init__()
        self.b1 = conv_relu(cin, c1, 1)
        self.b3 = nn.Sequential(conv_relu(cin, c3r, 1), conv_relu(c3r, c3, 3, pad=1))
        self.b5 = nn.Sequential(conv_relu(cin, c5r, 1), conv_relu(c5r, c5, 5, pad=2))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, padding=1, ceil_mode=True), conv_relu(cin, cp, 1))
        self.out_channels = c1 + c3 + c5 + cp

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)


class GoogLeNet(nn.Module):
    """BVLC GoogLeNet. ``width`` scales every channel count (1.0 = the reference)."""

    def __init__(self, num_classes: int = 1000, *, width: float = 1.0) -> None:
        super().__init__()
        w = lambda c: max(1, int(round(c * width)))  # noqa: E731
        pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
        layers: list[nn.Module] = [
            conv_relu(3, w(64), 7, stride=2, pad=3),
            pool(),
            lrn(),  # conv1/7x7_s2, pool1, norm1
            conv_relu(w(64), w(64), 1),
            conv_relu(w(64), w(192), 3, pad=1),  # conv2/3x3_reduce, conv2/3x3
            lrn(),
            pool(),  # norm2, pool2
        ]
        cin = w(192)
        for name, *cs in INCEPTION:
            block = Inception(cin, *(w(c) for c in cs))
            layers.append(block)
            cin = block.out_channels
            if name in ("3b", "4e"):
                layers.append(pool())  # pool3, pool4
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)  # pool5/7x7_s1 (7x7 average at 224)
        self.dropout = nn.Dropout(0.4)
        self.classifier = nn.Linear(cin, num_classes)  # loss3/classifier
        init_caffe_style(self)

    def forward(self, x):
        return self.classifier(self.dropout(torch.flatten(self.pool(self.features(x)), 1)))


def build(size: str = "full", *, num_classes: int = 1000) -> nn.Module:
    """BVLC GoogLeNet; ``tiny`` keeps the topology at 1/8 width (fed 64x64 images)."""
    if size == "tiny":
        return GoogLeNet(10 if num_classes == 1000 else num_classes, width=0.125)
    return GoogLeNet(num_classes)
