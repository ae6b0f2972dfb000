"""aimatrix: how fast is this AI accelerator, really?

    >>> import aimatrix as am
    >>> r = am.gemm(1024, 1024, 1024, dtype="fp32")
    >>> r.median_ms, r.tflops, r.rel_error

Every benchmark returns a :class:`Result`; bad arguments raise ``ValueError`` /
``TypeError``; native failures raise the classes in :mod:`aimatrix.errors`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import dist, synth, timing
from .device import Device, devices
from .errors import AimatrixError, CudaError, OutOfMemoryError, UnsupportedError, VerificationError
from .micro import gemm
from . import micro
from .micro import conv, launch, membw
from .results import Result, read_jsonl, write_jsonl



def __getattr__(name: str):
    """Layer and model benchmarks need PyTorch: imported on first use, so ``import aimatrix`` does not."""
    if name in ("model", "macro"):
        from . import macro

        return macro.model if name == "model" else macro
    if name in ("layer", "layers"):
        from . import layers

        return layers.layer if name == "layer" else layers
    raise AttributeError(f"module 'aimatrix' has no attribute {name!r}")


__all__ = [
    "__version__", "gemm", "conv", "membw", "launch", "micro", "model", "layer", "timing", "synth", "dist", "devices", "Device", "Result", "read_jsonl", "write_jsonl",
    "AimatrixError", "CudaError", "OutOfMemoryError", "UnsupportedError", "VerificationError",
]
