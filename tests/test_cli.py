"""The bench CLI end to end on the CPU."""

import json
import subprocess
import sys

from aimatrix.bench.cli import main


def test_default_suite_writes_jsonl(tmp_path):
    out = tmp_path / "run.jsonl"
    rc = main(["--device", "cpu", "--quick", "--max-time", "0.05", "--out", str(out)])
    assert rc == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) >= 2
    assert all(d["op"] == "gemm" and d["error"] is None and d["verify"]["passed"] for d in lines)


def test_failing_case_is_recorded_and_run_goes_on(tmp_path):
    out = tmp_path / "run.jsonl"
    # bf16 is not runnable on the CPU: every case fails, each is recorded, exit code says so.
    rc = main(["micro", "--device", "cpu", "--quick", "--dtype", "bf16,fp32", "--max-time", "0.05", "--out", str(out)])
    assert rc == 1
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    failed = [r for r in recs if r["error"]]
    assert failed and all(r["error"]["type"] == "UnsupportedError" for r in failed)
    assert any(r["error"] is None for r in recs)


def test_bad_option_is_a_clear_error(tmp_path, capsys):
    rc = main(["micro", "--device", "cpu", "--dtype", "fp64", "--out", str(tmp_path / "x.jsonl")])
    assert rc == 2
    assert "--dtype 'fp64' is not allowed: expected one of fp32" in capsys.readouterr().err


def test_module_entry_point_info(tmp_path):
    p = subprocess.run([sys.executable, "-m", "aimatrix.bench", "info"], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    assert p.returncode == 0
    assert "aimatrix" in p.stdout and "CPU:" in p.stdout
