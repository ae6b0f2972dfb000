"""The report card: a run scored against a reference device's run of the same cases.

A case's score is its speed relative to the reference (reference median time / this
run's, > 1 faster); a tier's and the overall score are geometric means of the cases'
scores. Cases are matched as ``compare`` matches them (the suite's case id, which leaves
out timing options and device), so a --quick run is scored on the same cases as a full
one. References ship inside the package (``reference/*.jsonl``, each a whole-suite run
made with ``bench/suite_reference.sh``); the one sharing the most cases with the run is used.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from ..results.compare import case_label, compare, device_name
from ..results.jsonl import load_results
from ..results.result import Result
from .case import TIERS, tier_of

REFERENCES = Path(__file__).with_name("reference")


def shipped_references() -> list[Path]:
    """The reference runs that ship with aimatrix."""
    return sorted(REFERENCES.glob("*.jsonl"))


def provenance(results: Sequence[Result], name: str) -> dict:
    """Where a reference run came from: device, date, driver, versions, the command that made it."""
    first = next((r for r in results if r.ok), results[0] if results else None)
    env = first.env if first else {}
    gpu = env.get("gpu") or {}
    run = (first.run if first else None) or {}
    frameworks = env.get("frameworks") or {}
    versions = {
        k: v
        for k, v in {
            "aimatrix": env.get("aimatrix"),
            "git_revision": env.get("git_revision"),
            "cuda_runtime": gpu.get("cuda_runtime_version"),
            "cublas": gpu.get("cublas_version"),
            "cudnn": gpu.get("cudnn_version"),
            "torch": frameworks.get("torch") if isinstance(frameworks, dict) else None,
        }.items()
        if v is not None
    }
    return {
        "name": name,
        "device": device_name(results),
        "date": run.get("started_utc"),
        "driver": gpu.get("nvml_driver_version") or gpu.get("driver_version"),
        "versions": versions,
        "command": run.get("command"),
        "cases": len(results),
    }


def _geomean(xs: Sequence[float]) -> float | None:
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None


def scorecard(results: Sequence[Result], reference: Sequence[Result], *, name: str = "reference") -> dict:
    """The card: ``{"reference": provenance, "tiers": [...], "overall": {...}}``.

    Each tier (and ``overall``) has ``score`` (None when no case could be scored), ``cases``,
    ``scored``, ``no_reference`` (labels of finished cases the reference lacks or failed) and
    ``failed`` (labels of this run's failed cases).
    """
    cmp = compare(reference, results)
    buckets: dict[str, dict] = {
        t: {"tier": t, "speeds": [], "cases": 0, "no_reference": [], "failed": []} for t in TIERS
    }
    for row in cmp.rows:
        r = row.new
        if r is None:
            continue  # only in the reference
        b = buckets[tier_of(r.op, r.params)]
        b["cases"] += 1
        if r.error:
            b["failed"].append(case_label(r))
        elif row.ratio is None or row.base is None or not row.base.ok:
            b["no_reference"].append(case_label(r))
        else:
            b["speeds"].append(1.0 / row.ratio)
    tiers = []
    for b in buckets.values():
        if b["cases"]:
            speeds = b.pop("speeds")
            tiers.append({**b, "score": _geomean(speeds), "scored": len(speeds), "_speeds": speeds})
    all_speeds = [s for t in tiers for s in t.pop("_speeds")]
    overall = {
        "score": _geomean(all_speeds),
        "cases": sum(t["cases"] for t in tiers),
        "scored": len(all_speeds),
        "no_reference": [x for t in tiers for x in t["no_reference"]],
        "failed": [x for t in tiers for x in t["failed"]],
    }
    return {"reference": provenance(list(reference), name), "tiers": tiers, "overall": overall}


def pick_reference(results: Sequence[Result], paths: Sequence[Path] | None = None) -> tuple[str, list[Result]] | None:
    """The reference (name, its Results) sharing the most case ids with ``results``; None when none shares any."""
    ids = {r.case for r in results if r.case is not None}
    best: tuple[int, str, list[Result]] | None = None
    for path in shipped_references() if paths is None else paths:
        ref = load_results(path).results
        common = len(ids & {r.case for r in ref})
        if common and (best is None or common > best[0]):
            best = (common, Path(path).stem, ref)
    return None if best is None else (best[1], best[2])
