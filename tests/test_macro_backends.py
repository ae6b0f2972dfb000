"""The macro backends: registry, the ONNX export cache, dtypes, torch.compile; GPU ones marked cuda."""

import importlib.util
import os

import pytest

from _models_common import FAST, HAS_CUDA, cuda, torch

from aimatrix import UnsupportedError
from aimatrix.macro import BACKENDS, backends, model


def test_registry_and_installed():
    assert BACKENDS == ("torch", "torch-compile", "torch-graph", "onnxruntime", "tensorrt", "tensorflow")
    inst = backends.installed()
    assert {"torch", "torch-compile", "torch-graph", "onnxruntime"} <= set(inst)
    for name in ("tensorrt", "tensorflow"):
        assert (name in inst) == bool(importlib.util.find_spec(name))
    with pytest.raises(ValueError, match="known backends are torch, torch-compile"):
        backends.get("caffe")


def test_onnx_export_is_cached(tmp_path):
    r1 = model("din", size="tiny", batch=3, backend="onnxruntime", device="cpu", cache_dir=tmp_path, **FAST)
    files = list((tmp_path / "onnx").glob("din-tiny-b3-fp32-*.onnx"))
    assert len(files) == 1 and r1.params["onnx_file"] == str(files[0])
    before = os.stat(files[0]).st_mtime_ns
    r2 = model("din", size="tiny", batch=3, backend="onnxruntime", device="cpu", cache_dir=tmp_path, **FAST)
    assert os.stat(files[0]).st_mtime_ns == before and r2.params["onnx_file"] == r1.params["onnx_file"]
    model("din", size="tiny", batch=3, seed=1, backend="onnxruntime", device="cpu", cache_dir=tmp_path, **FAST)
    assert len(list((tmp_path / "onnx").glob("din-tiny-b3-fp32-*.onnx"))) == 2  # other weights, other file


def test_onnxruntime_fp16_and_unsupported_bf16(tmp_path):
    r = model("resnet50", size="tiny", batch=2, dtype="fp16", backend="onnxruntime", device="cpu", cache_dir=tmp_path, **FAST)
    assert r.verify["passed"] and r.verify["rel_error"] > 0
    with pytest.raises(UnsupportedError, match="onnxruntime"):  # the CPU EP has no bf16 convolution
        model("resnet50", size="tiny", batch=2, dtype="bf16", backend="onnxruntime", device="cpu", cache_dir=tmp_path, **FAST)


def test_best_reports_every_backend_fastest_first(tmp_path):
    rs = model("din", size="tiny", batch=4, backend="best", device="cpu", cache_dir=tmp_path, **FAST)
    names = [r.backend for r in rs]
    assert {"torch", "onnxruntime", "torch-compile"} <= set(names) and "torch-graph" not in names
    ok = [r for r in rs if r.ok]
    assert ok[0].metrics["best"] is True and all("best" not in r.metrics for r in rs[1:])
    assert [r.median_ms for r in ok] == sorted(r.median_ms for r in ok)
    assert all(r.params["best_of"] == names for r in rs)


def test_torch_compile_matches_eager():
    r = model("alexnet", size="tiny", batch=2, backend="torch-compile", device="cpu", **FAST)
    assert r.ok and r.verify["passed"]


def test_channels_last_is_on_for_cnns_only():
    assert model("alexnet", size="tiny", batch=1, device="cpu", **FAST).params["channels_last"] is True
    assert model("din", size="tiny", batch=1, device="cpu", **FAST).params["channels_last"] is False
    assert model("alexnet", size="tiny", batch=1, device="cpu", channels_last=False, **FAST).params["channels_last"] is False


@pytest.mark.skipif(HAS_CUDA, reason="checks the CPU refusal")
def test_graph_backend_needs_cuda():
    with pytest.raises(UnsupportedError, match="needs a CUDA device"):
        model("resnet50", size="tiny", batch=1, backend="torch-graph", device="cpu", **FAST)


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("backend, dtype", [
    (b, d) for b in ("torch-graph", "onnxruntime", "tensorrt", "tensorflow") for d in ("fp32", "tf32", "fp16", "bf16")
] + [("torch-compile", "bf16")])  # compile once: each compile costs tens of seconds
def test_gpu_backends_resnet50(backend, dtype, tmp_path):
    """ResNet-50 under every GPU backend and precision: runs and verifies, or says why it cannot."""
    try:
        r = model("resnet50", batch=8, dtype=dtype, backend=backend, device="cuda", cache_dir=tmp_path, **FAST)
    except UnsupportedError as e:
        if backend in ("tensorrt", "tensorflow", "onnxruntime"):
            pytest.skip(str(e))
        raise
    assert r.verify["passed"], r.verify
    if backend == "onnxruntime":
        assert r.params["provider"] in ("TensorrtExecutionProvider", "CUDAExecutionProvider")


@cuda
@pytest.mark.cuda
def test_gpu_graph_replay_is_not_slower_than_eager():
    e = model("resnet50", batch=64, dtype="bf16", backend="torch", device="cuda", max_time=1.0)
    g = model("resnet50", batch=64, dtype="bf16", backend="torch-graph", device="cuda", max_time=1.0)
    assert g.median_ms <= e.median_ms * 1.05
