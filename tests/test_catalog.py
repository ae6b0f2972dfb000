"""Size catalogues: they load, hold what DeepBench published, and run end to end into JSONL."""

import json

import pytest

from aimatrix.micro.catalog import catalog, names


@pytest.mark.parametrize("name", names())
def test_every_catalogue_loads(name):
    entries = catalog(name)
    assert entries and all(e["op"] in ("gemm", "conv", "membw", "launch") and e["name"] for e in entries)
    assert len({e["name"] for e in entries}) == len(entries)


def test_deepbench_sizes():
    assert len(catalog("deepbench-train-gemm")) == 160
    assert len(catalog("deepbench-inference-server-gemm")) == 75
    assert len(catalog("deepbench-inference-device-gemm")) == 13
    assert len(catalog("deepbench-train-conv")) == 94
    assert len(catalog("deepbench-inference-server-conv")) == 107
    assert len(catalog("deepbench-inference-device-conv")) == 16
    assert catalog("deepbench-inference-gemm") == catalog("deepbench-inference-server-gemm")
    first = catalog("deepbench-train-conv")[0]  # DeepBench: w=700 h=161 c=1 n=4 k=32 s=20 r=5 pad 0 stride 2
    assert (first["w"], first["h"], first["c"], first["n"], first["k"], first["s"], first["r"]) == (
        700,
        161,
        1,
        4,
        32,
        20,
        5,
    )
    assert first["stride"] == (2, 2) and first["pad"] == (0, 0)
    g = catalog("deepbench-train-gemm")[40]
    assert (g["m"], g["n"], g["k"], g["trans_a"], g["trans_b"]) == (1760, 7133, 1760, False, True)


def test_every_deepbench_conv_has_a_valid_output():
    from aimatrix.micro.conv import output_size

    for name in ("deepbench-train-conv", "deepbench-inference-server-conv", "deepbench-inference-device-conv"):
        for e in catalog(name):
            assert output_size(e["h"], e["r"], e["stride"][0], e["pad"][0], 1) >= 1
            assert output_size(e["w"], e["s"], e["stride"][1], e["pad"][1], 1) >= 1


def test_resnet50_layers():
    layers = catalog("resnet50-conv", batch=8)
    assert all(e["n"] == 8 for e in layers)
    assert sum(e["count"] for e in layers) == 53  # 1 stem + 16 blocks x 3 + 4 downsamples
    macs = (
        sum(
            e["count"]
            * e["n"]
            * e["k"]
            * e["c"]
            * e["r"]
            * e["s"]
            * ((e["h"] + 2 * e["pad"] - e["r"]) // e["stride"] + 1) ** 2
            for e in layers
        )
        / 8
    )
    assert abs(macs / 1e9 - 4.09) < 0.05  # ResNet-50's ~4.1 GMACs of convolution per 224x224 image


def test_unknown_catalogue():
    with pytest.raises(ValueError, match="catalogue 'imagenet' is not known: expected one of deepbench-train-gemm"):
        catalog("imagenet")


def test_catalogue_runs_end_to_end_into_jsonl(tmp_path):
    from aimatrix.cli import main

    out = tmp_path / "quick.jsonl"
    rc = main(["micro", "--catalog", "quick", "--device", "cpu", "--quick", "--max-time", "0.05", "--out", str(out)])
    records = [json.loads(line) for line in out.read_text().splitlines()]
    ops = [r["op"] for r in records]
    assert ops.count("gemm") == 2 and ops.count("conv") == 2 and ops.count("membw") == 2
    # Launch latency needs a GPU: on the CPU the case is recorded as failed and the run goes on.
    launch = [r for r in records if r["op"] == "launch"]
    assert launch and launch[0]["error"]["type"] == "UnsupportedError"
    assert rc == 1
    assert all(r["error"] is None for r in records if r["op"] != "launch")


def test_catalogue_case_with_an_impossible_shape_is_recorded_and_the_run_goes_on(tmp_path):
    from aimatrix.device import resolve
    from aimatrix.suite.micro import catalog_cases
    from aimatrix.suite.runner import run_cases

    entries = [
        {"op": "conv", "name": "bad", "n": 1, "c": 3, "h": 4, "w": 4, "k": 4, "r": 7, "s": 7, "stride": 1, "pad": 0},
        {"op": "gemm", "name": "ok", "m": 8, "n": 8, "k": 8, "trans_a": False, "trans_b": False},
    ]
    cases = catalog_cases(entries, resolve("cpu"), dtypes=["fp32"], timing=dict(max_time=0.05, min_time=0.0))
    results = run_cases(cases, device="cpu", out=str(tmp_path / "r.jsonl"))
    assert results[0].error["type"] == "ValueError" and "larger than the padded input" in results[0].error["message"]
    assert results[1].ok
