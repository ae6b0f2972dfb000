"""compare: regressions are caught, noise is not, verdicts know the confidence intervals; CLI exit codes."""

import pytest
from _sample_runs import h100_run

from aimatrix.cli import main
from aimatrix.results import Result, write_jsonl
from aimatrix.results.compare import compare, parse_threshold, verdict


def _r(median, rel_ci=0.005, **kw):
    return Result(
        "gemm",
        {"m": 1},
        "cublaslt",
        "bf16",
        "cuda:0",
        stats={"median_ms": median, "rel_ci": rel_ci, "converged": True},
        **kw,
    )


@pytest.mark.parametrize(
    "base,new,expected",
    [
        (_r(1.0), _r(1.08), "slower"),  # 8% slower, CIs ±0.5%: a regression
        (_r(1.0), _r(0.90), "faster"),
        (_r(1.0), _r(1.01), "same"),  # real but within the 3% threshold
        (_r(1.0, 0.10), _r(1.08, 0.10), "ambiguous"),  # 8% but each median only known to ±10%
        (_r(1.0, 0.002), _r(1.029, 0.002), "ambiguous"),  # too close to the threshold to call
        (_r(1.0, None), _r(1.0, None), "ambiguous"),  # no CI at all: no claim
        (_r(1.0), _r(1.0, error={"type": "CudaError", "message": "x"}), "new failure"),
        (_r(1.0, error={"type": "CudaError", "message": "x"}), _r(1.0), "fixed"),
    ],
)
def test_verdicts(base, new, expected):
    assert verdict(base, new, 0.03)[0] == expected


def test_thresholds():
    assert parse_threshold("3%") == pytest.approx(0.03)
    assert parse_threshold("0.05") == pytest.approx(0.05)
    assert parse_threshold("5") == pytest.approx(0.05)
    with pytest.raises(ValueError, match="threshold 'fast' is not allowed"):
        parse_threshold("fast")
    with pytest.raises(ValueError, match="between 0% and 100%"):
        parse_threshold("150%")


def test_two_runs_with_noise_only_show_no_regression():
    cmp = compare(h100_run(0), h100_run(1))
    assert len(cmp.matched) == len(h100_run(0))
    assert cmp.regressions == []
    assert cmp.counts()["same"] >= len(cmp.rows) - 2


def test_one_slow_case_is_the_only_regression():
    cmp = compare(h100_run(0), h100_run(1, slow={"4096x4096x4096 bf16": 1.08}))
    assert [(r.label, r.verdict) for r in cmp.regressions] == [("gemm 4096x4096x4096 NN bf16 cublaslt", "slower")]


def test_matching_by_spec_without_case_ids_and_missing_cases():
    base = [r.with_(case=None) for r in h100_run(0, fail=False)]
    new = [r.with_(case=None, params={**r.params, "algo_id": "99", "repeat": 3}) for r in h100_run(1, fail=False)][:-5]
    cmp = compare(base, new)
    assert len(cmp.matched) == len(new)  # chosen algorithm and repeat count do not make a different case
    assert cmp.counts()["only in base"] == 5


def test_cli_exit_codes(tmp_path, capsys):
    a, b, slow = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "slow.jsonl"
    write_jsonl(a, h100_run(0))
    write_jsonl(b, h100_run(1))
    write_jsonl(slow, h100_run(1, slow={"1024x1024x1024 fp16": 1.2}))
    assert main(["compare", str(a), str(b)]) == 0
    assert "No significant regression beyond 3.0%" in capsys.readouterr().out
    assert main(["compare", str(a), str(slow), "--threshold", "3%"]) == 1
    out = capsys.readouterr().out
    assert "1 regression(s)" in out and "gemm 1024x1024x1024 NN fp16 cublaslt (slower)" in out
    assert main(["compare", str(a), str(slow), "--threshold", "25%"]) == 0  # below a 25% threshold
    capsys.readouterr()
    other = tmp_path / "cpu.jsonl"
    write_jsonl(other, [Result("conv", {"n": 1}, "cpu", "fp32", "cpu", stats={"median_ms": 1.0})])
    assert main(["compare", str(a), str(other)]) == 2
    assert "no case in common" in capsys.readouterr().out
    assert main(["compare", str(a), str(b), "--threshold", "x"]) == 2


def test_two_devices_side_by_side_is_not_a_gate_unless_asked(tmp_path, capsys):
    a, b = tmp_path / "h100.jsonl", tmp_path / "a100.jsonl"
    write_jsonl(a, h100_run(0))
    a100 = [
        r.with_(
            env={**r.env, "gpu": {**r.env["gpu"], "name": "NVIDIA A100-SXM4-80GB"}},
            stats={**r.stats, "median_ms": r.stats["median_ms"] * 3},
        )
        if r.ok
        else r
        for r in h100_run(1)
    ]
    write_jsonl(b, a100)
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "devices differ (NVIDIA H100 80GB HBM3 vs NVIDIA A100-SXM4-80GB)" in out
    assert "new: NVIDIA A100-SXM4-80GB" in out and "41 slower" in out and "No significant regression" not in out
    assert main(["compare", str(a), str(b), "--gate"]) == 1


def test_module_entry_point_compare(tmp_path):
    import subprocess
    import sys

    a, slow = tmp_path / "a.jsonl", tmp_path / "s.jsonl"
    write_jsonl(a, h100_run(0))
    write_jsonl(slow, h100_run(1, slow={"8192x8192x8192 fp32": 1.5}))
    p = subprocess.run(
        [sys.executable, "-m", "aimatrix.bench", "compare", str(a), str(slow)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert p.returncode == 1, p.stderr
