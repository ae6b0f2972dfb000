"""ONNX Runtime on the cached ONNX export, with the best execution provider available.

On a GPU: TensorRT EP when onnxruntime has it, else the CUDA EP (``use_tf32``
follows the dtype); on the CPU the CPU EP, which has no bf16 kernels (bf16 is
refused there). Providers are checked before the export, so a missing GPU provider
costs nothing. Inputs and outputs stay on the device through I/O binding, so the
timed call contains no host copies of inputs. ``metrics.export_s`` is the export's
time (0 when the cached file was used).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ...errors import UnsupportedError
from .. import _guard
from . import onnx_export
from .base import Backend, ModelCase, Prepared

_NP = {
    torch.float32: np.float32,
    torch.float16: np.float16,
    torch.int64: np.int64,
    torch.int32: np.int32,
    torch.bool: np.bool_,
    torch.uint8: np.uint8,
}


class OnnxRuntime(Backend):
    name = "onnxruntime"
    module_name = "onnxruntime"
    package = "onnxruntime (CPU) or onnxruntime-gpu (CUDA)"

    def providers(self, ort, case: ModelCase) -> list:
        available = ort.get_available_providers()
        if not case.device.is_cuda:
            if case.dtype == "bf16":
                raise UnsupportedError(
                    f"onnxruntime {ort.__version__}'s CPU execution provider has no bf16 kernels "
                    "(Conv, Gemm, MatMul): use dtype='fp32' or 'fp16' on the CPU"
                )
            return ["CPUExecutionProvider"]
        idx = case.device.index
        chosen = []
        if "TensorrtExecutionProvider" in available:
            chosen.append(
                (
                    "TensorrtExecutionProvider",
                    {
                        "device_id": idx,
                        "trt_fp16_enable": case.dtype in ("fp16", "bf16"),
                        "trt_engine_cache_enable": True,
                        "trt_engine_cache_path": str(onnx_export.onnx_path(case).parent / "ort-trt"),
                    },
                )
            )
        if "CUDAExecutionProvider" in available:
            chosen.append(
                (
                    "CUDAExecutionProvider",
                    {"device_id": idx, "use_tf32": int(case.dtype == "tf32"), "cudnn_conv_algo_search": "EXHAUSTIVE"},
                )
            )
        if not chosen:
            raise UnsupportedError(
                f"onnxruntime {ort.__version__} has no CUDA execution provider (available: "
                f"{', '.join(available)}): pip install onnxruntime-gpu"
            )
        return chosen + ["CPUExecutionProvider"]

    def check(self, case: ModelCase) -> None:
        super().check(case)
        self.providers(self.import_module(), case)  # before any export: a missing GPU provider costs nothing

    def prepare(self, case: ModelCase) -> Prepared:
        ort = self.import_module()
        providers = self.providers(ort, case)
        t0 = time.perf_counter()
        cached = onnx_export.onnx_path(case).exists()
        path = onnx_export.export(case)
        export_s = 0.0 if cached else time.perf_counter() - t0
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            sess = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as e:  # noqa: BLE001 - e.g. no kernel for a dtype on this EP
            raise UnsupportedError(
                f"onnxruntime cannot load {case.spec.name!r} in {case.dtype}: {_guard.summary(e, 400)}"
            ) from e
        kind = "cuda" if case.device.is_cuda else "cpu"
        names = [i.name for i in sess.get_inputs()]
        outputs = [o.name for o in sess.get_outputs()]
        bindings, keep = [], []
        for step in case.steps:
            b = sess.io_binding()
            for name, t in zip(names, step):
                t = t.contiguous()
                keep.append(t)  # the binding holds a raw pointer: keep the tensor alive
                b.bind_input(name, kind, case.device.index, _NP[t.dtype], list(t.shape), t.data_ptr())
            for name in outputs:
                b.bind_output(name, kind, case.device.index)
            bindings.append(b)

        def run() -> None:
            for b in bindings:
                sess.run_with_iobinding(b)

        def collect():
            run()
            return [[torch.from_numpy(np.asarray(v.numpy())) for v in b.get_outputs()] for b in bindings]

        try:
            run()
        except Exception as e:  # noqa: BLE001
            raise UnsupportedError(
                f"onnxruntime cannot run {case.spec.name!r} in {case.dtype}: {_guard.summary(e, 400)}"
            ) from e
        # run_with_iobinding returns when the device work is done, so the timer's default-stream events bracket it.
        return Prepared(
            run,
            collect,
            info={
                "onnxruntime": ort.__version__,
                "provider": sess.get_providers()[0],
                "onnx_file": str(path),
                "_keep": keep,
            },
            metrics={"export_s": export_s},
        )
