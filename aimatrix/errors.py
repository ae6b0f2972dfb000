"""Exceptions raised by aimatrix.

Bad arguments raise the built-in ``ValueError``/``TypeError`` with a message that
names the value and what is allowed. Native failures map to the classes below
(the C++ core throws their counterparts and the bindings translate them).
"""

from __future__ import annotations


class AimatrixError(RuntimeError):
    """Base class of aimatrix's own errors."""


class UnsupportedError(AimatrixError):
    """A backend, dtype or device cannot run the requested benchmark."""


class OutOfMemoryError(AimatrixError, MemoryError):
    """A device or host allocation failed. Everything allocated is released; the device stays usable."""


class VerificationError(AimatrixError):
    """The benchmark's output did not match the reference, so no time is reported."""


class CudaError(AimatrixError):
    """A CUDA, cuBLAS or cuDNN call failed. ``status`` holds the library's status name."""

    def __init__(self, message: str, status: str = "") -> None:
        super().__init__(message)
        self.status = status


__all__ = ["AimatrixError", "UnsupportedError", "OutOfMemoryError", "VerificationError", "CudaError"]
