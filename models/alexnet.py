"""AlexNet as the Caffe reference network (BVLC ``bvlc_alexnet`` deploy.prototxt).

At 224x224 the first conv is VALID 11x11/4 with 96 filters (output 54x54); pooling
is Caffe's ceil mode, so pool1 gives 27x27 exactly as at Caffe's 227 crop; conv2,
conv4 and conv5 are grouped (groups=2, the two-GPU split of the original).
LRN follows relu1 and relu2 (``lrn=False`` drops it).
"""

from __future__ import annotations

from torch import nn

from ._common import conv_relu, init_caffe_style, lrn


class AlexNet(nn.Module):
    """Caffe AlexNet. ``width`` scales every channel count (1.0 = the reference)."""

    def __init__(self, num_classes: int = 1000, *, lrn_layers: bool = True, width: float = 1.0, fc: int = 4096) -> None:
        super().__init__()
        c = [max(2, int(round(w * width)) // 2 * 2) for w in (96, 256, 384, 384, 256)]  # even for groups=2
        norm = lrn if lrn_layers else nn.Identity
        pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
        self.features = nn.Sequential(
            conv_relu(3, c[0], 11, stride=4),
            norm(),
            pool(),  # conv1 (VALID), norm1, pool1
            conv_relu(c[0], c[1], 5, pad=2, groups=2),
            norm(),
            pool(),  # conv2 (group 2), norm2, pool2
            conv_relu(c[1], c[2], 3, pad=1),  # conv3
            conv_relu(c[2], c[3], 3, pad=1, groups=2),  # conv4 (group 2)
            conv_relu(c[3], c[4], 3, pad=1, groups=2),
            pool(),  # conv5 (group 2), pool5
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c[4] * 6 * 6, fc),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),  # fc6
            nn.Linear(fc, fc),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),  # fc7
            nn.Linear(fc, num_classes),  # fc8
        )
        init_caffe_style(self)

    def forward(self, x):
        return self.classifier(self.features(x))


def build(size: str = "full", *, num_classes: int = 1000, lrn: bool = True) -> nn.Module:
    """Reference AlexNet; ``tiny`` keeps the topology (and the 224 input) at 1/8 width."""
    if size == "tiny":
        return AlexNet(10 if num_classes == 1000 else num_classes, lrn_layers=lrn, width=0.125, fc=64)
    return AlexNet(num_classes, lrn_layers=lrn)
