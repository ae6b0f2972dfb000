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
from .results import Result, read_jsonl, write_jsonl

__all__ = [
    "__version__", "gemm", "timing", "synth", "dist", "devices", "Device", "Result", "read_jsonl", "write_jsonl",
    "AimatrixError", "CudaError", "OutOfMemoryError", "UnsupportedError", "VerificationError",
]
