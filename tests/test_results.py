"""Result records: derived metrics, repr, dict/JSON round trip, JSON Lines files."""

import json
import math

import pytest

from aimatrix.results import JsonlWriter, Result, read_jsonl, write_jsonl

MEAS = {"stats": {"median_ms": 2.0, "rel_ci": 0.004, "n": 50, "converged": True}, "samples_ms": [2.0] * 50}
#: The case the GPU records below stand for: a cuBLAS GEMM on the first GPU (dtype per record).
GPU_GEMM = dict(op="gemm", params={"m": 1}, backend="cublas", device="cuda:0")


def test_metrics_from_measurement():
    r = Result.from_measurement(
        **GPU_GEMM, dtype="bf16", measurement=MEAS, flops=4e12, bytes=2e9, items=100, peak_tflops=4000.0
    )
    assert r.tflops == pytest.approx(2000.0)
    assert r.gbps == pytest.approx(1000.0)
    assert r.items_per_s == pytest.approx(50000.0)
    assert r.pct_of_peak == pytest.approx(50.0)
    assert "2000 TFLOP/s" in repr(r) and "50.0% of peak" in repr(r) and "±0.40%" in repr(r)


def test_failed_result_records_error():
    from aimatrix.errors import CudaError

    r = Result.failed(**GPU_GEMM, dtype="fp32", exc=CudaError("boom", "CUBLAS_STATUS_EXECUTION_FAILED"))
    assert not r.ok
    assert r.error == {"type": "CudaError", "message": "boom", "status": "CUBLAS_STATUS_EXECUTION_FAILED"}
    assert "FAILED CudaError" in repr(r)


def test_round_trip_and_json_safety(tmp_path):
    r = Result.from_measurement(
        "gemm",
        {"m": 3},
        backend="cpu",
        dtype="fp32",
        device="cpu",
        measurement={"stats": {"median_ms": 1.0, "rel_ci": math.inf}},
        flops=1e9,
    )
    d = r.to_dict()
    assert d["schema"] == "aimatrix.result/1"
    assert d["stats"]["rel_ci"] is None  # non-finite floats become null, JSON stays valid
    json.loads(r.to_json())
    assert Result.from_dict(d).to_dict() == d
    p = tmp_path / "r.jsonl"
    write_jsonl(p, [r, r])
    assert [x.to_dict() for x in read_jsonl(p)] == [d, d]


def test_writer_flushes_each_line(tmp_path):
    p = tmp_path / "sub" / "r.jsonl"
    w = JsonlWriter(p)
    w.write(Result("gemm", {}, "cpu", "fp32", "cpu"))
    assert len(p.read_text().splitlines()) == 1  # visible before close
    w.close()


def test_bad_file_names_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text(Result("gemm", {}, "cpu", "fp32", "cpu").to_json() + "\n{not json\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not a valid aimatrix result"):
        list(read_jsonl(p))
    p.write_text('{"op": "gemm"}\n')
    with pytest.raises(ValueError, match=r":1: .*missing field\(s\) params"):
        list(read_jsonl(p))
