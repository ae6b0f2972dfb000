"""Mask R-CNN with a ResNet-101-FPN backbone (torchvision's builders, random weights).

As in AI Matrix: 28 synthetic images, each repeated to a batch of n, so a run
detects 28*n images. The amount of work is fixed regardless of the random
weights: every score passes (``box_score_thresh=0``) and NMS runs with IoU
threshold 1.0 (it still runs, but suppresses nothing), so each image yields
exactly ``rpn_post_nms_top_n_test`` proposals and ``box_detections_per_img``
detections (with masks).
"""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet as tv_resnet
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.backbone_utils import BackboneWithFPN, resnet_fpn_backbone
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.rpn import RPNHead

from . import detection
from ._common import calibrate_batchnorm, sized
from .resnet import tame_residuals

FIELDS = ("boxes", "labels", "scores", "masks")
#: The dense compute (see ModelSpec.parts); anchors, box decoding, NMS, RoIAlign and mask pasting are outside.
PARTS = (
    "model.backbone",
    "model.rpn.head",
    "model.roi_heads.box_head",
    "model.roi_heads.box_predictor",
    "model.roi_heads.mask_head",
    "model.roi_heads.mask_predictor",
)
FIXED_WORK = dict(rpn_nms_thresh=1.0, box_score_thresh=0.0, box_nms_thresh=1.0)
FULL = dict(images=28, height=480, width=640, num_classes=91, proposals=1000, detections=100)
TINY = dict(images=2, height=64, width=64, num_classes=5, proposals=20, detections=8)


def build(size: str = "full", **kw) -> nn.Module:
    c = sized(size, FULL, TINY, kw)
    common = dict(
        num_classes=c["num_classes"],
        rpn_pre_nms_top_n_test=c["proposals"],
        rpn_post_nms_top_n_test=c["proposals"],
        box_detections_per_img=c["detections"],
        **FIXED_WORK,
    )
    if size == "full":
        # BatchNorm2d rather than the frozen kind so its statistics can be calibrated (same eval maths).
        backbone = resnet_fpn_backbone(
            backbone_name="resnet101", weights=None, norm_layer=nn.BatchNorm2d, trainable_layers=5
        )
        model = MaskRCNN(backbone, min_size=800, max_size=1333, **common)
    else:  # a one-block-per-stage ResNet-18-style body, 32-channel FPN and heads
        body = tv_resnet.ResNet(tv_resnet.BasicBlock, [1, 1, 1, 1])
        backbone = BackboneWithFPN(
            body, {"layer1": "0", "layer2": "1", "layer3": "2", "layer4": "3"}, [64, 128, 256, 512], 32
        )
        k = c["num_classes"]
        model = MaskRCNN(
            backbone,
            min_size=c["height"],
            max_size=c["width"],
            rpn_head=RPNHead(32, 3),
            box_head=TwoMLPHead(32 * 7 * 7, 64),
            box_predictor=FastRCNNPredictor(64, k),
            mask_head=MaskRCNNHeads(32, [32, 32], 1),
            mask_predictor=MaskRCNNPredictor(32, 32, k),
            **{**common, "num_classes": None},
        )
    tame_residuals(model.backbone.body)
    return detection.DetectionOutputs(model, FIELDS)


def make_inputs(batch: int, size: str, seed: int, **kw) -> list[tuple]:
    """One step per synthetic image: that image repeated ``batch`` times."""
    c = sized(size, FULL, TINY, kw)
    return [
        (
            detection.scene(c["height"], c["width"], seed * 1000 + i, num_classes=c["num_classes"])[0]
            .unsqueeze(0)
            .repeat(batch, 1, 1, 1),
        )
        for i in range(c["images"])
    ]


def _calibrate(module: detection.DetectionOutputs, inputs: tuple) -> None:
    # The backbone only: its BatchNorms see normalised, resized images as in inference.
    images, _ = module.model.transform(list(inputs[0].unbind(0)))
    calibrate_batchnorm(module.model.backbone.body, (images.tensors,))


def specs(ModelSpec) -> list:
    def loss(m, x, g, **kw):
        return detection.loss(m, x, g, num_classes=m.model.roi_heads.box_predictor.cls_score.out_features)

    return [
        ModelSpec(
            "maskrcnn",
            "detection",
            build,
            make_inputs,
            lambda b, size, **kw: float(b * sized(size, FULL, TINY, kw)["images"]),
            "images",
            1,
            loss,
            **detection.spec_options(FIELDS),
            calibrate=_calibrate,
            parts=PARTS,
            description="Mask R-CNN, ResNet-101-FPN backbone, 28 synthetic images x batch "
            "(fixed proposal/detection counts)",
        )
    ]
