"""The model zoo and ``aimatrix.macro.model`` on the CPU (tiny sizes); full-size GPU checks marked cuda."""

import importlib.util
import math

import pytest
from _models_common import FAST, cuda, torch

from aimatrix import OutOfMemoryError, UnsupportedError
from aimatrix.macro import backends, model, run_macro, zoo
from aimatrix.macro.flops import count_macs

MODELS = zoo.names()
# torchvision's published GMACs ("GFLOPS" in its docs) at 224x224.
PUBLISHED_GMACS = {"resnet50": 4.09, "resnet152": 11.51, "vgg16": 15.47, "densenet121": 2.83}


def test_zoo_lists_every_family():
    families = "alexnet googlenet vgg16 resnet50 resnet152 densenet121 maskrcnn ssd nmt nmt_beam deepspeech din"
    assert set(MODELS) >= set(families.split())


@pytest.mark.parametrize("name", sorted(PUBLISHED_GMACS))
def test_classification_macs_match_torchvision(name):
    assert zoo.macs(name) / 1e9 == pytest.approx(PUBLISHED_GMACS[name], rel=0.01)


def test_alexnet_is_the_caffe_reference():
    m = zoo.build("alexnet", device="meta")
    _, layers = count_macs(m, torch.empty(1, 3, 224, 224, device="meta"), per_layer=True)
    convs = [r for r in layers if r["type"] == "Conv2d"]
    assert [r["output"][1:] for r in convs] == [
        (96, 54, 54),
        (256, 27, 27),
        (384, 13, 13),
        (384, 13, 13),
        (256, 13, 13),
    ]
    groups = [mod.groups for mod in m.modules() if isinstance(mod, torch.nn.Conv2d)]
    assert groups == [1, 2, 1, 2, 2]
    first = next(mod for mod in m.modules() if isinstance(mod, torch.nn.Conv2d))
    assert (first.kernel_size, first.stride, first.padding) == ((11, 11), (4, 4), (0, 0))
    pools = [mod for mod in m.modules() if isinstance(mod, torch.nn.MaxPool2d)]
    assert all(p.ceil_mode for p in pools)
    assert [r["input"][1] for r in layers if r["type"] == "Linear"] == [9216, 4096, 4096]  # pool5 is 256x6x6
    assert zoo.macs("alexnet") / 1e9 == pytest.approx(0.72, rel=0.01)


@pytest.mark.parametrize("shape", [(2, 96, 7, 9), (3, 5, 4, 4), (1, 1, 3, 3)])
def test_lrn_is_torch_local_response_norm_in_any_memory_format(shape):
    from aimatrix.models._common import LRN

    x = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ref = torch.nn.LocalResponseNorm(5, alpha=0.01, beta=0.75, k=1.0)(x)  # a large alpha: the window shows
    for xx in (x, x.contiguous(memory_format=torch.channels_last)):
        torch.testing.assert_close(LRN(5, alpha=0.01, beta=0.75, k=1.0)(xx), ref, rtol=1e-12, atol=1e-12)


def test_googlenet_is_bvlc():
    m = zoo.build("googlenet", device="meta")
    _, layers = count_macs(m, torch.empty(1, 3, 224, 224, device="meta"), per_layer=True)
    five = [mod for mod in m.modules() if isinstance(mod, torch.nn.Conv2d) and mod.kernel_size == (5, 5)]
    assert len(five) == 9  # one true 5x5 branch per inception module
    assert not any(isinstance(mod, torch.nn.BatchNorm2d) for mod in m.modules())
    assert layers[-1]["input"] == (1, 1024)
    assert zoo.macs("googlenet") / 1e9 == pytest.approx(1.58, rel=0.02)  # BVLC GoogLeNet: ~1.5-1.6 GMACs


@pytest.mark.parametrize("name", MODELS)
def test_tiny_models_shapes_and_seed_determinism(name):
    steps = zoo.inputs(name, 2, "tiny")
    a = zoo.build(name, "tiny", seed=1)
    b = zoo.build(name, "tiny", seed=1)
    c = zoo.build(name, "tiny", seed=2)
    with torch.no_grad():
        oa, ob, oc = (m(*steps[0]) for m in (a, b, c))
    flat = lambda o: [t for t in torch.utils._pytree.tree_leaves(o)]  # noqa: E731
    for x, y in zip(flat(oa), flat(ob)):
        assert torch.equal(x, y)
    assert any(not torch.equal(x.float(), y.float()) for x, y in zip(flat(oa), flat(oc)) if x.shape == y.shape)
    spec = zoo.spec(name)
    if spec.family == "classification":
        assert oa.shape == (2, 10)
    elif spec.family == "detection":
        per_image = len(zoo.build(name, "tiny", device="meta").fields)
        assert len(oa) == 2 * per_image
    elif name.startswith("nmt"):
        assert oa[0].shape == (2, 5) and oa[1].shape == (2,)
    elif name == "deepspeech":
        assert oa[0].shape[0] == 2 and oa[0].shape[2] == 29
    elif name == "din":
        assert oa.shape == (2,) and ((oa > 0) & (oa < 1)).all()


