"""The bench CLI end to end on the CPU."""

import json
import subprocess
import sys

import pytest

from aimatrix.cli import main


def _quick_micro_run(out, reference: str) -> int:
    """The CLI's exit code for a quick micro-tier run on the CPU into ``out``, scored against ``reference``."""
    args = ["--device", "cpu", "--quick", "--tiers", "micro", "--max-time", "0.05"]
    return main([*args, "--out", str(out), "--reference", reference])


def test_default_suite_writes_jsonl_html_and_a_score_card(tmp_path, capsys):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert _quick_micro_run(first, "none") == 0
    lines = [json.loads(x) for x in first.read_text().splitlines()]
    assert {d["op"] for d in lines} == {"gemm", "conv", "membw"}
    assert all(d["error"] is None and d["verify"]["passed"] for d in lines)
    assert (tmp_path / "a.html").exists()
    capsys.readouterr()
    # The same cases again, scored against the first run: every case has a reference.
    assert _quick_micro_run(second, str(first)) == 0
    out = capsys.readouterr().out
    assert f"({len(lines)} of {len(lines)} cases scored)" in out and "Score against a" in out
    page = (tmp_path / "b.html").read_text()
    assert page.index("id='scorecard'") < page.index("<h2")  # the card is on top


def test_failing_case_is_recorded_and_run_goes_on(tmp_path):
    out = tmp_path / "run.jsonl"
    # fp8 does not run on a CPU (bf16 may: oneDNN's matmul): those cases fail, each is recorded, exit code says so.
    rc = main(
        [
            "micro",
            "--device",
            "cpu",
            "--shapes",
            "64x64x64,32x48x16",
            "--dtype",
            "fp8,fp32",
            "--max-time",
            "0.05",
            "--out",
            str(out),
        ]
    )
    assert rc == 1
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    failed = [r for r in recs if r["error"]]
    assert failed and all(r["error"]["type"] == "UnsupportedError" for r in failed)
    assert any(r["error"] is None for r in recs)


def test_bad_option_is_a_clear_error(tmp_path, capsys):
    rc = main(["micro", "--device", "cpu", "--dtype", "fp64", "--out", str(tmp_path / "x.jsonl")])
    assert rc == 2
    assert "argument --dtype: 'fp64' is not allowed: expected one of fp32" in capsys.readouterr().err


def test_module_entry_point_info(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "aimatrix.bench", "info"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert p.returncode == 0
    assert "aimatrix" in p.stdout and "CPU:" in p.stdout


def test_macro_subcommand_tiny(tmp_path, capsys):
    out = tmp_path / "m.jsonl"
    rc = main(
        [
            "macro",
            "--device",
            "cpu",
            "--models",
            "resnet50,din",
            "--batch",
            "2",
            "--size",
            "tiny",
            "--max-time",
            "0.05",
            "--out",
            str(out),
        ]
    )
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert rc == 0, recs
    assert {r["params"]["model"] for r in recs} == {"resnet50", "din"}
    assert all(r["metrics"]["items_per_s"] > 0 for r in recs)
    assert "resnet50 tiny b2" in capsys.readouterr().out  # the table says it is not the full model


def test_macro_unknown_model_lists_known(capsys):
    assert main(["macro", "--device", "cpu", "--models", "resnet9000"]) == 2
    assert "resnet50" in capsys.readouterr().err


def test_layers_subcommand(tmp_path, capsys):
    out = tmp_path / "l.jsonl"
    layers = "softmax,layernorm,conv_bn_relu"
    rc = main(["layers", "--device", "cpu", "--layers", layers, "--max-time", "0.05", "--out", str(out)])
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert rc == 0, recs
    assert [r["params"]["layer"] for r in recs] == layers.split(",")
    # a long shape is cut between words, never inside one (it read "... r=3 stride=")
    assert "r=3 stride=1" in capsys.readouterr().out


def test_synth_subcommand_no_run(tmp_path, capsys):
    rc = main(["synth", "--device", "cpu", "--models", "alexnet,vgg16,googlenet", "--no-run", "--save", str(tmp_path)])
    assert rc == 0
    assert (tmp_path / "synthetic.json").exists()
    assert "224" in capsys.readouterr().out


def test_collectives_subcommand_gloo(tmp_path):
    out = tmp_path / "c.jsonl"
    rc = main(
        [
            "collectives",
            "--backend",
            "gloo",
            "--nproc",
            "2",
            "--ops",
            "all_reduce,broadcast",
            "--min-bytes",
            "64",
            "--max-bytes",
            "256",
            "--samples",
            "3",
            "--master-port",
            "29621",
            "--out",
            str(out),
        ]
    )
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert rc == 0 and len(recs) == 6 and all(r["verify"]["passed"] for r in recs)


def test_collectives_needs_two_processes(capsys):
    assert main(["collectives", "--backend", "gloo", "--nproc", "1"]) == 2
    assert "needs at least 2 processes" in capsys.readouterr().err


def test_layers_unknown_name_is_a_bad_argument(tmp_path, capsys):
    out = tmp_path / "l.jsonl"
    assert main(["layers", "--device", "cpu", "--layers", "layer_norm", "--max-time", "0.05", "--out", str(out)]) == 2
    assert "'layer_norm' is not allowed: expected one of conv_bn_relu" in capsys.readouterr().err
    assert not out.exists()


def _membw_on_cpu(tmp_path, kinds: str, *options: str) -> tuple[int, dict]:
    """The exit code of ``membw`` on the CPU for these kinds and options, and its records by kind."""
    out = tmp_path / "mem.jsonl"
    rc = main(
        [
            "membw",
            "--device",
            "cpu",
            "--kind",
            kinds,
            "--nbytes",
            "4096",
            *options,
            "--max-time",
            "0.05",
            "--out",
            str(out),
        ]
    )
    return rc, {r["params"]["kind"]: r for r in map(json.loads, out.read_text().splitlines())}


def test_membw_subcommand_p2p_options_reach_only_p2p(tmp_path):
    rc, recs = _membw_on_cpu(tmp_path, "copy,p2p", "--p2p-method", "kernel", "--bidirectional")
    assert rc == 1  # the p2p case fails on the CPU, is recorded, and the copy case still ran
    assert recs["copy"]["error"] is None and recs["copy"]["verify"]["passed"]
    assert recs["p2p"]["error"]["type"] == "UnsupportedError" and "two CUDA devices" in recs["p2p"]["error"]["message"]
    assert recs["p2p"]["params"]["method"] == "kernel" and recs["p2p"]["params"]["bidirectional"] is True


def test_membw_subcommand_kernel_reaches_only_device_kernels(tmp_path):
    rc, recs = _membw_on_cpu(tmp_path, "copy,h2d", "--kernel", "tma")
    assert rc == 1  # both fail on the CPU, each for its own reason, and both are recorded
    assert "kernel='tma' names a CUDA kernel" in recs["copy"]["error"]["message"]
    assert "CUDA" in recs["h2d"]["error"]["message"] and "kernel=" not in recs["h2d"]["error"]["message"]


@pytest.mark.cuda
def test_suite_on_the_gpu_scores_against_the_shipped_reference(tmp_path, capsys):
    out = tmp_path / "gpu.jsonl"
    assert main(["--device", "cuda", "--quick", "--tiers", "micro", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Score against h100-sxm" in text  # every micro case of the suite is in the reference
    assert all(json.loads(x)["error"] is None for x in out.read_text().splitlines())
