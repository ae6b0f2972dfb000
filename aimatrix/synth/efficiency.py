"""Per-device conv time model for the fidelity objective: measured once per device, fitted on the CPU.

A *conv-time table* (:class:`ConvTimes`, one JSON file per device in
``aimatrix/synth/data/efficiency/``) holds two kinds of rows, each the median
time of one conv timed alone (torch, ``aimatrix.timing``), per configuration
(device, dtype, batch):

* ``real``: every conv of the real models (the workload the synthesis stands
  for), keyed by its shape: what the fidelity objective aims at.
* ``grid``: the synthetic layer shapes the synthesizer can build -- per
  (kernel, stride, group size) a grid of input x output channel counts
  (``CHANNELS``), points whose MACs exceed ``mac_cap`` x the group's MACs left
  out (no fit reaches them).
* ``point``: synthetic layers as a synthesis chose them, timed afterwards
  (:func:`points`): the closed loop that corrects the grid's fit where the
  synthesis lands.

:class:`ConvTimeModel` fits the grid: per configuration and (kernel, stride,
size), ``log(ms / MACs)`` (inverse efficiency) bilinear in (log2 cin, log2 cout),
a missing grid point taking its nearest measured neighbour's value, and held
constant outside the grid (efficiency saturates with size). Measured points
correct the fit near them: by the nearest point's measured / fitted ratio, fading
to none one octave of channels away (exact on the point), from points of the same alignment only (channel
counts in multiples of 8, see :func:`aligned`). ``predict`` gives ms.

:func:`measure` times both kinds on a device (``bench/synth_fidelity.py --measure``
runs it); :func:`toy` builds a table from an analytic time function (CPU tests).
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .cluster import Group
from .jsonfile import read_json
from .model import conv_macs

SCHEMA = "aimatrix.conv_times/1"
DATA = Path(__file__).with_name("data") / "efficiency"
CHANNELS = (3, 8, 16, 32, 64, 128, 256, 512, 1024)
KINDS = ("real", "grid", "point")
POINT_REACH = 1.0  # octaves of channels over which a measured point corrects the fit
ALIGN = 8  # the channel multiple tensor cores take whole (16 bytes of bf16 / fp16)


def real_key(x: Any) -> tuple:
    """The shape of a real conv (a workload Layer), batch left out: the configuration holds it."""
    return x.conv_shape()


def grid_key(kh: int, kw: int, stride: int, h: int, w: int) -> tuple:
    """(kh, kw, stride, h, w): a synthetic layer shape family, channels left out."""
    return (int(kh), int(kw), int(stride), int(h), int(w))


def config_key(device: str, dtype: str, batch: int) -> str:
    return f"{device}|{dtype}|{int(batch)}"


def config_batch(config: str) -> int:
    """The batch size of a configuration key."""
    return int(config.rsplit("|", 1)[1])


def config_dtype(config: str) -> str:
    """The dtype of a configuration key."""
    return config.rsplit("|", 2)[1]


@dataclass
class ConvTimes:
    """Measured conv times (see the module docstring): ``rows`` of dicts with ``config`` (device|dtype|batch),
    ``kind`` (real/grid), ``key`` (real_key or grid_key + (cin, cout)), ``ms``; ``meta``: the environment."""

    rows: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def add(self, config: str, kind: str, key: Sequence[int], ms: float) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r} is not allowed: expected one of {', '.join(KINDS)}")
        if not (isinstance(ms, (int, float)) and math.isfinite(ms) and ms > 0):
            raise ValueError(f"conv time ms={ms!r} is not allowed: it must be a finite number > 0")
        self.rows.append({"config": config, "kind": kind, "key": [int(v) for v in key], "ms": float(ms)})

    @property
    def configs(self) -> list[str]:
        return list(dict.fromkeys(r["config"] for r in self.rows))

    def real_ms(self, config: str) -> dict:
        """{real_key: ms} of one configuration."""
        return {tuple(r["key"]): r["ms"] for r in self.rows if r["config"] == config and r["kind"] == "real"}

    def __add__(self, other: "ConvTimes") -> "ConvTimes":
        return ConvTimes(self.rows + other.rows, {**self.meta, **other.meta})

    def save(self, path: str | os.PathLike) -> Path:
        """Compact JSON: ``configs``, and per kind rows [config index, *key, ms] (ms to 5 significant digits)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        cfgs = self.configs
        d: dict = {"schema": SCHEMA, "meta": self.meta, "configs": cfgs, **{k: [] for k in KINDS}}
        for r in self.rows:
            d[r["kind"]].append([cfgs.index(r["config"]), *r["key"], float(f"{r['ms']:.5g}")])
        p.write_text(json.dumps(d, separators=(",", ":")).replace("],[", "],\n[") + "\n")
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ConvTimes":
        p, d = read_json(path)
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            raise ValueError(f"{p}: not a conv-time table (schema {SCHEMA!r})")
        out = cls([], dict(d.get("meta") or {}))
        cfgs = d.get("configs") or []
        for kind, width in (("real", 13), ("grid", 7), ("point", 7)):
            for i, r in enumerate(d.get(kind) or []):
                if not isinstance(r, list) or len(r) != width + 2 or not 0 <= r[0] < len(cfgs):
                    raise ValueError(f"{p}: {kind} row {i}: expected [config index, {width} key values, ms]")
                out.add(str(cfgs[r[0]]), kind, r[1:-1], r[-1])
        return out


