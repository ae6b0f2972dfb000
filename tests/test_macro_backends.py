"""The macro backends: registry, the ONNX export cache, dtypes, torch.compile; GPU ones marked cuda."""

import importlib.util
import os

import pytest
from _models_common import FAST, HAS_CUDA, cuda, torch

from aimatrix import UnsupportedError
from aimatrix.macro import BACKENDS, backends, model, zoo
from aimatrix.macro.backends import onnx_export


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
    r = model(
        "resnet50", size="tiny", batch=2, dtype="fp16", backend="onnxruntime", device="cpu", cache_dir=tmp_path, **FAST
    )
    assert r.verify["passed"] and r.verify["rel_error"] > 0
    with pytest.raises(UnsupportedError, match="onnxruntime"):  # the CPU EP has no bf16 convolution
        model(
            "resnet50",
            size="tiny",
            batch=2,
            dtype="bf16",
            backend="onnxruntime",
            device="cpu",
            cache_dir=tmp_path,
            **FAST,
        )


def test_best_reports_every_backend_fastest_first(tmp_path):
    rs = model("din", size="tiny", batch=4, backend="best", device="cpu", cache_dir=tmp_path, **FAST)
    names = [r.backend for r in rs]
    assert {"torch", "onnxruntime", "torch-compile"} <= set(names) and "torch-graph" not in names
    ok = [r for r in rs if r.ok]
    assert ok[0].metrics["best"] is True and all("best" not in r.metrics for r in rs[1:])
    assert [r.median_ms for r in ok] == sorted(r.median_ms for r in ok)
    assert all(r.params["best_of"] == names for r in rs)


def test_onnx_export_failure_is_one_line_and_a_log(tmp_path, monkeypatch, capfd):
    def chatty_failure(*args, **kwargs):
        print("graph dump line\n" * 5000)  # what the dynamo exporter prints before it fails
        os.write(2, b"C++ warning from the tracer\n")
        raise RuntimeError(
            "The following operation failed in the TorchScript interpreter.\nTraceback ...\n"
            + "  frame\n" * 200
            + "RuntimeError: \"nms_kernel\" not implemented for 'Half'"
        )

    monkeypatch.setattr(torch.onnx, "export", chatty_failure)
    with pytest.raises(UnsupportedError) as e:
        model("din", size="tiny", batch=2, backend="onnxruntime", device="cpu", cache_dir=tmp_path, **FAST)
    msg = str(e.value)
    assert "\n" not in msg and len(msg) < 1000, msg
    assert "torchscript exporter: RuntimeError: \"nms_kernel\" not implemented for 'Half'" in msg
    assert "dynamo exporter" in msg
    (log,) = (tmp_path / "onnx").glob("din-tiny-b2-fp32-*.log")
    assert f"(full log: {log})" in msg
    text = log.read_text()
    assert text.count("graph dump line") == 2 * 5000 and "C++ warning from the tracer" in text
    assert "Traceback (most recent call last)" in text and "frame" in text
    out, err = capfd.readouterr()
    assert "graph dump" not in out + err and "C++ warning" not in out + err


def test_onnx_export_success_is_quiet(tmp_path, capfd):
    r = model("ssd", size="tiny", batch=1, backend="onnxruntime", device="cpu", cache_dir=tmp_path, **FAST)
    assert r.verify["passed"] and r.metrics["export_s"] > 0
    out, err = capfd.readouterr()
    assert "onnx" not in (out + err).lower() and "warning" not in (out + err).lower(), out + err
    assert onnx_export.log_path  # the log sits next to the ONNX file
    assert os.path.exists(r.params["onnx_file"][: -len(".onnx")] + ".log")
    again = model("ssd", size="tiny", batch=1, backend="onnxruntime", device="cpu", cache_dir=tmp_path, **FAST)
    assert again.metrics["export_s"] == 0.0  # cached


