"""Precision flags and error mapping, shared by the model and layer cases (model_case.py, layers/layer_case.py)."""

from __future__ import annotations

import contextlib
import gc
import os
import re
import sys
import traceback
import warnings
from pathlib import Path
from typing import Iterator, TextIO

import torch

from ..device import Device
from ..errors import AimatrixError, OutOfMemoryError, UnsupportedError


@contextlib.contextmanager
def precision(dtype: str, device: Device, *, autotune: bool = True) -> Iterator[None]:
    """TF32 on for ``tf32`` only (so fp32 is true fp32); cuDNN autotuning on a GPU unless ``autotune``
    is False (a one-off pass, such as the fp32 reference, would spend longer choosing than running). Restored after."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = dtype == "tf32"
    torch.backends.cudnn.benchmark = device.is_cuda and autotune
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
            raise UnsupportedError(
                f"{what}: an operation is not available for this dtype/device: {msg.splitlines()[0]}"
            ) from e
        raise


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Failure)\b.*:")


def summary(exc: BaseException, limit: int = 240) -> str:
    """One line saying why ``exc`` happened: its innermost cause's most telling line, ANSI codes removed.

    Framework errors (TorchScript, torch.export) open with a generic sentence and
    end with the real reason ("XxxError: ..."); that last error line wins, else the first line.
    """
    root = exc
    while root.__cause__ is not None and root.__cause__ is not root:
        root = root.__cause__
    lines = [ln.strip() for ln in _ANSI.sub("", str(root)).splitlines() if ln.strip()]
    errors = [ln for ln in lines if _ERROR_LINE.match(ln)]
    line = errors[-1] if errors else (lines[0] if lines else "")
    if not _ERROR_LINE.match(line):
        line = f"{type(root).__name__}: {line}" if line else type(root).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


@contextlib.contextmanager
def captured(log_path: Path) -> Iterator[TextIO]:
    """Everything printed meanwhile (Python and C level stdout/stderr, warnings) goes to ``log_path``.

    Exporters and compilers chat at length (graph dumps, tracer warnings); the
    caller gets a short message and the log's path instead. The file is appended to.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8", errors="replace") as f:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        saved_fds = []
        for fd in (1, 2):
            try:
                saved_fds.append((fd, os.dup(fd)))
                os.dup2(f.fileno(), fd)
            except OSError:  # no such descriptor (e.g. an embedding host): Python-level capture still works
                pass
        saved_streams = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = f
        try:
            with warnings.catch_warnings():  # restores showwarning and the filters on exit
                warnings.simplefilter("always")
                warnings.showwarning = lambda msg, cat, fn, ln, file=None, line=None: f.write(
                    warnings.formatwarning(msg, cat, fn, ln, line)
                )
                yield f
        finally:
            with contextlib.suppress(Exception):
                f.flush()
            sys.stdout, sys.stderr = saved_streams
            for fd, saved in saved_fds:
                os.dup2(saved, fd)
                os.close(saved)


def log_exception(f: TextIO, exc: BaseException) -> None:
    """The full traceback of ``exc`` (with its causes) into an open log."""
    f.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    f.flush()
