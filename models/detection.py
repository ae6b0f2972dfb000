"""Shared by the detection models: deterministic synthetic scenes, the output wrapper, the loss.

The scenes are drawn from a seed (no downloads): a smooth background with a few
filled rectangles, so each image also has ground-truth boxes, labels and masks
for ``warm_start_iters`` training.
"""

from __future__ import annotations

import torch
from torch import nn


def scene(height: int, width: int, seed: int, *, num_classes: int = 91, objects: int = 4) -> tuple[torch.Tensor, dict]:
    """One synthetic image in [0, 1] (3, H, W) and its target dict (boxes, labels, masks)."""
    g = torch.Generator().manual_seed(seed)
    ys = torch.linspace(0, 1, height).view(1, height, 1)
    xs = torch.linspace(0, 1, width).view(1, 1, width)
    c = torch.rand(3, 3, 1, 1, generator=g)
    img = ((c[0] * ys + c[1] * xs) / 2 + 0.25 * c[2]).expand(3, height, width).clone()  # smooth gradient
    boxes, masks = [], []
    for _ in range(objects):
        x0, y0 = (torch.rand(2, generator=g) * 0.7).tolist()
        w, h = (0.1 + torch.rand(2, generator=g) * 0.25).tolist()
        box = [
            int(x0 * width),
            int(y0 * height),
            max(int(x0 * width) + 2, int((x0 + w) * width)),
            max(int(y0 * height) + 2, int((y0 + h) * height)),
        ]
        colour = torch.rand(3, 1, 1, generator=g)
        img[:, box[1] : box[3], box[0] : box[2]] = colour
        mask = torch.zeros(height, width, dtype=torch.uint8)
        mask[box[1] : box[3], box[0] : box[2]] = 1
        boxes.append(box)
        masks.append(mask)
    img = (img + 0.02 * torch.randn(3, height, width, generator=g)).clamp(0, 1)
    labels = torch.randint(1, num_classes, (objects,), generator=g)
    return img, {"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": labels, "masks": torch.stack(masks)}


class DetectionOutputs(nn.Module):
    """A torchvision detector fed one batched tensor, returning a flat tuple of tensors.

    A flat tuple (fields of image 0, then image 1, ...) is what every backend can
    return (ONNX flattens outputs the same way); every field is returned so that
    no backend can drop the work that produces it (e.g. the mask head).
    """

    def __init__(self, model: nn.Module, fields: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.fields = fields

    def forward(self, images: torch.Tensor) -> tuple:
        out = self.model(list(images.unbind(0)))
        return tuple(d[k] for d in out for k in self.fields)


def verify_view(fields: tuple[str, ...]):
    """Per image, the detection scores sorted: robust to ties reordering boxes under low precision."""
    i = fields.index("scores")

    def view(flat: list) -> list:
        return [torch.sort(s.float().flatten(), descending=True).values for s in flat[i :: len(fields)]]

    return view


def spec_options(fields: tuple[str, ...]) -> dict:
    """The ModelSpec options the detection models share: CNNs under autocast, not graph-capturable (their forward
    synchronises with the host), outputs compared through ``verify_view(fields)``."""
    return dict(cnn=True, precision="autocast", graph_capturable=False, verify_view=verify_view(fields))


def loss(
    module: DetectionOutputs, inputs: tuple, gen: torch.Generator, *, seed: int = 0, num_classes: int = 91
) -> torch.Tensor:
    """torchvision's training losses against the synthetic scenes' own boxes and masks."""
    images = inputs[0]
    n, _, h, w = images.shape
    targets = []
    for k in range(n):
        _, t = scene(h, w, int(torch.randint(0, 2**31 - 1, (1,), generator=gen)), num_classes=num_classes)
        if "masks" not in module.fields:
            t.pop("masks")
        targets.append({key: v.to(images.device) for key, v in t.items()})
    losses = module.model(list(images.unbind(0)), targets)
    return sum(losses.values())