@pytest.mark.parametrize("name", ["maskrcnn", "ssd"])
def test_detection_onnx_fp16_runs_dense_parts_in_fp16(name, tmp_path):
    """Backbone and heads in fp16, box decoding and NMS in fp32 (the CPU has no fp16 NMS)."""
    r = model(name, size="tiny", batch=1, dtype="fp16", backend="onnxruntime", device="cpu", cache_dir=tmp_path, **FAST)
    assert r.verify["passed"] and 0 < r.verify["rel_error"] <= r.verify["tolerance"], r.verify
    import onnx

    def nodes(graph):  # with the bodies of If/Loop nodes (batched NMS is one)
        for n in graph.node:
            yield n
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    yield from nodes(a.g)

    g = onnx.load(r.params["onnx_file"]).graph
    convs = [n for n in g.node if n.op_type == "Conv"]
    assert convs and any(n.op_type == "NonMaxSuppression" for n in nodes(g))
    weights = {i.name: i.data_type for i in g.initializer}
    assert {weights[n.input[1]] for n in convs} == {onnx.TensorProto.FLOAT16}


def test_torch_compile_matches_eager():
    r = model("alexnet", size="tiny", batch=2, backend="torch-compile", device="cpu", **FAST)
    assert r.ok and r.verify["passed"]
    assert r.metrics["compile_s"] > 0 and r.metrics["graph_breaks"] == 0
    assert r.ran["compiled"] == "whole model" and r.params["compile_mode"] == "default"


def test_torch_compile_of_a_detection_model_compiles_its_dense_parts():
    r = model("ssd", size="tiny", batch=2, backend="torch-compile", device="cpu", **FAST)
    assert r.verify["passed"] and r.metrics["graph_breaks"] == 0
    assert r.ran["compiled"] == "parts: model.backbone, model.head"


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
@pytest.mark.parametrize("name", [n for n in zoo.names() if n not in ("alexnet", "ssd")])
def test_torch_compile_every_tiny_model(name, dtype):
    r = model(name, size="tiny", batch=2, dtype=dtype, backend="torch-compile", device="cpu", **FAST)
    assert r.verify["passed"], r.verify
    assert r.metrics["compile_s"] > 0
    if name in ("nmt", "nmt_beam", "deepspeech"):  # Dynamo leaves nn.LSTM to eager, and says so
        assert r.metrics["graph_breaks"] > 0 and "LSTM" in r.ran["graph_break_reasons"]
    else:
        assert r.metrics["graph_breaks"] == 0 and "graph_break_reasons" not in r.ran


def test_torch_compile_mode_is_checked():
    with pytest.raises(ValueError, match="compile_mode='fast'.*max-autotune-no-cudagraphs"):
        model("din", size="tiny", backend="torch-compile", device="cpu", compile_mode="fast", **FAST)
    if not HAS_CUDA:
        with pytest.raises(UnsupportedError, match="CUDA graphs"):
            model("din", size="tiny", backend="torch-compile", device="cpu", compile_mode="reduce-overhead", **FAST)


def test_channels_last_is_on_for_cnns_only():
    assert model("alexnet", size="tiny", batch=1, device="cpu", **FAST).params["channels_last"] is True
    assert model("din", size="tiny", batch=1, device="cpu", **FAST).params["channels_last"] is False
    assert (
        model("alexnet", size="tiny", batch=1, device="cpu", channels_last=False, **FAST).params["channels_last"]
        is False
    )


@pytest.mark.skipif(HAS_CUDA, reason="checks the CPU refusal")
def test_graph_backend_needs_cuda():
    with pytest.raises(UnsupportedError, match="needs a CUDA device"):
        model("resnet50", size="tiny", batch=1, backend="torch-graph", device="cpu", **FAST)


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize(
    "backend, dtype",
    [
        (b, d)
        for b in ("torch-graph", "onnxruntime", "tensorrt", "tensorflow")
        for d in ("fp32", "tf32", "fp16", "bf16")
    ],
)  # torch-compile: tests/test_models.py compiles every tiny model (a full-size compile takes a minute)
def test_gpu_backends_resnet50(backend, dtype, tmp_path):
    """Full-size ResNet-50 under every GPU backend and precision: runs and verifies, or says why it cannot."""
    try:
        r = model("resnet50", batch=8, dtype=dtype, backend=backend, device="cuda", cache_dir=tmp_path, **FAST)
    except UnsupportedError as e:
        if backend in ("tensorrt", "tensorflow", "onnxruntime"):
            pytest.skip(str(e))
        raise
    assert r.verify["passed"], r.verify
    if backend == "onnxruntime":
        assert r.ran["provider"] in ("TensorrtExecutionProvider", "CUDAExecutionProvider")
