"""SSD300 with a VGG16 backbone (torchvision ``ssd300_vgg16``, random weights).

Fixed work as for Mask R-CNN: ``score_thresh=0`` and NMS at IoU 1.0, so each
image yields exactly ``detections_per_img`` detections whatever the weights.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn
from torchvision.models.detection import ssd as tv_ssd
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator

from . import detection
from ._common import per_sample

FIELDS = ("boxes", "scores", "labels")
FIXED_WORK = dict(score_thresh=0.0, nms_thresh=1.0)
PARTS = ("model.backbone", "model.head")  # the dense compute (see ModelSpec.parts)


class _TinyBackbone(nn.Module):
    """Two feature maps (8x8, 4x4) from a 64x64 image."""

    def __init__(self) -> None:
        super().__init__()
        conv = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, 2, 1), nn.ReLU(inplace=True))  # noqa: E731
        self.a = nn.Sequential(conv(3, 8), conv(8, 16), conv(16, 32))
        self.b = conv(32, 32)

    def forward(self, x):
        a = self.a(x)
        return OrderedDict([("0", a), ("1", self.b(a))])


def build(size: str = "full", *, num_classes: int | None = None) -> nn.Module:
    if size == "full":
        m = tv_ssd.ssd300_vgg16(
            weights=None,
            weights_backbone=None,
            num_classes=num_classes or 91,
            detections_per_img=200,
            topk_candidates=400,
            **FIXED_WORK,
        )
    else:
        m = tv_ssd.SSD(
            _TinyBackbone(),
            DefaultBoxGenerator([[2], [2]]),
            (64, 64),
            num_classes or 5,
            detections_per_img=10,
            topk_candidates=20,
            **FIXED_WORK,
        )
    return detection.DetectionOutputs(m, FIELDS)


def make_inputs(batch: int, size: str, seed: int, **kw) -> list[tuple]:
    edge = 300 if size == "full" else 64
    import torch

    return [(torch.stack([detection.scene(edge, edge, seed * 1000 + i)[0] for i in range(batch)]),)]


def specs(ModelSpec) -> list:
    def loss(m, x, g, **kw):
        return detection.loss(m, x, g, num_classes=m.model.head.classification_head.num_columns)

    return [
        ModelSpec(
            "ssd",
            "detection",
            build,
            make_inputs,
            per_sample,
            "images",
            32,
            loss,
            **detection.spec_options(FIELDS),
            parts=PARTS,
            description="SSD300, VGG16 backbone (fixed detection count)",
        )
    ]