def test_maskrcnn_is_28_images_times_batch_with_fixed_work():
    spec = zoo.spec("maskrcnn")
    assert zoo.items("maskrcnn", 3) == 28 * 3
    steps = spec.make_inputs(3, "tiny", 0)
    assert all(s[0].shape[0] == 3 for s in steps)
    assert torch.equal(steps[0][0][0], steps[0][0][2])  # one image repeated to the batch
    m = zoo.build("maskrcnn", "full", device="meta")
    rh, rpn = m.model.roi_heads, m.model.rpn
    assert (rh.score_thresh, rh.nms_thresh, rh.detections_per_img) == (0.0, 1.0, 100)
    assert rpn.nms_thresh == 1.0 and rpn._post_nms_top_n["testing"] == 1000
    assert len(m.model.backbone.body.layer3) == 23  # ResNet-101


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
@pytest.mark.parametrize("name", MODELS)
def test_every_tiny_model_runs_and_verifies(name, backend, tmp_path_factory):
    cache = tmp_path_factory.getbasetemp() / "aimatrix-cache"
    r = model(name, size="tiny", batch=2, backend=backend, device="cpu", cache_dir=cache, **FAST)
    assert r.ok and r.op == "model" and r.backend == backend
    assert r.verify["passed"], r.verify
    assert r.items_per_s > 0 and r.metrics["items"] == zoo.items(name, 2, "tiny")
    assert r.metrics["macs"] > 0 and r.stats["n"] >= 1
    if backend == "onnxruntime":
        assert r.ran["provider"] == "CPUExecutionProvider"


def test_single_stream_reports_latency_percentiles():
    r = model(
        "resnet50",
        size="tiny",
        scenario="single_stream",
        device="cpu",
        min_queries=20,
        min_duration=0.01,
        warmup=0.01,
        loadgen=False,
    )
    assert r.params["batch"] == 1 and r.stats["repeat"] == 1 and r.stats["n"] >= 20
    p = [r.metrics[f"latency_p{q}_ms"] for q in (50, 90, 99)]
    assert 0 < p[0] <= p[1] <= p[2]


def test_low_precision_on_cpu_verifies_within_tolerance():
    r = model("resnet50", size="tiny", batch=2, dtype="bf16", device="cpu", **FAST)
    assert r.verify["passed"] and 0 < r.verify["rel_error"] <= r.verify["tolerance"]


def test_warm_start_trains_the_weights():
    ref = model("din", size="tiny", batch=4, device="cpu", **FAST)
    warm = model("din", size="tiny", batch=4, device="cpu", warm_start_iters=3, **FAST)
    assert warm.params["warm_start_iters"] == 3 and warm.verify["passed"]
    spec = zoo.spec("din")
    m = zoo.build("din", "tiny")
    before = [p.detach().clone() for p in m.parameters()]
    from aimatrix.macro.model_case import warm_start

    warm_start(m, spec, zoo.inputs("din", 4, "tiny", seed=1), 3, seed=0)
    assert any(not torch.equal(a, b) for a, b in zip(before, m.parameters()))
    assert not m.training and ref.ok


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(name="resnet5"), ValueError, ["resnet5", "resnet50", "maskrcnn"]),
        (dict(name="din", backend="mxnet"), ValueError, ["mxnet", "torch-graph", "onnxruntime"]),
        (dict(name="din", scenario="batch"), ValueError, ["batch", "offline", "single_stream", "server"]),
        (dict(name="din", batch=0), ValueError, ["batch=0"]),
        (dict(name="din", batch=-3), ValueError, ["batch=-3"]),
        (dict(name="din", batch=2.5), TypeError, ["batch=2.5"]),
        (dict(name="din", scenario="single_stream", batch=4), ValueError, ["single_stream", "batch 1"]),
        (dict(name="din", dtype="fp8"), ValueError, ["fp8", "bf16"]),
        (dict(name="din", size="huge"), ValueError, ["huge", "tiny"]),
        (dict(name="din", backend="tensorrt"), UnsupportedError, ["pip install tensorrt"]),
        (dict(name="din", backend="tensorflow"), UnsupportedError, ["pip install tensorflow"]),
        (dict(name="din", backend="torch-graph"), UnsupportedError, ["CUDA", "cpu"]),
        (dict(name="din", dtype="tf32"), UnsupportedError, ["tf32", "fp32"]),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, exc, words):
    name = kwargs.pop("name")
    if kwargs.get("backend") in ("tensorrt", "tensorflow") and importlib.util.find_spec(kwargs["backend"]):
        pytest.skip(f"{kwargs['backend']} is installed here")
    with pytest.raises(exc) as e:
        model(name, **{"size": "tiny", "device": "cpu", **kwargs}, **FAST)
    for w in words:
        assert w in str(e.value)


