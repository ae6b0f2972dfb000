"""Layer benchmarks on the CPU at tiny shapes; GPU checks marked cuda."""

import pytest
from _models_common import FAST, cuda, torch

from aimatrix import UnsupportedError
from aimatrix.layers import LAYERS, NAMES, catalog, layer, run_layers
from aimatrix.layers.layer_case import _shape
from aimatrix.macro.flops import count_macs

SMALL = {
    "conv_bn_relu": dict(n=2, c=4, h=8, w=8, k=4),
    "linear": dict(n=4, in_features=8, out_features=8),
    "lstm": dict(n=2, seq=3, input=8, hidden=8),
    "gru": dict(n=2, seq=3, input=8, hidden=8),
    "attention": dict(n=1, heads=2, seq=4, kv_seq=6, dim=8),
    "maxpool": dict(n=1, c=2, h=8, w=8),
    "avgpool": dict(n=1, c=2, h=8, w=8),
    "batchnorm": dict(n=2, c=2, h=4, w=4),
    "layernorm": dict(n=4, features=8),
    "softmax": dict(n=4, features=8),
    "embedding": dict(n=2, seq=3, vocab=10, dim=4),
    "embedding_bag": dict(n=2, bag=3, vocab=10, dim=4),
    "relu": dict(n=4, features=8),
    "clipped_relu": dict(n=4, features=8),
    "dice": dict(n=4, features=8),
    "rmsnorm": dict(n=4, features=8),
    "rotary": dict(n=1, heads=2, seq=4, dim=8),
    "swiglu": dict(n=4, hidden=8, intermediate=16),
}


def test_the_issue_layer_list_is_covered():
    assert set(NAMES) == set(SMALL)


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_every_layer_runs_verified(name, train):
    r = layer(name, device="cpu", train=train, **SMALL[name], **FAST)
    assert r.ok and r.op == "layer" and r.params["layer"] == name and r.params["train"] is train
    assert r.verify["passed"] and r.median_ms > 0
    assert r.metrics["gbps"] > 0
    for k, v in SMALL[name].items():
        assert r.params[k] == v


def test_low_precision_layer():
    r = layer("conv_bn_relu", dtype="bf16", device="cpu", **SMALL["conv_bn_relu"], **FAST)
    assert r.verify["passed"] and r.verify["rel_error"] > 0


@pytest.mark.parametrize(
    "name, shape",
    [
        ("conv_bn_relu", dict(n=2, c=6, h=9, w=7, k=4, r=3, stride=2, pad=1, groups=2)),
        ("linear", dict(n=3, in_features=5, out_features=7)),
        ("lstm", dict(n=2, seq=3, input=5, hidden=4, layers=2)),
        ("gru", dict(n=2, seq=3, input=5, hidden=4, layers=1)),
    ],
)
def test_flops_match_the_mac_counter(name, shape):
    s = _shape(name, shape)
    d = LAYERS[name]
    macs = count_macs(d.build(s), *d.inputs(s, torch.Generator().manual_seed(0)))
    assert d.flops(s) == 2 * macs


def test_catalog_holds_the_macro_models_shapes():
    entries = catalog()
    assert {e["model"] for e in entries} >= {"resnet50", "alexnet", "googlenet", "vgg16", "deepspeech", "nmt", "din"}
    for e in entries:
        assert e["layer"] in NAMES
        _shape(e["layer"], e["shape"])  # every shape is valid for its layer
    ds = catalog("deepspeech")
    assert any(e["layer"] == "lstm" and e["shape"]["hidden"] == 2048 for e in ds)
    assert any(e["layer"] == "attention" for e in catalog("nmt"))
    assert any(e["layer"] == "embedding" and e["shape"]["vocab"] == 63001 for e in catalog("din"))


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: layer("conv3d"), ValueError, ["conv3d", "conv_bn_relu", "dice"]),
        (lambda: layer("linear", n=0), ValueError, ["n=0"]),
        (lambda: layer("linear", kernel=3), TypeError, ["kernel", "in_features"]),
        (lambda: layer("linear", backend="onnxruntime"), ValueError, ["onnxruntime", "torch-graph"]),
        (lambda: layer("linear", train=True, backend="torch-compile"), UnsupportedError, ["train=True", "torch"]),
        (lambda: layer("linear", backend="torch-graph", device="cpu"), UnsupportedError, ["CUDA"]),
    ],
)
def test_bad_layer_input(call, exc, words):
    with pytest.raises(exc) as e:
        call()
    for w in words:
        assert w in str(e.value)


def test_run_layers_records_failures():
    cases = [
        {"layer": "relu", "shape": SMALL["relu"]},
        {"layer": "nope", "shape": {}},
        {"layer": "linear", "shape": {"n": 0}},
    ]
    out = list(run_layers(cases, "fp32", "torch", device="cpu", **FAST))
    assert [r.ok for r in out] == [True, False, False]
    assert out[1].error["type"] == "ValueError" and "nope" in out[1].error["message"]


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_gpu_catalog_layers(dtype):
    """One catalogued (full-size) shape of every layer type, eager and CUDA graph."""
    first = {}
    for e in catalog():
        first.setdefault(e["layer"], e)
    out = list(run_layers(list(first.values()), dtype, "torch,torch-graph", device="cuda", **FAST))
    bad = [(r.params, r.error) for r in out if not r.ok]
    assert not bad, bad
    assert len(out) == 2 * len(first) and all(r.verify["passed"] for r in out)
