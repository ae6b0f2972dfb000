"""Workload analysis: group conv layers by input size (nearest centre), then by filter type.

``cluster(workload)`` uses the paper's six centres (input size / 2^k: 224, 112,
56, 28, 14, 7 at 224); ``centers=[...]`` gives them; ``centers=k`` (an int) learns
k centres by 1-D k-means on log2(input size). Distances are in log2 space
(13 -> 14, 27 -> 28). Only conv layers are clustered; fully connected layers
stay in the workload but have no group.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .workload import Layer, LayerSums, Workload


@dataclass(frozen=True)
class FilterType:
    """Layers of one group with the same kernel size and stride."""

    kh: int
    kw: int
    stride: int
    count: int
    macs: int
    warps: int

    @property
    def label(self) -> str:
        return f"{self.kh}x{self.kw}/{self.stride}"


@dataclass(frozen=True)
class Group(LayerSums):
    """Conv layers whose input size is nearest ``center``."""

    center: int
    layers: tuple[Layer, ...] = field(repr=False)

    def _members(self) -> Sequence[Layer]:
        return self.layers

    @property
    def batch(self) -> int:
        return self.layers[0].batch if self.layers else 0

    @property
    def types(self) -> list[FilterType]:
        """Filter types (kernel size, stride), largest kernel first."""
        acc: dict[tuple[int, int, int], list[Layer]] = {}
        for x in self.layers:
            acc.setdefault((x.kh, x.kw, x.stride_h), []).append(x)
        keys = sorted(acc, key=lambda k: (-k[0] * k[1], -k[0], k[2]))
        return [
            FilterType(k[0], k[1], k[2], len(acc[k]), sum(x.macs for x in acc[k]), sum(x.warps for x in acc[k]))
            for k in keys
        ]

    @property
    def kernels(self) -> dict[tuple[int, int], int]:
        """Layer count per kernel size (strides merged), largest kernel first."""
        out: dict[tuple[int, int], int] = {}
        for t in self.types:
            out[(t.kh, t.kw)] = out.get((t.kh, t.kw), 0) + t.count
        return out

    def to_dict(self) -> dict:
        return {
            "center": self.center,
            "layers": len(self.layers),
            "macs": self.macs,
            "warps": self.warps,
            "models": self.models,
            "types": {t.label: t.count for t in self.types},
            "layer_names": [f"{x.model}/{x.name}" for x in self.layers],
        }

    def __repr__(self) -> str:
        return f"<Group {self.center}: {len(self.layers)} layers, {self.macs / 1e9:.4g} GMACs, {self.warps} warps>"


def default_centers(workload: Workload, count: int = 6) -> list[int]:
    """The paper's centres: the largest conv input size halved ``count - 1`` times (224 -> 7)."""
    top = max(max(x.in_h, x.in_w) for x in workload)
    return [max(1, round(top / 2**k)) for k in range(count)]


def learn_centers(sizes: Sequence[float], k: int, iters: int = 100) -> list[int]:
    """1-D k-means on log2 sizes, initialised at quantiles of the distinct sizes (deterministic)."""
    xs = sorted(math.log2(s) for s in sizes)
    uniq = sorted(set(xs))
    k = min(k, len(uniq))
    cs = [uniq[min(len(uniq) - 1, int((i + 0.5) * len(uniq) / k))] for i in range(k)]
    for _ in range(iters):
        buckets: list[list[float]] = [[] for _ in cs]
        for x in xs:
            buckets[min(range(len(cs)), key=lambda j: (abs(x - cs[j]), -cs[j]))].append(x)
        new = [sum(b) / len(b) if b else c for b, c in zip(buckets, cs)]
        if new == cs:
            break
        cs = new
    return sorted({round(2**c) for c in cs}, reverse=True)


def _size(x: Layer) -> float:
    return math.sqrt(x.in_h * x.in_w)


def cluster(workload: Workload, centers: Sequence[int] | int | None = None) -> list[Group]:
    """Group the conv layers of ``workload`` by nearest input-size centre; groups largest first.

    Empty groups are dropped. Raises ``ValueError`` for an empty workload or one
    without conv layers, and for centres that are not positive integers.
    """
    if not isinstance(workload, Workload):
        workload = Workload(workload)
    if len(workload) == 0:
        raise ValueError("the workload is empty: profile at least one model with conv layers")
    convs = workload.convs()
    if len(convs) == 0:
        raise ValueError(f"the workload ({', '.join(workload.models)}) has no conv layers to cluster")
    if centers is None:
        cs = default_centers(convs)
    elif isinstance(centers, int) and not isinstance(centers, bool):
        if centers < 1:
            raise ValueError(f"centers={centers!r} is not allowed: a number of centres must be >= 1")
        cs = learn_centers([_size(x) for x in convs], centers)
    else:
        cs = list(centers)
        if not cs or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in cs):
            raise ValueError(
                f"centers={centers!r} is not allowed: give positive integer input sizes, e.g. [224, 112, 56]"
            )
        cs = sorted(set(cs), reverse=True)
    members: dict[int, list[Layer]] = {c: [] for c in cs}
    for x in convs:
        lx = math.log2(_size(x))
        best = min(cs, key=lambda c: (abs(lx - math.log2(c)), -c))  # ties go to the larger centre
        members[best].append(x)
    return [Group(c, tuple(members[c])) for c in cs if members[c]]


# -- the group table ----------------------------------------------------------------------------
def group_rows(groups: Sequence[Group]) -> list[dict]:
    rows = []
    for g in groups:
        rows.append(
            {
                "group": g.center,
                "layers": len(g.layers),
                "types": ", ".join(f"{t.label}: {t.count}" for t in g.types),
                "models": ", ".join(g.models),
                "gmacs": g.macs / 1e9,
                "warps": g.warps,
            }
        )
    return rows


def format_table(groups: Sequence[Group]) -> str:
    """The group table as Markdown (counts per filter type, MACs and warps per group)."""
    head = "| group | layers | filter types (k x k / stride: count) | models | GMACs | warps |"
    lines = [head, "|---:|---:|:---|:---|---:|---:|"]
    for r in group_rows(groups):
        lines.append(
            f"| {r['group']} | {r['layers']} | {r['types']} | {r['models']} | {r['gmacs']:.4f} | {r['warps']:,} |"
        )
    tm = sum(g.macs for g in groups) / 1e9
    tw = sum(g.warps for g in groups)
    lines.append(f"| **all** | {sum(len(g.layers) for g in groups)} | | | {tm:.4f} | {tw:,} |")
    return "\n".join(lines)


def save_groups(groups: Sequence[Group], path: str | os.PathLike) -> Path:
    """Save the group table: ``.json`` (groups with layer names), ``.csv`` or ``.md``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    suffix = p.suffix.lower()
    if suffix == ".json":
        p.write_text(
            json.dumps({"schema": "aimatrix.groups/1", "groups": [g.to_dict() for g in groups]}, indent=1) + "\n"
        )
    elif suffix == ".csv":
        buf = io.StringIO()
        w = csv.DictWriter(
            buf, fieldnames=["group", "layers", "types", "models", "gmacs", "warps"], lineterminator="\n"
        )
        w.writeheader()
        for r in group_rows(groups):
            w.writerow(r)
        p.write_text(buf.getvalue())
    elif suffix == ".md":
        p.write_text(format_table(groups) + "\n")
    else:
        raise ValueError(f"path={str(path)!r} is not allowed: the group table is saved as .json, .csv or .md")
    return p