def test_too_large_for_memory_is_out_of_memory_error():
    # 10^12 goods x 8 floats: far past any host's address space, so the real allocation fails.
    with pytest.raises(OutOfMemoryError, match="does not fit"):
        model("din", size="tiny", batch=2, device="cpu", model_kw={"goods": 10**12}, **FAST)


def test_run_macro_records_failures_and_goes_on():
    out = list(run_macro("din,nosuchmodel", [2, 0], "fp32", "torch,tensorrt", size="tiny", device="cpu", **FAST))
    assert len(out) == 2 * 2 * 2
    ok = [r for r in out if r.ok]
    assert [(r.params["model"], r.params["batch"], r.backend) for r in ok] == [("din", 2, "torch")]
    failed = {(r.params["model"], r.params["batch"], r.backend): r.error for r in out if not r.ok}
    assert "nosuchmodel" in failed[("nosuchmodel", 2, "torch")]["message"]
    assert failed[("din", 0, "torch")]["type"] == "ValueError"
    assert failed[("din", 2, "tensorrt")]["type"] == "UnsupportedError"
    assert all(math.isfinite(r.items_per_s) for r in ok)


# ---- GPU (the lead runs these on the H100) -------------------------------------------------------
# Correctness, not speed: tiny sizes, the FAST timing, every model under every installed backend in
# fp32 and bf16 once (the full-size throughput table is bench/macro_vs_raw.py's, via bench/gpu_models.sh).

GPU_BACKENDS = [b for b in backends.NAMES if b in backends.installed()]


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("backend", GPU_BACKENDS)
@pytest.mark.parametrize("name", MODELS)
def test_gpu_every_model_every_backend(name, backend, tmp_path_factory):
    """Runs and verifies in fp32 and bf16, or is refused for a reason the backend documents."""
    cache = tmp_path_factory.getbasetemp() / "aimatrix-cache"
    refused = []
    for dtype in ("fp32", "bf16"):
        try:
            r = model(name, size="tiny", batch=2, dtype=dtype, backend=backend, device="cuda", cache_dir=cache, **FAST)
        except UnsupportedError as e:
            msg = str(e)
            if backend == "torch-graph":
                spec = zoo.spec(name)  # detection captures its dense parts; a refusal is for the rest
                assert not spec.graph_capturable and not spec.parts and "synchronises with the host" in msg, msg
            elif backend == "onnxruntime":
                assert "no CUDA execution provider" in msg or "bf16" in msg or "bfloat16" in msg, msg
            else:
                assert backend in ("tensorrt", "tensorflow"), msg
            refused.append(f"{dtype}: {msg}")
            continue
        assert r.ok and r.verify["passed"], (dtype, r.verify)
        assert r.metrics["peak_memory_bytes"] > 0 and r.items_per_s > 0
        if backend == "torch-compile":
            assert r.metrics["compile_s"] > 0
        if backend == "torch-graph":
            assert r.ran["graph"] == (
                "whole model" if zoo.spec(name).graph_capturable else "parts: " + ", ".join(zoo.spec(name).parts)
            ), r.params
    if len(refused) == 2:
        pytest.skip("; ".join(refused))


@cuda
@pytest.mark.cuda
def test_gpu_full_size_resnet50_graph_and_eager():
    """One full-size model: eager and the whole-model CUDA-graph replay both verify. (Which is faster is a
    benchmark's question, bench/macro_vs_raw.py's: this test ran beside seven others on one GPU, where a time
    read 1.8x.)"""
    e = model("resnet50", batch=64, dtype="bf16", backend="torch", device="cuda", max_time=0.5)
    g = model("resnet50", batch=64, dtype="bf16", backend="torch-graph", device="cuda", max_time=0.5)
    assert e.verify["passed"] and g.verify["passed"]
    assert g.ran["graph"] == "whole model" and e.median_ms > 0 and g.median_ms > 0


@cuda
@pytest.mark.cuda
def test_gpu_single_stream_and_best():
    r = model("resnet50", scenario="single_stream", device="cuda", min_queries=100, min_duration=0.5, loadgen=False)
    assert r.metrics["latency_p99_ms"] >= r.metrics["latency_p50_ms"] > 0
    rs = model("resnet50", size="tiny", batch=8, dtype="bf16", backend="best", device="cuda", **FAST)
    assert rs[0].ok and rs[0].metrics.get("best") is True
    assert {"torch", "torch-graph", "torch-compile"} <= {r.backend for r in rs if r.ok}


@cuda
@pytest.mark.cuda
def test_gpu_out_of_memory():
    # 8192 images: 4.9 GB of input on the host, but conv1's output alone is 105 GB on the GPU.
    with pytest.raises(OutOfMemoryError, match="does not fit"):
        model("vgg16", batch=8192, device="cuda", **FAST)
    assert model("din", size="tiny", batch=2, device="cuda", **FAST).ok  # the device stays usable
