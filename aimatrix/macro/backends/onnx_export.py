"""Export a ModelCase to ONNX once, cached on disk (shared by the onnxruntime and TensorRT backends).

The file is keyed by the case's cache key (model, size, batch, dtype, seed, model
keyword arguments, warm start, aimatrix and torch versions). Low-precision exports
keep the graph's I/O fp32/int: the whole module is wrapped in :class:`CastIO`, or,
for models with dense parts (``ModelSpec.parts``: detection), only those parts
run in the low precision and box decoding, NMS and mask pasting stay fp32 (what
autocast does in eager; the CPU has no half-precision NMS kernel).

The TorchScript exporter (``dynamo=False``, opset 18) is tried first: torchvision's
detection models are documented to export with it, their data-dependent NMS
becoming ONNX ``NonMaxSuppression``; the dynamo exporter (``torch.export``) is the
fallback, and fails on those models' data-dependent shapes. Everything the
exporters print goes to ``<file>.log`` next to the ONNX file; a failure raises
UnsupportedError with one line per exporter and the log's path.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import torch

from ...errors import UnsupportedError
from .. import _guard
from .base import TORCH_DTYPE, CastIO, InPrecision, ModelCase, parts, replace_parts

OPSET = 18


def onnx_path(case: ModelCase) -> Path:
    digest = hashlib.sha256(case.cache_key.encode()).hexdigest()[:16]
    return case.cache_dir / "onnx" / f"{case.spec.name}-{case.size}-b{case.batch}-{case.dtype}-{digest}.onnx"


def log_path(case: ModelCase) -> Path:
    """Where the exporters' output for ``case`` is written."""
    return onnx_path(case).with_suffix(".log")


def _exportable(case: ModelCase) -> tuple[torch.nn.Module, tuple]:
    """The module to trace (converted in place) and its example inputs.

    Models with dense parts are traced on the CPU: the graph does not depend on the
    device, and tracing torchvision's detection post-processing on a GPU failed
    inside the TorchScript interpreter (H100, torch 2.11) where the CPU trace works.
    """
    dt = TORCH_DTYPE[case.dtype]
    args = case.steps[0]
    dense = parts(case)
    module = case.module
    if dense:
        module = module.to("cpu")
        args = tuple(t.cpu() for t in args)
        if dt != torch.float32:
            replace_parts(module, dense, lambda m: InPrecision(m, dt))
    elif dt != torch.float32:
        module = CastIO(module.to(dt), dt)
    return module, args


def export(case: ModelCase) -> Path:
    """The case's ONNX file, exported on first use (TorchScript exporter, then the dynamo one)."""
    path = onnx_path(case)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path(case)
    log.unlink(missing_ok=True)
    module, args = _exportable(case)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    names = dict(input_names=[f"input{i}" for i in range(len(args))])
    errors = []
    with _guard.captured(log) as f:
        for dynamo in (False, True):
            which = "dynamo" if dynamo else "torchscript"
            f.write(
                f"==== {case.spec.name} ({case.size}, batch {case.batch}, {case.dtype}): torch.onnx.export "
                f"with the {which} exporter, opset {OPSET}, torch {torch.__version__}\n"
            )
            f.flush()
            t0 = time.perf_counter()
            try:
                with torch.no_grad():
                    torch.onnx.export(
                        module,
                        args,
                        str(tmp),
                        dynamo=dynamo,
                        opset_version=OPSET,
                        do_constant_folding=True,
                        external_data=False,
                        verbose=False,
                        **names,
                    )
                os.replace(tmp, path)  # atomic: a concurrent run never sees half a file
                f.write(f"==== exported in {time.perf_counter() - t0:.1f} s: {path}\n")
                return path
            except Exception as e:  # noqa: BLE001 - each exporter fails in its own way; report both
                _guard.log_exception(f, e)
                errors.append(f"{which} exporter: {_guard.summary(e)}")
            finally:
                if tmp.exists():
                    tmp.unlink()
    raise UnsupportedError(
        f"torch.onnx.export of {case.spec.name!r} ({case.dtype}) failed: " + "; ".join(errors) + f" (full log: {log})"
    )
