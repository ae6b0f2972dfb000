"""Context managers shared by the model and layer runners: precision flags and error mapping."""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator

import torch

from ..device import Device
from ..errors import AimatrixError, OutOfMemoryError, UnsupportedError


@contextlib.contextmanager
def precision(dtype: str, device: Device) -> Iterator[None]:
    """TF32 on for ``tf32`` only (so fp32 is true fp32); cuDNN autotuning on a GPU. Restored after."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = dtype == "tf32"
    torch.backends.cudnn.benchmark = device.is_cuda
    try:
        yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark) = saved


def _release() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@contextlib.contextmanager
def errors(what: str, device: Device) -> Iterator[None]:
    """Map framework failures to aimatrix's errors: out of memory, and ops a dtype/device lacks."""
    try:
        yield
    except (AimatrixError, ValueError, TypeError):
        raise
    except (torch.OutOfMemoryError, MemoryError) as e:
        _release()
        raise OutOfMemoryError(f"{what} does not fit in {device} memory: {str(e).splitlines()[0]}") from e
    except RuntimeError as e:
        msg = str(e)
        low = msg.lower()
        if "out of memory" in low or "failed to allocate" in low or "can't allocate memory" in low:
            _release()
            raise OutOfMemoryError(f"{what} does not fit in {device} memory: {msg.splitlines()[0]}") from e
        if "not implemented for" in low or "unsupported" in low or "no kernel" in low:
            raise UnsupportedError(f"{what}: an operation is not available for this dtype/device: {msg.splitlines()[0]}") from e
        raise