def device_slug(name: str) -> str:
    """A file name for a device name: 'NVIDIA H100 80GB HBM3' -> 'nvidia_h100_80gb_hbm3'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "device"


def shipped() -> list[Path]:
    """The conv-time tables shipped with the package (one per measured device)."""
    return sorted(DATA.glob("*.json"))


class ConvTimeModel:
    """Predicted time of a synthetic conv per configuration (see the module docstring)."""

    def __init__(self, times: ConvTimes) -> None:
        self.times = times
        self.configs = [c for c in times.configs if any(r["kind"] == "grid" and r["config"] == c for r in times.rows)]
        if not self.configs:
            raise ValueError("the conv-time table has no grid rows: measure it with bench/synth_fidelity.py --measure")
        self._real = {c: times.real_ms(c) for c in self.configs}
        pts: dict = {"grid": {}, "point": {}}
        for r in times.rows:
            if r["kind"] != "real":
                *fam, cin, cout = r["key"]
                pts[r["kind"]].setdefault((r["config"], tuple(fam)), {})[(cin, cout)] = r["ms"]
        self._tables = {k: self._table(k[1], v) for k, v in pts["grid"].items()}
        self._points = pts["point"]
        self._cache: dict = {}

    @staticmethod
    def _table(fam: tuple, pts: dict) -> tuple:
        """(log2 cins, log2 couts, log(ms / MACs) grid) with missing points from their nearest measured one."""
        kh, kw, stride, h, w = fam
        cins, couts = sorted({c for c, _ in pts}), sorted({f for _, f in pts})
        lc, lf = np.log2(cins), np.log2(couts)
        g = np.full((len(cins), len(couts)), np.nan)
        ho, wo = -(-h // stride), -(-w // stride)
        for (c, f), ms in pts.items():
            g[cins.index(c), couts.index(f)] = math.log(ms / conv_macs(1, ho, wo, c, f, kh, kw))
        known = np.argwhere(~np.isnan(g))
        for i, j in np.argwhere(np.isnan(g)):
            d = (lc[known[:, 0]] - lc[i]) ** 2 + (lf[known[:, 1]] - lf[j]) ** 2
            a, b = known[int(np.argmin(d))]
            g[i, j] = g[a, b]
        return lc.tolist(), lf.tolist(), g.tolist()

    def families(self, config: str) -> list[tuple]:
        return [k[1] for k in self._tables if k[0] == config]

    def configs_at(self, batches: Sequence[int] | None, dtypes: Sequence[str] | None = None) -> list[str]:
        """The configurations at ``batches`` and ``dtypes`` (every one for None)."""
        out = list(self.configs)
        for name, want, of, what, e in (
            ("batches", batches, config_batch, "batch sizes", "[1] or [1, 32]"),
            ("dtypes", dtypes, config_dtype, "dtypes", "['bf16'] or ['fp32', 'bf16']"),
        ):
            if want is None:
                continue
            if isinstance(want, (int, str)) or not isinstance(want, Sequence):
                raise TypeError(f"{name}={want!r} is not allowed: give a list of {what}, e.g. {e}")
            have = sorted({of(c) for c in self.configs})
            if not want or any(isinstance(x, bool) or x not in have for x in want):
                raise ValueError(f"{name}={list(want)!r} is not allowed: the conv-time table has {what} {have}")
            out = [c for c in out if of(c) in want]
        if not out:
            raise ValueError(
                f"the conv-time table has no configuration at batches={list(batches or [])!r} and "
                f"dtypes={list(dtypes or [])!r}: it has {list(self.configs)}"
            )
        return out

    def predict(
        self, config: str, kh: int, kw: int, stride: int, h: int, w: int, cin: int, cout: int, batch: int = 1
    ) -> float:
        """Predicted ms of a SAME conv (stride ``stride``, ``h x w`` input) of ``cin`` -> ``cout`` channels.
        ``batch`` only scales the MACs the table's per-MAC time multiplies; the table is per batch already."""
        memo = (config, kh, kw, stride, h, w, cin, cout)
        if memo in self._cache:
            return self._cache[memo] * batch
        key = (config, grid_key(kh, kw, stride, h, w))
        if key not in self._tables:
            raise ValueError(
                f"no measured grid for a {kh}x{kw}/{stride} conv at {h}x{w} under {config}: "
                f"measure it (bench/synth_fidelity.py --measure)"
            )
        ms = self._fitted(key, cin, cout)
        near = {cf: t for cf, t in self._points.get(key, {}).items() if aligned(*cf) == aligned(cin, cout)}
        if near:  # the nearest measured point's correction, fading over POINT_REACH octaves
            (c, f), pt_ms = min(near.items(), key=lambda kv: _octaves(kv[0], (cin, cout)))
            fade = max(0.0, 1.0 - _octaves((c, f), (cin, cout)) / POINT_REACH)
            ms *= (pt_ms / self._fitted(key, c, f)) ** fade
        self._cache[memo] = ms
        return ms * batch

    def _fitted(self, key: tuple, cin: int, cout: int) -> float:
        """The grid's fit: ms of a SAME conv of ``cin`` -> ``cout`` channels in the family ``key``."""
        lc, lf, g = self._tables[key]
        x, y = min(max(math.log2(cin), lc[0]), lc[-1]), min(max(math.log2(cout), lf[0]), lf[-1])
        i = min(max(bisect.bisect_left(lc, x) - 1, 0), max(len(lc) - 2, 0))
        j = min(max(bisect.bisect_left(lf, y) - 1, 0), max(len(lf) - 2, 0))
        tx = (x - lc[i]) / (lc[i + 1] - lc[i]) if len(lc) > 1 else 0.0
        ty = (y - lf[j]) / (lf[j + 1] - lf[j]) if len(lf) > 1 else 0.0
        i1, j1 = min(i + 1, len(lc) - 1), min(j + 1, len(lf) - 1)
        v = (1 - tx) * (1 - ty) * g[i][j] + tx * (1 - ty) * g[i1][j] + (1 - tx) * ty * g[i][j1] + tx * ty * g[i1][j1]
        kh, kw, stride, h, w = key[1]
        return math.exp(v) * conv_macs(1, -(-h // stride), -(-w // stride), cin, cout, kh, kw)

    def real_ms(self, config: str, layers: Iterable[Any]) -> float:
        """Measured ms of real convs (workload Layers) summed, under one configuration."""
        table = self._real[config]
        total = 0.0
        for x in layers:
            k = real_key(x)
            if k not in table:
                raise ValueError(f"the conv-time table has no {config} time for {x.model}/{x.name}: measure it")
            total += table[k]
        return total


def aligned(cin: int, cout: int) -> bool:
    """Channel counts tensor cores take whole (multiples of 8; an image's 3 input channels count as whole): on
    the H100 in bf16 and fp16, synthetic convs off them ran a median 1.4-1.55x the time the grid (on them)
    predicted, convs on them 1.00x. A measured point corrects only predictions of its own kind."""
    return (cin % ALIGN == 0 or cin == 3) and cout % ALIGN == 0


def _octaves(a: tuple, b: tuple) -> float:
    """Distance of two (cin, cout) pairs in octaves (log2 space)."""
    return math.hypot(math.log2(a[0] / b[0]), math.log2(a[1] / b[1]))


# -- measuring --------------------------------------------------------------------------------
def grid_families(groups: Sequence[Group], layouts: Sequence[tuple[list, list]]) -> dict:
    """{grid_key: group MACs (batch 1)} of the synthetic layer shapes of ``groups`` (their (kernels, strides))."""
    out: dict = {}
    for g, (kernels, strides) in zip(groups, layouts):
        for (kh, kw), s in zip(kernels, strides):
            k = grid_key(kh, kw, s, g.center, g.center)
            out[k] = max(out.get(k, 0), g.macs // g.batch)
    return out


def grid_points(families: dict, *, mac_cap: float = 1.0, channels: Sequence[int] = CHANNELS) -> list[tuple]:
    """(grid_key + (cin, cout)) to measure: channel pairs whose MACs stay within mac_cap x the group's MACs
    (the smallest pair always)."""
    out = []
    for fam, macs in families.items():
        kh, kw, s, h, w = fam
        for c in channels:
            for f in channels:
                if f == 3:
                    continue  # a synthetic layer has at least min_filters outputs
                m = conv_macs(1, -(-h // s), -(-w // s), c, f, kh, kw)
                if m <= mac_cap * macs or (c, f) == (channels[0], channels[min(1, len(channels) - 1)]):
                    out.append(fam + (c, f))
    return out


def measure(
    workload: Any,
    groups: Sequence[Group],
    layouts: Sequence[tuple[list, list]],
    *,
    device: str = "auto",
    dtypes: Sequence[str] = ("fp32",),
    batches: Sequence[int] = (1,),
    mac_cap: float = 1.0,
    channels: Sequence[int] = CHANNELS,
    seed: int = 0,
    progress: Callable[[str], Any] | None = None,
    **timing_options: Any,
) -> ConvTimes:
    """Time the real convs of ``workload`` and the synthetic grid of ``groups`` on ``device`` (each conv alone,
    torch) for every dtype and batch; returns the table (save it into ``DATA`` to ship it)."""
    from .. import _check
    from .run import DTYPES, _conv_time, _real_shape

    dev, name = _device(device)
    grid = grid_points(grid_families(groups, layouts), mac_cap=mac_cap, channels=channels)
    reals = list({real_key(x): x for x in workload if x.type == "conv"}.values())
    out = ConvTimes([], {"device": name, "mac_cap": mac_cap, "channels": list(channels)})
    for dtype in dtypes:
        _check.choice("dtypes", dtype, DTYPES)
        for b in batches:
            cfg, cache = config_key(name, dtype, b), {}
            for x in reals:
                shape = _real_shape(x)[:11] + (b,) + _real_shape(x)[12:]
                ms = _conv_time(shape, dev=dev, dtype=dtype, seed=seed, cache=cache, **timing_options)
                out.add(cfg, "real", real_key(x), ms)
            for key in grid:
                shape = _synthetic_shape(key, b)
                ms = _conv_time(shape, dev=dev, dtype=dtype, seed=seed, cache=cache, **timing_options)
                out.add(cfg, "grid", key, ms)
            if progress:
                progress(f"{cfg}: {len(reals)} real convs, {len(grid)} grid points")
    return out


def _device(device: Any) -> tuple:
    """(Device, its product name): a table's configurations name the product, so that tables of two devices
    can be added."""
    from ..device import resolve
    from ..system.env import device_info

    dev = resolve(device)
    return dev, str(device_info(dev).get("name") or dev)


def _synthetic_shape(key: Sequence[int], batch: int) -> tuple:
    """run._conv_time's shape of a synthetic layer from its grid key + (cin, cout), at ``batch``."""
    from .run import synthetic_shape

    kh, kw, s, h, w, c, f = key
    return synthetic_shape({"cin": c, "cout": f, "kh": kh, "kw": kw, "stride": s, "h": h, "w": w, "batch": batch})


def device_time(device: str = "auto", *, seed: int = 0, **timing_options: Any) -> Callable[..., float]:
    """``time_fn(config, kh, kw, stride, h, w, cin, cout)`` -> ms of that synthetic layer timed alone on ``device``
    (the configuration's dtype and batch), for :func:`points`."""
    from .run import _conv_time

    dev, name = _device(device)
    caches: dict = {}

    def time_fn(config: str, *key: int) -> float:
        product, dtype, batch = config.rsplit("|", 2)
        if product != name:  # another device's table: its points would carry this device's times under its name
            raise ValueError(f"configuration {config!r} is another device's: this one is {name!r}")
        cache = caches.setdefault((dtype, batch), {})
        shape = _synthetic_shape(key, int(batch))
        return _conv_time(shape, dev=dev, dtype=dtype, seed=seed, cache=cache, **timing_options)

    return time_fn


def points(
    model: Any, time_fn: Callable[..., float], configs: Sequence[str], *, known: ConvTimes | None = None
) -> ConvTimes:
    """The layers of a synthesis (a SyntheticModel) timed by ``time_fn(config, kh, kw, stride, h, w, cin, cout)``
    under each configuration: ``point`` rows, the closed loop's correction of the grid's fit (those ``known``
    has already left out)."""
    out = ConvTimes([], {})
    seen = {(r["config"], tuple(r["key"])) for r in (known.rows if known else []) if r["kind"] == "point"}
    for cfg in configs:
        for g in model.groups:
            for x in g.layers():
                key = grid_key(x["kh"], x["kw"], x["stride"], x["h"], x["w"]) + (x["cin"], x["cout"])
                if (cfg, key) not in seen:
                    seen.add((cfg, key))
                    out.add(cfg, "point", key, time_fn(cfg, *key))
    return out


def toy(
    workload: Any,
    groups: Sequence[Group],
    layouts: Sequence[tuple[list, list]],
    time_fn: Callable[..., float],
    *,
    configs: Sequence[str] = ("toy|fp32|1",),
    mac_cap: float = 1.0,
    channels: Sequence[int] = CHANNELS,
) -> ConvTimes:
    """A table from an analytic ``time_fn(config, kh, kw, stride, h, w, cin, cout)`` -> ms (CPU tests):
    the same rows :func:`measure` takes, computed instead of timed."""
    points = grid_points(grid_families(groups, layouts), mac_cap=mac_cap, channels=channels)
    out = ConvTimes([], {"device": "toy"})
    for cfg in configs:
        for x in {real_key(x): x for x in workload if x.type == "conv"}.values():
            # a real conv's own padding: its output size is what its MACs say
            # a grouped conv as `groups` convs of cin/groups -> cout/groups; its own padding: scale by its output
            t = time_fn(cfg, x.kh, x.kw, x.stride_h, x.in_h, x.in_w, x.cin // x.groups, x.cout // x.groups)
            out.add(
                cfg,
                "real",
                real_key(x),
                t * x.groups * x.out_h * x.out_w / (-(-x.in_h // x.stride_h) * -(-x.in_w // x.stride_w)),
            )
        for kh, kw, s, h, w, c, f in points:
            out.add(cfg, "grid", (kh, kw, s, h, w, c, f), time_fn(cfg, kh, kw, s, h, w, c, f))
    return out
