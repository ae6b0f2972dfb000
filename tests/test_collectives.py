"""Collectives over torch.distributed: gloo on CPUs across processes (NCCL on GPUs is in bench/)."""

import json
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from aimatrix import UnsupportedError  # noqa: E402
from aimatrix.dist import BUS_FACTOR, bus_bandwidth, collective, sweep_sizes  # noqa: E402
from aimatrix.dist.launch import torchrun  # noqa: E402

HERE = Path(__file__).parent


def test_bus_bandwidth_follows_nccl_tests():
    assert bus_bandwidth("all_reduce", 100.0, 8) == pytest.approx(175.0)  # 2(n-1)/n
    assert bus_bandwidth("all_gather", 100.0, 4) == pytest.approx(75.0)
    assert bus_bandwidth("reduce_scatter", 100.0, 2) == pytest.approx(50.0)
    assert bus_bandwidth("broadcast", 100.0, 8) == 100.0
    assert bus_bandwidth("send_recv", 100.0, 2) == 100.0
    assert set(BUS_FACTOR) == {"all_reduce", "all_gather", "reduce_scatter", "broadcast", "all_to_all", "send_recv"}


def test_sweep_sizes():
    assert sweep_sizes(8, 64) == [8, 16, 32, 64]
    assert sweep_sizes(8, 4 << 30)[-1] == 4 << 30
    with pytest.raises(ValueError, match="need max_bytes >= min_bytes"):
        sweep_sizes(64, 8)


def test_bad_inputs_without_a_group():
    with pytest.raises(ValueError, match="op='all_sum' is not allowed"):
        collective("all_sum", 1024)
    with pytest.raises(UnsupportedError, match="no process group"):
        collective("all_reduce", 1024)


def test_gloo_sweep_two_processes(tmp_path):
    out = tmp_path / "coll.jsonl"
    rc = torchrun(
        "aimatrix.dist.worker",
        ["--backend", "gloo", "--sizes", "8,1024,65536", "--samples", "5", "--out", str(out)],
        nproc=2,
        master_port=29611,
        timeout_s=300,
    )
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert rc == 0, recs
    assert len(recs) == 6 * 3
    for r in recs:
        assert r["op"] == "collective" and r["error"] is None and r["verify"]["passed"], r
        m, n = r["metrics"], r["params"]["world_size"]
        assert n == 2
        assert m["algbw_gbps"] == pytest.approx(r["params"]["nbytes"] / r["stats"]["median_ms"] / 1e6)
        assert m["busbw_gbps"] == pytest.approx(m["algbw_gbps"] * BUS_FACTOR[r["params"]["op"]](n))


def test_size_not_divisible_is_recorded(tmp_path):
    out = tmp_path / "coll.jsonl"
    rc = torchrun(
        "aimatrix.dist.worker",
        ["--backend", "gloo", "--ops", "all_gather,all_reduce", "--sizes", "12", "--samples", "3", "--out", str(out)],
        nproc=2,
        master_port=29612,
        timeout_s=300,
    )
    recs = {r["params"]["op"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rc == 1  # one case failed
    assert "must divide by the world size 2" in recs["all_gather"]["error"]["message"]
    assert recs["all_reduce"]["error"] is None


def test_dead_rank_makes_the_others_exit(tmp_path):
    t0 = time.monotonic()
    rc = torchrun_script(HERE / "dist_dying_rank.py", nproc=2, port=29613)
    assert rc != 0
    assert time.monotonic() - t0 < 120


def test_two_nodes_on_loopback(tmp_path):
    import subprocess

    outs = [tmp_path / f"node{i}.jsonl" for i in range(2)]
    cmd = [
        sys.executable,
        "-c",
        "import sys; from aimatrix.dist.launch import torchrun; "
        "sys.exit(torchrun('aimatrix.dist.worker', ['--backend','gloo','--ops','all_reduce','--sizes','4096',"
        "'--samples','3','--out',sys.argv[2]], nproc=1, nnodes=2, node_rank=int(sys.argv[1]), master_port=29614, "
        "timeout_s=240))",
    ]
    procs = [subprocess.Popen(cmd + [str(i), str(outs[i])], cwd=tmp_path) for i in range(2)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    (rec,) = [json.loads(line) for line in outs[0].read_text().splitlines()]  # global rank 0 writes
    assert rec["params"]["world_size"] == 2 and rec["verify"]["passed"]


def torchrun_script(script: Path, nproc: int, port: int) -> int:
    import os
    import subprocess

    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc-per-node={nproc}",
        f"--master-port={port}",
        "--max-restarts=0",
        str(script),
    ]
    return subprocess.run(cmd, env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONSAFEPATH="1"), timeout=300).returncode


# ---- fleet runs ----------------------------------------------------------------------------
from aimatrix.dist.fleet import flag_slow  # noqa: E402
from aimatrix.results import Result  # noqa: E402


def _r(ms: float, ci: float = 0.001) -> Result:
    return Result("gemm", {"m": 64}, "cublaslt", "bf16", "cuda:0", stats={"median_ms": ms, "rel_ci": ci})


def test_flag_slow_device():
    runs = {"cuda:0": [_r(1.0)], "cuda:1": [_r(1.01)], "cuda:2": [_r(1.2)], "cuda:3": [_r(0.99)]}
    (flag,) = flag_slow(runs, threshold=0.05)
    assert flag["device"] == "cuda:2" and flag["slower_by"] == pytest.approx(0.2)


def test_noise_is_not_flagged():
    assert flag_slow({"cuda:0": [_r(1.0, 0.2)], "cuda:1": [_r(1.15, 0.2)]}, threshold=0.05) == []


def test_fleet_run_on_two_cpu_processes(tmp_path):
    from aimatrix.cli import main

    out = tmp_path / "f.jsonl"
    rc = main(
        [
            "micro",
            "--devices",
            "cpu,cpu",
            "--shapes",
            "64x64x64,32x32x32",
            "--quick",
            "--max-time",
            "0.05",
            "--out",
            str(out),
        ]
    )
    files = sorted(tmp_path.glob("f.*.jsonl"))
    assert rc in (0, 1)  # 1 only if one CPU process happened to be flagged slow (they share 2 cores)
    assert [f.name for f in files] == ["f.cpu-0.jsonl", "f.cpu-1.jsonl"]
    assert all(f.read_text().count('"op":"gemm"') == 2 for f in files)


def test_fleet_needs_two_devices(capsys):
    from aimatrix.cli import main

    assert main(["micro", "--devices", "cpu"]) == 2
    assert "at least two devices" in capsys.readouterr().err
