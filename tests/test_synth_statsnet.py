"""``am.model("statsnet")``: the shipped synthesis as a zoo model (CPU, tiny size; full size on the meta device)."""

from __future__ import annotations

import json

import pytest
from _models_common import FAST, torch

import aimatrix as am
import aimatrix.synth as S
from aimatrix.macro import zoo
from aimatrix.models import statsnet


def test_full_size_is_the_shipped_synthesis():
    sm = S.SyntheticModel.load(statsnet.SYNTHESIS)
    assert [g.center for g in sm.groups] == [224, 112, 56, 28, 14, 7]
    assert sm.models == ["alexnet", "vgg16", "googlenet"] and sm.seed == 0
    assert sm.max_fitness_error <= 0.0005
    m = zoo.build("statsnet", device="meta")
    convs = [x for x in m.modules() if isinstance(x, torch.nn.Conv2d)]
    assert len(convs) == sm.conv_count
    assert [c.out_channels for c in convs] == [f for g in sm.groups for f in g.filters]
    assert zoo.macs("statsnet", batch=1) == sm.macs  # conv MACs as synthesized: the network is the synthesis


def test_shipped_synthesis_reproduces_from_its_seed():
    """bench/synth_fidelity.py --ship made it: the paper set at 224, batch 1, paper objective, seed 0."""
    wl = S.profile(["alexnet", "vgg16", "googlenet"], input_size=224, batch=1)
    assert S.synthesize(S.cluster(wl, [224, 112, 56, 28, 14, 7]), seed=0) == S.SyntheticModel.load(statsnet.SYNTHESIS)


def test_tiny_keeps_layers_kernels_and_strides():
    full, tiny = statsnet.synthesis("full"), statsnet.synthesis("tiny")
    assert [g.kernels for g in tiny.groups] == [g.kernels for g in full.groups]
    assert [g.strides for g in tiny.groups] == [g.strides for g in full.groups]
    assert [g.h for g in tiny.groups] == [64, 32, 16, 8, 4, 2]
    for a, b in zip(tiny.groups, tiny.groups[1:]):
        assert b.cin == a.filters[-1]
    ((x,),) = zoo.inputs("statsnet", 2, "tiny")
    out = zoo.build("statsnet", "tiny")(x)
    assert out.shape == (2, tiny.groups[-1].filters[-1], 2, 2) and torch.isfinite(out).all()


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_am_model_statsnet_runs_and_verifies(backend, tmp_path):
    pytest.importorskip("onnxruntime") if backend == "onnxruntime" else None
    r = am.model("statsnet", size="tiny", batch=2, backend=backend, device="cpu", cache_dir=tmp_path, **FAST)
    assert r.ok and r.verify["passed"], r.verify
    assert r.metrics["items"] == 2 and r.items_per_s > 0


@pytest.mark.slow
def test_am_model_statsnet_torch_compile_on_cpu():
    r = am.model("statsnet", size="tiny", batch=2, backend="torch-compile", device="cpu", **FAST)
    assert r.ok and r.verify["passed"], r.verify


def test_another_saved_synthesis(tmp_path):
    wl = S.profile(["vgg16"], input_size=224, batch=1)
    sm = S.synthesize(S.cluster(wl, [224, 112, 56, 28, 14]), population=200, generations=5, seed=3)
    p = sm.save(tmp_path / "s.json")
    m = zoo.build("statsnet", device="meta", synthesis=p)
    assert sum(isinstance(x, torch.nn.Conv2d) for x in m.modules()) == sm.conv_count
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "aimatrix.synthetic/1", "groups": []}))
    with pytest.raises(ValueError, match="groups"):
        zoo.build("statsnet", device="meta", synthesis=bad)


@pytest.mark.cuda
@pytest.mark.parametrize(
    "backend, dtype", [("torch", "bf16"), ("torch-graph", "fp16"), ("torch-compile", "fp32"), ("onnxruntime", "fp32")]
)
def test_gpu_statsnet_every_backend(backend, dtype, tmp_path):
    if backend == "onnxruntime":
        ort = pytest.importorskip("onnxruntime")
        if "CUDAExecutionProvider" not in ort.get_available_providers():  # a CPU-only build: refused, and why
            with pytest.raises(am.UnsupportedError, match="no CUDA execution provider"):
                am.model("statsnet", size="tiny", batch=2, backend=backend, device="cuda", cache_dir=tmp_path)
            pytest.skip("onnxruntime has no CUDA execution provider here")
    r = am.model(
        "statsnet", size="tiny", batch=2, dtype=dtype, backend=backend, device="cuda", cache_dir=tmp_path, **FAST
    )
    assert r.ok and r.verify["passed"], r.error if not r.ok else r.verify


@pytest.mark.cuda
def test_gpu_statsnet_full_size_bf16():
    r = am.model("statsnet", batch=32, dtype="bf16", device="cuda", **FAST)
    assert r.ok and r.verify["passed"], r.verify
    assert r.metrics["items"] == 32
