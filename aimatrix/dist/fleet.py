"""Fleet runs: one suite on several devices at once (one process each), and which device is slow.

``python -m aimatrix.bench micro --devices all`` starts the same command once per
GPU with ``--device cuda:N --out PREFIX.cudaN.jsonl``, waits for all, then compares
each case across devices: a device whose median is slower than the median of its
peers by more than the threshold, beyond both runs' confidence intervals, is flagged.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from typing import Sequence

from ..results.jsonl import load_results
from ..results.result import Result


def _option_value(argv: list[str], name: str) -> str | None:
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def _without(argv: list[str], names: Sequence[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in names:
            skip = True
            continue
        if any(a.startswith(n + "=") for n in names):
            continue
        out.append(a)
    return out


def expand_devices(spec: str) -> list[str]:
    """``all`` (every GPU), or a comma list of device names."""
    if spec == "all":
        from .. import _native

        if not _native.cuda_available():
            raise ValueError(f"--devices all needs CUDA GPUs: {_native.cuda_unavailable_reason()}")
        return [f"cuda:{i}" for i in range(_native.cuda().device_count())]
    devices = [d.strip() for d in spec.split(",") if d.strip()]
    if len(devices) < 2:
        raise ValueError(f"--devices {spec!r} is not allowed: give 'all' or at least two devices (comma list)")
    return devices


def run_fleet(argv: Sequence[str], devices: Sequence[str]) -> tuple[int, dict[str, str]]:
    """Run ``python -m aimatrix.bench argv`` once per device, concurrently; (worst exit code, {label: results file})."""
    argv = list(argv)
    prefix = (_option_value(argv, "--out") or "aimatrix-fleet.jsonl").removesuffix(".jsonl")
    base = _without(argv, ("--devices", "--device", "--out"))
    # One label and file per process; a device named twice (e.g. cpu,cpu) gets numbered labels.
    labels = [d if devices.count(d) == 1 else f"{d}#{i}" for i, d in enumerate(devices)]
    files = {lab: f"{prefix}.{lab.replace(':', '').replace('#', '-')}.jsonl" for lab in labels}
    procs = {lab: subprocess.Popen([sys.executable, "-m", "aimatrix.bench", *base, "--device", dev, "--out", files[lab]],
                                   env=dict(os.environ, PYTHONSAFEPATH="1")) for lab, dev in zip(labels, devices)}
    codes = [p.wait() for p in procs.values()]
    return max(codes), files


def flag_slow(runs: dict[str, list[Result]], threshold: float = 0.05) -> list[dict]:
    """Per case present on every device: devices slower than their peers' median by > threshold beyond noise."""
    by_case: dict[tuple, dict[str, Result]] = {}
    for dev, results in runs.items():
        for r in results:
            if r.ok and r.median_ms:
                by_case.setdefault(r.spec_key(), {})[dev] = r
    flags = []
    for case, per_dev in by_case.items():
        if len(per_dev) < 2:
            continue
        for dev, r in per_dev.items():
            peers = [p.median_ms for d, p in per_dev.items() if d != dev]
            ref = statistics.median(peers)
            ratio = r.median_ms / ref
            noise = (r.stats.get("rel_ci") or 0) + max((p.stats.get("rel_ci") or 0) for d, p in per_dev.items() if d != dev)
            if ratio - 1 > max(threshold, noise):
                flags.append({"device": dev, "case": f"{r.op} {r.dtype} {r.backend} " + " ".join(
                                  f"{k}={v}" for k, v in r.params.items() if k in ("m", "n", "k", "name", "layer", "kind")),
                              "median_ms": r.median_ms, "peers_median_ms": ref,
                              "slower_by": ratio - 1})
    return flags


def summarize(files: dict[str, str], threshold: float = 0.05) -> list[dict]:
    return flag_slow({d: load_results(f).results for d, f in files.items() if os.path.exists(f)}, threshold)
