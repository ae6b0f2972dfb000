"""The shipped model database: workload tables of classic models (``aimatrix/synth/data``)."""

from __future__ import annotations

from pathlib import Path

from .workload import Workload

DATA = Path(__file__).with_name("data")


def names() -> list[str]:
    """Models with a shipped workload table."""
    return sorted(p.stem for p in DATA.glob("*.json"))


def workload(*models: str) -> Workload:
    """The shipped workload tables of ``models`` (224x224, batch 1, estimated warps), concatenated."""
    if not models:
        raise ValueError("give at least one model name, e.g. workload('alexnet', 'vgg16')")
    out = Workload([])
    for m in models:
        p = DATA / f"{m}.json"
        if not p.exists():
            raise ValueError(f"model={m!r} is not allowed: the database has {', '.join(names())}")
        out = out + Workload.load(p)
    return out
