"""TensorRT: an engine built from the cached ONNX export with the TensorRT Python API (TensorRT 10).

Implemented against TensorRT's documented API; it could not be run where it was
written (no TensorRT there). The engine is cached next to the ONNX file, keyed by
the TensorRT version and GPU name. Models whose output shapes depend on the data
(detection) are refused: they would need an IOutputAllocator.
"""

from __future__ import annotations

import hashlib

import torch

from ...errors import UnsupportedError
from . import onnx_export
from .base import Backend, ModelCase, Prepared


class TensorRT(Backend):
    name = "tensorrt"
    module_name = "tensorrt"
    package = "tensorrt"
    needs_cuda = True

    def engine(self, trt, case: ModelCase) -> bytes:
        onnx_file = onnx_export.export(case)
        gpu = torch.cuda.get_device_name(case.device.index)
        tag = hashlib.sha256(f"{trt.__version__}|{gpu}".encode()).hexdigest()[:8]
        path = onnx_file.with_suffix(f".trt{tag}.engine")
        if path.exists():
            return path.read_bytes()
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
        parser = trt.OnnxParser(network, logger)
        if not parser.parse_from_file(str(onnx_file)):
            errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise UnsupportedError(f"TensorRT cannot parse the ONNX export of {case.spec.name!r}: {errs}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 8 << 30)
        if case.dtype == "fp32":
            config.clear_flag(trt.BuilderFlag.TF32)
        elif case.dtype == "tf32":
            config.set_flag(trt.BuilderFlag.TF32)
        elif case.dtype == "fp16":
            config.set_flag(trt.BuilderFlag.FP16)
        else:
            config.set_flag(trt.BuilderFlag.BF16)
        blob = builder.build_serialized_network(network, config)
        if blob is None:
            raise UnsupportedError(f"TensorRT could not build an engine for {case.spec.name!r} in {case.dtype}")
        data = bytes(blob)
        path.write_bytes(data)
        return data

    def prepare(self, case: ModelCase) -> Prepared:
        trt = self.import_module()
        types = {
            trt.float32: torch.float32,
            trt.float16: torch.float16,
            trt.bfloat16: torch.bfloat16,
            trt.int32: torch.int32,
            trt.int64: torch.int64,
            trt.bool: torch.bool,
            trt.int8: torch.int8,
        }
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        engine = runtime.deserialize_cuda_engine(self.engine(trt, case))
        context = engine.create_execution_context()
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if n not in inputs]
        dev = case.torch_device
        step_io = []
        for step in case.steps:
            bound = {n: t.contiguous() for n, t in zip(inputs, step)}
            for n, t in bound.items():
                context.set_input_shape(n, tuple(t.shape))
            for n in outputs:
                shape = tuple(context.get_tensor_shape(n))
                if any(d < 0 for d in shape):
                    raise UnsupportedError(
                        f"backend='tensorrt' does not run {case.spec.name!r}: output {n!r} has a data-dependent shape"
                    )
                bound[n] = torch.empty(shape, dtype=types[engine.get_tensor_dtype(n)], device=dev)
            step_io.append(bound)
        stream = torch.cuda.Stream(device=dev)

        def run() -> None:
            for bound in step_io:
                for n, t in bound.items():
                    context.set_tensor_address(n, t.data_ptr())
                context.execute_async_v3(stream.cuda_stream)

        def collect():
            run()
            stream.synchronize()
            return [[bound[n].clone() for n in outputs] for bound in step_io]

        return Prepared(run, collect, stream=stream.cuda_stream, info={"tensorrt": trt.__version__})
