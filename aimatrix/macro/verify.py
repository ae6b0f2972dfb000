"""Comparing a backend's outputs with the eager fp32 reference on the same inputs."""

from __future__ import annotations

import math

import torch

#: Relative L2 error allowed at the model's output, per dtype. Looser than for a
#: single GEMM (docs/design.md §5) because error accumulates through tens of layers:
#: fp32 allows for other kernels and fusion orders (compile, ONNX Runtime). Measured on random-weight
#: models on the CPU: ResNet-152 bf16 0.040, ResNet-50 bf16 0.011, fp16 0.0014.
TOLERANCE = {"fp32": 1e-4, "tf32": 2e-2, "fp16": 2e-2, "bf16": 8e-2}


def rel_error(got: torch.Tensor, ref: torch.Tensor) -> float:
    """||got - ref|| / ||ref|| in float64 (inf for a shape mismatch or a non-finite output)."""
    if got.shape != ref.shape:
        return math.inf
    g, r = got.detach().double().cpu(), ref.detach().double().cpu()
    if not torch.isfinite(g).all():
        return math.inf
    den = r.norm().item()
    diff = (g - r).norm().item()
    return diff / den if den > 0 else diff


def compare(got: list[list[torch.Tensor]], ref: list[list[torch.Tensor]], dtype: str) -> dict:
    """The worst relative error over every step and compared tensor, and whether it is within tolerance."""
    tol = TOLERANCE[dtype]
    worst = 0.0
    if len(got) != len(ref) or any(len(a) != len(b) for a, b in zip(got, ref)):
        worst = math.inf
    else:
        for a_step, b_step in zip(got, ref):
            for a, b in zip(a_step, b_step):
                worst = max(worst, rel_error(a, b))
    return {"rel_error": worst, "tolerance": tol, "passed": bool(worst <= tol), "reference": "torch eager fp32"}
