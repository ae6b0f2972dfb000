"""Inputs, item counts and training loss shared by the image-classification models."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# Input edge per model and size: full size is ImageNet's 224; tiny keeps each
# network's spatial pipeline valid at the smallest sensible input.
TINY_EDGE = {"alexnet": 224, "googlenet": 64}


def edge(name: str, size: str) -> int:
    return 224 if size == "full" else TINY_EDGE.get(name, 32)


def images(batch: int, edge_px: int, seed: int) -> torch.Tensor:
    """Deterministic ImageNet-normalised-looking images (standard normal pixels)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, edge_px, edge_px, generator=g)


def loss(module: nn.Module, inputs: tuple, gen: torch.Generator) -> torch.Tensor:
    """Cross-entropy against random labels: the synthetic-data training of the original suite."""
    logits = module(*inputs)
    labels = torch.randint(0, logits.shape[-1], (logits.shape[0],), generator=gen).to(logits.device)
    return F.cross_entropy(logits.float(), labels)
