"""Export a Case to ONNX once, cached on disk (shared by the onnxruntime and TensorRT backends).

The file is keyed by the case's cache key (model, size, batch, dtype, seed, model
keyword arguments, warm start, aimatrix and torch versions). Low-precision exports
wrap the module in :class:`CastIO`, so the graph's I/O stays fp32/int.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import torch

from ...errors import UnsupportedError
from .base import TORCH_DTYPE, Case, CastIO

OPSET = 18


def onnx_path(case: Case) -> Path:
    digest = hashlib.sha256(case.cache_key.encode()).hexdigest()[:16]
    return case.cache_dir / "onnx" / f"{case.spec.name}-{case.size}-b{case.batch}-{case.dtype}-{digest}.onnx"


def export(case: Case) -> Path:
    """The case's ONNX file, exported on first use (TorchScript exporter, then the dynamo one)."""
    path = onnx_path(case)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    dt = TORCH_DTYPE[case.dtype]
    module = case.module if dt == torch.float32 else CastIO(case.module.to(dt), dt)
    args = case.steps[0]
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    names = dict(input_names=[f"input{i}" for i in range(len(args))])
    errors = []
    for dynamo in (False, True):
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(module, args, str(tmp), dynamo=dynamo, opset_version=OPSET, do_constant_folding=True,
                                  external_data=False, verbose=False, **names)
            os.replace(tmp, path)  # atomic: a concurrent run never sees half a file
            return path
        except Exception as e:  # noqa: BLE001 - each exporter fails in its own way; report both
            errors.append(f"{'dynamo' if dynamo else 'torchscript'} exporter: {type(e).__name__}: {str(e)[:300]}")
        finally:
            if tmp.exists():
                tmp.unlink()
    raise UnsupportedError(f"torch.onnx.export of {case.spec.name!r} ({case.dtype}) failed: " + " | ".join(errors))
