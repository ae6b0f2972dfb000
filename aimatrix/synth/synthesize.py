"""The synthesizer: per group, a genetic algorithm picks the synthetic layers' filter counts.

A synthetic group is a chain of SAME convs reading the group's centre size
(H x W = center x center, the group's batch). Its layers: one per kernel size of
the group's real layers, as many as the real layers of that size up to
``max_per_type``, at least ``min_layers`` in all (the most common kernel repeats,
the smaller one on ties), largest kernel first, all stride 1 -- except that a
group whose real layers downsample (a filter type with stride > 1 and an odd
kernel, e.g. AlexNet's 11x11/4 and GoogLeNet's 7x7/2 at 224) ends with a stride-2
conv of the most common such kernel, which takes over the 2x2 max-pool to the
next group (its output, ceil(H/2) x ceil(W/2), is the next group's input). That
layer also matters for the fit: at 224 x 224 every stride-1 layer's estimated
warps are multiples of 392 (M / 128 with M = 224 * 224), so a group of stride-1
layers alone cannot come closer than 0.058 % to the real group's 144480 warps.
Its first layer reads the previous group's last filter count (3, the image, for
the first group). The GA (native, ``csrc/synth``)
minimises ``0.5 |MAC - MAC_real| / MAC_real + 0.5 |WP - WP_real| / WP_real``
over ``bits``-bit genes (filter counts 1 .. 2^bits - 1), then refines the best
on the integer filter counts.

Groups are synthesized from the smallest input size to the largest: each group
also chooses its own input channel count (a gene: at most the filter count at
which the previous group's last layer alone costs half of that group's warps), which then fixes the
previous group's last filter count. (Going the other way, a group would inherit whatever channel
count the previous group happened to end with, and the MACs of a group whose
warps fix its total filter count may then be out of reach.)
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .. import _check
from .cluster import Group
from .efficiency import ALIGN
from .jsonfile import read_json
from .model import (
    DEFAULT_WARP_MODEL,
    WarpModel,
    chain_totals,
    conv_warps,
    fitness,
    free_positions,
    layer_models,
    upper,
)

SCHEMA = "aimatrix.synthetic/1"


@dataclass(frozen=True)
class SyntheticGroup:
    """One synthesized group: the GA's filter counts and how well they match the real layers."""

    center: int
    h: int
    w: int
    batch: int
    cin: int  # input channels of the group's first layer
    kernels: list  # [(kh, kw)] per synthetic layer
    filters: list  # filter count per synthetic layer
    macs: int
    warps: int  # in the estimator's units
    macs_real: int
    warps_real: float  # in the estimator's units (measured / warps_scale)
    fitness_error: float  # a fraction: 0.0123 = 1.23 %
    ga_fitness_error: float = 0.0  # the GA's best before refinement
    real_layers: list = field(default_factory=list)  # "model/layer" names it stands for
    history: list = field(default_factory=list, repr=False)
    evaluations: int = 0
    refine_steps: int = 0
    strides: list = field(default_factory=list)  # per synthetic layer (empty: all 1)
    time_errors: dict = field(default_factory=dict)  # objective="fidelity": {config: predicted time error}

    def stride(self, i: int) -> int:
        return int(self.strides[i]) if self.strides else 1

    @property
    def out_size(self) -> tuple[int, int]:
        """Height and width of the group's output (before any pool to the next group)."""
        h, w = self.h, self.w
        for i in range(len(self.filters)):
            s = self.stride(i)
            h, w = -(-h // s), -(-w // s)
        return h, w

    @property
    def macs_error(self) -> float:
        return abs(self.macs - self.macs_real) / self.macs_real

    @property
    def warps_error(self) -> float:
        return abs(self.warps - self.warps_real) / self.warps_real

    def layers(self) -> list[dict]:
        """The synthetic layers: cin, cout, kernel, stride, input size (h, w), output size, batch."""
        out, cin = [], self.cin
        for i, ((kh, kw), f) in enumerate(zip(self.kernels, self.filters)):
            s = self.stride(i)
            out.append(
                {
                    "cin": cin,
                    "cout": f,
                    "kh": kh,
                    "kw": kw,
                    "stride": s,
                    "h": self.h,
                    "w": self.w,
                    "out_h": -(-self.h // s),
                    "out_w": -(-self.w // s),
                    "batch": self.batch,
                }
            )
            cin = f
        return out


@dataclass(frozen=True)
class SyntheticModel:
    """The synthetic CNN: groups from large to small input, a 2x2 max-pool between them (none after a group
    that ends with a stride-2 conv)."""

    groups: list
    bits: int = 10
    population: int = 5000
    generations: int = 50
    seed: int = 0
    warp_model: Any = field(default_factory=DEFAULT_WARP_MODEL.to_json)  # the launch model (JSON form)
    warps_scale: float = 1.0  # measured warps per estimated warp (1.0 when the targets were estimated)
    models: list = field(default_factory=list)
    schema: str = SCHEMA
    objective: str = "paper"  # "paper" (MACs + warps) or "fidelity" (+ predicted time, timefit.py)
    ga_evaluations: int = 0  # fitness evaluations of all the synthesis' GA runs: its cost

    @property
    def batch(self) -> int:
        return self.groups[0].batch

    @property
    def input_size(self) -> tuple[int, int]:
        return (self.groups[0].h, self.groups[0].w)

    @property
    def macs(self) -> int:
        return sum(g.macs for g in self.groups)

    @property
    def conv_count(self) -> int:
        return sum(len(g.filters) for g in self.groups)

    @property
    def max_fitness_error(self) -> float:
        return max(g.fitness_error for g in self.groups)

    def __repr__(self) -> str:
        errs = ", ".join(f"{g.center}: {100 * g.fitness_error:.4f}%" for g in self.groups)
        return (
            f"<SyntheticModel {len(self.groups)} groups, {self.conv_count} convs, {self.macs / 1e9:.4g} GMACs; "
            f"fitness error {errs}>"
        )

    # -- serialisation ---------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        return d

    def save(self, path: str | os.PathLike) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return p

    @classmethod
    def from_dict(cls, d: Any, *, source: str = "<dict>") -> "SyntheticModel":
        if not isinstance(d, dict):
            raise ValueError(f"{source}: not a synthetic model (expected an object)")
        if d.get("schema", SCHEMA) != SCHEMA:
            raise ValueError(f"{source}: schema {d.get('schema')!r} is not {SCHEMA!r}")
        if not isinstance(d.get("groups"), list) or not d["groups"]:
            raise ValueError(f"{source}: field 'groups' is missing or empty")
        groups = []
        names = [f for f in SyntheticGroup.__dataclass_fields__]
        required = names[:12]
        for i, g in enumerate(d["groups"]):
            if not isinstance(g, dict):
                raise ValueError(f"{source}: group {i} must be an object")
            for k in required:
                if k not in g:
                    raise ValueError(f"{source}: group {i}: field {k!r} is missing")
            kw = {k: g[k] for k in names if k in g}
            kw["kernels"] = [tuple(k) for k in kw["kernels"]]
            if len(kw["kernels"]) != len(kw["filters"]):
                raise ValueError(f"{source}: group {i}: 'kernels' and 'filters' differ in length")
            if kw.get("strides") and len(kw["strides"]) != len(kw["filters"]):
                raise ValueError(f"{source}: group {i}: 'strides' and 'filters' differ in length")
            groups.append(SyntheticGroup(**kw))
        top = {
            k: d[k]
            for k in (
                "bits",
                "population",
                "generations",
                "seed",
                "warps_scale",
                "models",
                "objective",
                "ga_evaluations",
            )
            if k in d
        }
        if "warp_model" in d:
            top["warp_model"] = d["warp_model"]
        return cls(groups, **top)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SyntheticModel":
        p, d = read_json(path)
        return cls.from_dict(d, source=str(p))

    # -- emit & run (aimatrix.synth.emit / .run) ---------------------------------------
    def to_torch(self, *, seed: int = 0):
        from .emit import to_torch

        return to_torch(self, seed=seed)

    def to_onnx(self, path: str | os.PathLike, **kw: Any) -> Path:
        from .emit import to_onnx

        return to_onnx(self, path, **kw)

    def run(self, **kw: Any):
        from .run import run_model

        return run_model(self, **kw)


# -- synthesis ----------------------------------------------------------------------------
#: The native GA's limit on ``population`` (csrc/synth/ga.cpp).
MAX_POPULATION = 1 << 30
#: GA options beyond synthesize's own arguments, each with its check (the population bounds ``elite``).
_GA_OPTIONS = {
    "tournament": lambda v, p: _check.integer("tournament", v, minimum=1, maximum=64),
    "crossover": lambda v, p: _check.number("crossover", v, minimum=0.0, maximum=1.0),
    "mutation": lambda v, p: _check.number("mutation", v, minimum=0.0, maximum=1.0),
    "elite": lambda v, p: _check.integer("elite", v, minimum=0, maximum=p - 1),
    "refine_radius": lambda v, p: _check.non_negative_int("refine_radius", v, maximum=_check.INT32_MAX),
    "refine_max_steps": lambda v, p: _check.non_negative_int("refine_max_steps", v, maximum=_check.INT32_MAX),
    "vectorize": lambda v, p: _check.boolean("vectorize", v),
}


def ga_options_checked(options: dict, population: int) -> dict:
    """The extra GA options, each checked (rates finite in [0, 1]); unknown names are a TypeError."""
    for key in options:
        if key not in _GA_OPTIONS:
            raise TypeError(f"unknown GA option {key!r}: expected one of {', '.join(_GA_OPTIONS)}")
    return {k: _GA_OPTIONS[k](v, population) for k, v in options.items()}


def ga_bytes(population: int, genes: int, bits: int) -> int:
    """Host memory the native GA allocates for ``population`` individuals of ``genes`` genes of ``bits`` bits.

    Per individual (as run_ga in csrc/synth/ga.cpp): the genes of this and the next generation (64-bit words),
    two fitness values, two parents, a key, a scratch value, an elite index (8 bytes each) and a flag.
    """
    words = -(-genes * bits // 64)
    return population * (16 * words + 57)


class _Engine:
    """The native GA (default) or the numpy reference, behind one face."""

    def __init__(self, name: str) -> None:
        self.evaluations = 0  # fitness evaluations of every GA run (refinement included)
        if name == "native":
            from .. import _native

            core = _native.core
            self._ga = core.synth_ga
            self._refine = core.synth_refine
            self._totals = core.synth_totals
        else:
            from . import reference

            self._ga = reference.run_ga
            self._refine = reference.refine
            self._totals = reference.totals

    def ga(self, prob: dict, opts: dict) -> dict:
        if not free_positions(prob):  # a one-layer group between two others: its neighbours set both counts
            c = chain_at(prob, 0)
            f = self.fitness(prob, c)
            return {"chain": c, "fitness": f, "ga_fitness": f, "history": [], "evaluations": 0, "refine_steps": 0}
        r = self._ga(prob, opts)
        self.evaluations += int(r["evaluations"])
        return r

    def refine(self, prob: dict, chain: list[int]) -> tuple[list[int], float]:
        if not free_positions(prob):
            return list(chain), self.fitness(prob, chain)
        c, f, _ = self._refine(prob, chain, 3, 10000)
        return list(c), float(f)

    def totals(self, prob: dict, chain: list[int]) -> tuple[int, int]:
        if not free_positions(prob):  # the native engine takes only problems it can optimise
            m, w = problem_totals(prob, list(chain))
        else:
            m, w = self._totals(prob, chain)
        return int(m), int(w)

    def fitness(self, prob: dict, chain: list[int]) -> float:
        m, w = self.totals(prob, chain)
        return fitness(m, w, prob["macs_real"], prob["warps_real"])


# The boundary scan (synthesize, step 2b): run where a neighbouring group fits worse than SCAN_ABOVE (a fraction),
# and a second round (other seeds) where still worse than SCAN_AGAIN; SCAN_VALUES boundary values at most, each
# given GAs of SCAN_POPULATION x SCAN_GENERATIONS; the SHORTLIST best tried again at population / SHORTLIST_SHARE.
SCAN_ABOVE = 2.5e-4
SCAN_AGAIN = 4e-4
SCAN_VALUES = 256
SCAN_POPULATION = 400
SCAN_GENERATIONS = 15
SHORTLIST = 2
SHORTLIST_SHARE = 2


def _sub_seed(seed: int, j: int) -> int:
    """The seed of sub-GA ``j`` (any integer) of a GA seeded ``seed``: distinct per j, reproducible."""
    return (seed * 0x9E3779B97F4A7C15 + 0xBF58476D1CE4E5B9 * (2 * abs(j) + (j < 0) + 1)) % (1 << 64)


def _spread(lo: int, hi: int, n: int) -> list[int]:
    """Every integer in lo .. hi, or n of them evenly spread (both ends included) when there are more."""
    if hi - lo + 1 <= n:
        return list(range(lo, hi + 1))
    return sorted({lo + round(i * (hi - lo) / (n - 1)) for i in range(n)})


def synthetic_kernels(group: Group, *, max_per_type: int = 4, min_layers: int = 4) -> list[tuple[int, int]]:
    """Kernel sizes of a group's synthetic layers (see the module docstring)."""
    return synthetic_layers(group, max_per_type=max_per_type, min_layers=min_layers)[0]


def downsampling_kernel(group: Group) -> tuple[int, int] | None:
    """The kernel of the group's most common downsampling filter type (stride > 1, odd kernel; ties: the smaller
    stride, then the smaller kernel), or None when its real layers all have stride 1."""
    types = [t for t in group.types if t.stride > 1 and t.kh % 2 == 1 and t.kw % 2 == 1]
    if not types:
        return None
    t = max(types, key=lambda t: (t.count, -t.stride, -t.kh * t.kw))
    return (t.kh, t.kw)


def synthetic_layers(
    group: Group, *, max_per_type: int = 4, min_layers: int = 4, downsample: bool = True, real_strides: bool = False
) -> tuple[list[tuple[int, int]], list[int]]:
    """Kernel sizes and strides of a group's synthetic layers (see the module docstring). ``downsample``:
    whether the group may end with a stride-2 conv (when its real layers downsample). ``real_strides`` (the
    fidelity objective's layers): stride-1 layers only for the kernel sizes the real layers use at stride 1, so
    that a strided stem (AlexNet's 11x11/4, ResNet's 7x7/2) is not rebuilt as a stride-1 conv at full
    resolution, which costs several times the real layer; ``min_layers`` (the downsampling layer counted) then
    repeats the most common of those sizes, and a group with none (strided stems only) is its downsampling layer
    alone."""
    if real_strides:
        counts: dict[tuple[int, int], int] = {}
        for t in group.types:
            if t.stride == 1:
                counts[(t.kh, t.kw)] = counts.get((t.kh, t.kw), 0) + t.count
    else:
        counts = group.kernels  # largest kernel first
    down = downsampling_kernel(group) if downsample else None
    if real_strides and not counts and down is not None:
        # ResNet-50's and DenseNet-121's 7x7/2 stems alone at 224: only the strided layer, whatever min_layers.
        # A layer at full resolution before it (3x3, 3 -> 8, the cheapest) cost 1.31x the two real stems at fp32
        # batch 32 on an H100 (bench/RESULTS.md, 2026-12-07)
        return [down], [2]
    if not counts:
        # the same stems under the paper's layers: the GA needs a free filter count before the downsampling
        # layer, and a 3x3 costs least at full resolution of the kernels the grid times there
        counts = {(3, 3): 1}
    n = {k: min(c, max_per_type) for k, c in counts.items()}
    common = max(counts, key=lambda k: (counts[k], -k[0] * k[1]))  # ties: the smaller kernel
    extra = int(real_strides and down is not None)  # with real strides the downsampling layer is one more
    while sum(n.values()) + extra < min_layers:
        n[common] += 1
    if down is not None and not real_strides:
        n[down] -= 1  # that layer moves to the end, strided
    kernels = [k for k in counts for _ in range(n[k])]
    if down is None:
        return kernels, [1] * len(kernels)
    return kernels + [down], [1] * len(kernels) + [2]


def _problem(
    group: Group,
    kernels,
    bits: int,
    wm: Any,
    scale: float,
    *,
    cin0: int = 3,
    cin0_max: int = 0,
    last_fixed: int = 0,
    min_filters: int = 1,
    strides=None,
) -> dict:
    strides = list(strides) if strides else [1] * len(kernels)
    return {
        "batch": group.batch,
        "h": group.center,
        "w": group.center,
        "cin0": cin0,
        "cin0_max": cin0_max,
        "last_fixed": last_fixed,
        "kernels": [tuple(k) for k in kernels],
        "strides": strides,
        "macs_real": float(group.macs),
        "warps_real": group.warps / scale,
        "bits": bits,
        "min_filters": min_filters,
        "warp_model": [m.as_tuple() for m in layer_models(wm, kernels)],
    }


def chain_at(prob: dict, value: int) -> list[int]:
    """The chain with every free entry at ``value`` clamped to its bound (mirrors Problem::chain_at)."""
    c = [prob["cin0"]] + [0] * (len(prob["kernels"]) - 1) + [prob.get("last_fixed", 0)]
    for p in free_positions(prob):
        c[p] = min(max(value, prob.get("min_filters", 1)), upper(prob, p))
    return c


def problem_totals(prob: dict, chain: list[int]) -> tuple[int, int]:
    """(MACs, warps) of a GA problem's group with the filter-count chain ``chain``."""
    return chain_totals(
        batch=prob["batch"],
        h=prob["h"],
        w=prob["w"],
        kernels=prob["kernels"],
        warp_model=prob["warp_model"],
        strides=prob.get("strides"),
        chain=chain,
    )


def totals_at(prob: dict, value: int) -> tuple[int, int]:
    """(MACs, warps) of the group's chain with every free entry at ``value`` (``chain_at``)."""
    return problem_totals(prob, chain_at(prob, value))


def check_problem(prob: dict, center: int) -> None:
    """ValueError when no filter counts in 1 .. 2^bits - 1 can reach the group's targets."""
    fmax = (1 << prob["bits"]) - 1
    n = len(prob["kernels"])
    if not free_positions(prob):
        if n > 1:
            raise ValueError(f"group {center}: no free filter count to optimise (use min_layers >= 2)")
        return  # a one-layer group (strided stems only): the groups around it set its counts
    lo_m, lo_w = totals_at(prob, 1)
    hi_m, hi_w = totals_at(prob, fmax)
    if prob["macs_real"] > hi_m:
        raise ValueError(
            f"group {center}: impossible target: {prob['macs_real']:.6g} MACs is more than {n} layers of "
            f"{fmax} filters reach ({hi_m:.6g} MACs with bits={prob['bits']}); use more bits"
        )
    if prob["warps_real"] > hi_w:
        raise ValueError(
            f"group {center}: impossible target: {prob['warps_real']:.6g} warps is more than {n} layers of "
            f"{fmax} filters reach ({hi_w:.6g} warps with bits={prob['bits']}); use more bits"
        )
    lo = prob.get("min_filters", 1)
    if prob["macs_real"] < lo_m:
        raise ValueError(
            f"group {center}: impossible target: {prob['macs_real']:.6g} MACs is fewer than {n} layers of "
            f"{lo} filters cost ({lo_m:.6g} MACs); lower min_filters"
        )
    if prob["warps_real"] < lo_w:
        raise ValueError(
            f"group {center}: impossible target: {prob['warps_real']:.6g} warps is fewer than {n} layers of "
            f"{lo} filters cost ({lo_w:.6g} warps); lower min_filters"
        )


def reachable(prob: dict) -> bool:
    """Whether the group's MAC and warp targets lie between all filters at min_filters and all at 2^bits - 1."""
    hi_m, hi_w = totals_at(prob, (1 << prob["bits"]) - 1)
    # head room: a target at the very edge of the range leaves the GA no freedom
    return prob["macs_real"] <= 0.8 * hi_m and prob["warps_real"] <= 0.8 * hi_w


def reachable_low(prob: dict) -> bool:
    """Whether the group's narrowest chain (every free filter count at min_filters) costs at most half its MAC
    and warp targets (the GA's room below them)."""
    lo_m, lo_w = totals_at(prob, prob.get("min_filters", 1))
    return lo_m <= 0.5 * prob["macs_real"] and lo_w <= 0.5 * prob["warps_real"]


def synthesize(
    groups: Sequence[Group],
    *,
    bits: int = 10,
    population: int = 5000,
    generations: int = 50,
    seed: int = 0,
    warp_model: Any = None,
    warps_scale: float | None = None,
    max_per_type: int = 4,
    min_layers: int = 4,
    max_layers: int = 64,
    min_filters: int = 8,
    refine: bool = True,
    engine: str = "native",
    objective: str = "paper",
    efficiency: Any = None,
    time_weight: float = 10.0,
    batches: Sequence[int] | None = None,
    dtypes: Sequence[str] | None = None,
    align: int = ALIGN,
    start: SyntheticModel | None = None,
    **ga_options: Any,
) -> SyntheticModel:
    """Synthesize a CNN whose per-group MACs and warps match ``groups`` (from :func:`cluster`).

    ``bits``: gene length (1..20; filter counts up to 2^bits - 1). ``population``
    (>= 2) individuals evolve for ``generations``; ``seed`` makes it reproducible.
    ``warps_scale``: measured warps per estimated warp; by default 1 for estimated
    targets and the calibration of :func:`aimatrix.synth.warps.calibrate` when the
    groups' warps were measured. ``engine="reference"`` runs the numpy reference
    (slow; for tests). ``min_filters``: the narrowest synthetic layer (genes
    decode to min_filters .. 2^bits - 1). ``max_layers``: the most synthetic layers
    one group may grow to (see :func:`synthetic_kernels` and below). Extra GA
    options: tournament (1..64), crossover and mutation (probabilities per
    individual and per gene, in [0, 1]; mutation by default 1 / genes), elite
    (0..population - 1; by default population / 100), refine_radius,
    refine_max_steps, vectorize. A population whose GA would need more than the
    machine's physical memory is refused (OutOfMemoryError) before it starts.

    ``objective="fidelity"`` then moves the paper objective's filter counts to match the real layers' time
    as well (``aimatrix.synth.timefit``): ``efficiency`` is a conv-time table (a ConvTimes, a ConvTimeModel or
    the path of a saved table, see ``aimatrix.synth.efficiency``) holding the real convs' times and the
    synthetic grid; ``time_weight`` weighs the mean relative time error against the paper's fitness (10:
    time first, MACs and warps as the tie-break; at 1 the H100's fp32 table kept groups 20% off in time to hold
    their MACs). ``batches``: the batch sizes whose times it matches (default: every batch in the table). One
    network cannot match batch 1 and batch 32 at once where the real convs scale from one to the other unlike
    the synthetic ones (many small convs, fixed cost per kernel, against a few larger ones), so the proxy for a
    batch size is synthesized for it. ``dtypes``: likewise the dtypes (default: every dtype in the table); a
    set of synthetic layers has one fp32-to-bf16 time ratio, which need not be the real layers'. ``align``: the
    fidelity objective's filter counts are multiples of it (8: tensor cores take channel counts in multiples of
    16 bytes of bf16 / fp16, as real networks have them; see ``aimatrix.synth.efficiency.aligned``). The
    fidelity objective's layers keep the real strides (``synthetic_layers(..., real_strides=True)``).
    ``start``: a fidelity synthesis of these groups to move from instead of the paper objective's result (no GA
    runs) and with the counts where one group hands over to the next kept: the closed loop's next round
    (``aimatrix.synth.closed_loop``), in which each group moves alone."""
    if isinstance(groups, Group):
        groups = [groups]
    groups = list(groups)
    if not groups:
        raise ValueError("groups=[] is not allowed: cluster a workload with conv layers first")
    for g in groups:
        if not isinstance(g, Group):
            raise TypeError(f"synthesize() takes the Groups of cluster(), not {type(g).__name__}")
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError(f"bits={bits!r} is not allowed: it must be an integer in 1..20")
    if not 1 <= bits <= 20:
        raise ValueError(f"bits={bits!r} is not allowed: gene length must be in 1..20")
    population = _check.integer("population", population, minimum=2, maximum=MAX_POPULATION)
    generations = _check.non_negative_int("generations", generations, maximum=_check.INT32_MAX)
    ga_options = ga_options_checked(ga_options, population)
    seed = _check.non_negative_int("seed", seed)
    max_per_type = _check.positive_int("max_per_type", max_per_type)
    min_layers = _check.positive_int("min_layers", min_layers)
    _check.choice("engine", engine, ("native", "reference"))
    _check.choice("objective", objective, OBJECTIVES)
    time_weight = _check.number("time_weight", time_weight, minimum=0.0)
    align = _check.integer("align", align, minimum=1, maximum=64)
    eff = _efficiency(efficiency) if objective == "fidelity" else None
    configs = None if eff is None else eff.configs_at(batches, dtypes)
    wm = WarpModel.of(warp_model)
    for g in groups:
        if not g.layers or g.macs <= 0:
            raise ValueError(f"group {g.center} has zero MACs: nothing to synthesize")
        if g.warps <= 0:
            raise ValueError(f"group {g.center} has zero warps: profile with warps first")
        if len({x.batch for x in g.layers}) != 1:
            raise ValueError(
                f"group {g.center} mixes batch sizes {sorted({x.batch for x in g.layers})}: profile at one batch"
            )
    if warps_scale is None:
        measured = [x for g in groups for x in g.layers if x.warps_source == "measured"]
        if measured:
            from .warps import calibrate

            warps_scale = calibrate(measured, wm)["scale"]
        else:
            warps_scale = 1.0
    warps_scale = _check.number("warps_scale", warps_scale, minimum=1e-30)

    opts = {"population": population, "generations": generations, "refine": refine, **ga_options}
    eng = _Engine(engine)
    fmax = (1 << bits) - 1
    order = sorted(groups, key=lambda g: -g.center)
    m = len(order)
    min_filters = _check.positive_int("min_filters", min_filters)
    if min_filters > fmax // 2:
        raise ValueError(f"min_filters={min_filters} is not allowed: it must be at most {fmax // 2} with bits={bits}")
    if objective == "fidelity" and -(-min_filters // align) * align > fmax:
        raise ValueError(
            f"align={align} is not allowed with bits={bits} and min_filters={min_filters}: no multiple of it lies "
            f"in {min_filters}..{fmax}"
        )
    if start is not None:
        _check_start(start, order, objective)
        return _fidelity(start, order, eff, configs, time_weight, min_filters, align, fixed_boundaries=True)
    max_layers = _check.positive_int("max_layers", max_layers)
    # a group may end with a stride-2 conv when its output (ceil(center / 2)) is not smaller than the next group's
    layers = [
        synthetic_layers(
            g,
            max_per_type=max_per_type,
            min_layers=min_layers,
            downsample=k + 1 == m or order[k + 1].center <= -(-g.center // 2),
            real_strides=objective == "fidelity",
        )
        for k, g in enumerate(order)
    ]
    kernels = [x[0] for x in layers]
    strides = [x[1] for x in layers]

    def prob(k: int, *, cin0: int = 3, free_cin: bool = False, last: int = 0) -> dict:
        return _problem(
            order[k],
            kernels[k],
            bits,
            wm,
            warps_scale,
            cin0=cin0,
            cin0_max=caps[k] if free_cin else 0,
            last_fixed=last,
            min_filters=min_filters,
            strides=strides[k],
        )

    # Layer count per group: the real group's composition (one synthetic layer per real layer of each
    # kernel size, up to max_per_type, at least min_layers: the shape of the original suite's six-group,
    # 62-conv networks). Measured warps can be far more than that many layers of 2^bits - 1 filters reach
    # (GoogLeNet's 7x7 group on an H100: split-K kernels launch ~20x the warps of a direct conv), so a
    # group whose MAC or warp target is beyond 80 % of its all-filters-at-maximum reach grows by one layer
    # of its most common kernel at a time (up to max_layers) instead of failing.
    for k in range(m):
        common = max(order[k].kernels, key=lambda q: (order[k].kernels[q], -q[0] * q[1]))
        while len(kernels[k]) < max_layers and not reachable(prob(k, cin0=fmax if k else 3)):
            i = max((j for j, q in enumerate(kernels[k]) if q == common and strides[k][j] == 1), default=-1)
            if i < 0:  # only the strided layer has that kernel: the new layer goes just before it
                i = len(kernels[k]) - 2
            kernels[k].insert(i + 1, common)
            strides[k].insert(i + 1, 1)
        # the other way (ResNet-50 + DenseNet-121 at 224: two 7x7/2 stems on 3 channels, 0.24 GMACs, less than
        # four layers of min_filters cost): a group whose narrowest chain costs over half its MAC or warp target
        # drops its stride-1 layers of the least common kernel, one at a time, down to two layers
        while len(kernels[k]) > 2 and not reachable_low(prob(k, cin0=min_filters if k else 3)):
            ones = [j for j, q in enumerate(kernels[k]) if strides[k][j] == 1]
            if not ones:
                break
            rare = min(ones, key=lambda j: (order[k].kernels.get(kernels[k][j], 0), -j))
            del kernels[k][rare], strides[k][rare]

    # caps[k]: the most input channels group k may choose -- the widest last layer of group k - 1 (its kernel and
    # stride, f filters from f channels) that costs at most half of group k - 1's warps, and with which group k - 1
    # at its narrowest (every other filter count at min_filters) stays within half its MACs and warps
    def cap(k: int) -> int:
        g, (kh, kw), st = order[k - 1], kernels[k - 1][-1], strides[k - 1][-1]
        ho, wo = -(-g.center // st), -(-g.center // st)
        budget = g.warps / warps_scale / 2
        best = min_filters
        for f in range(min_filters, fmax + 1):
            if conv_warps(wm, g.batch, ho, wo, f, cin=f, kh=kh, kw=kw) > budget:
                break
            p = prob(k - 1, cin0=3 if k == 1 else min_filters, last=f)
            lo_m, lo_w = totals_at(p, min_filters)
            if lo_m > p["macs_real"] / 2 or lo_w > p["warps_real"] / 2:
                break
            best = f
        return best

    genes = max(len(x) for x in kernels) + 1  # the most free filter counts a group's GA may have
    _check.host_memory(
        f"the GA's population={population} of {genes} genes x bits={bits}", ga_bytes(population, genes, bits)
    )
    caps = [0] + [cap(k) for k in range(1, m)]
    seeds = [(seed * 1000003 + k) % (1 << 64) for k in range(m)]
    # 1. smallest group first: each chooses its input channels, fixing the previous group's last filter count
    chains: list[list[int]] = [[] for _ in range(m)]
    last = 0
    for k in range(m - 1, -1, -1):
        p = prob(k, free_cin=k > 0, last=last)
        check_problem(p, order[k].center)
        chains[k] = list(eng.ga(p, {**opts, "seed": seeds[k]})["chain"])
        last = chains[k][0]
    bounds = [3] + [chains[k][0] for k in range(1, m)]  # bounds[k]: input channels of group k

    def fixed(k: int) -> dict:
        return prob(k, cin0=bounds[k], last=bounds[k + 1] if k + 1 < m else 0)

    fits = [eng.fitness(fixed(k), chains[k]) for k in range(m)]
    # 2. move each boundary to where both neighbouring groups fit best (local search, refine only)
    if refine:
        for _sweep in range(4):
            moved = False
            for k in range(1, m):
                best = (max(fits[k - 1], fits[k]), fits[k - 1] + fits[k], bounds[k])
                best_state = None
                b0 = bounds[k]
                cands = sorted(
                    {
                        min(caps[k], max(min_filters, b0 + sgn * d))
                        for d in [2**i for i in range(bits)]
                        for sgn in (1, -1)
                    }
                    - {b0}
                )
                for b in cands:
                    bounds[k] = b
                    ca, cb = list(chains[k - 1]), list(chains[k])
                    ca[-1], cb[0] = b, b
                    ca, fa = eng.refine(fixed(k - 1), ca)
                    cb, fb = eng.refine(fixed(k), cb)
                    score = (max(fa, fb), fa + fb, b)
                    if score < best:
                        best, best_state = score, (ca, fa, cb, fb)
                    bounds[k] = b0
                if best_state is not None:
                    bounds[k] = best[2]
                    chains[k - 1], fits[k - 1], chains[k], fits[k] = best_state
                    moved = True
            if not moved:
                break
    # 2b. the boundary the larger group would choose: step 1 let the smaller group pick it, blind to what the
    # larger group needs. A group ending with a stride-2 conv has its warps fixed modulo 392 at 224 x 224 by that
    # conv's filter count, so only a few scattered boundary values let it come within 0.05 % (at 224: about one
    # in ten of 8 .. 177), out of reach of a local search and, one gene among several, of a GA with that count
    # free (it converged to a different basin for each seed: 6 of seeds 0-9 ended above 0.05 %). So where a
    # boundary's neighbours do not both fit within SCAN_ABOVE, every boundary value (up to SCAN_VALUES of them)
    # gets a small GA of both groups; the best pair found is kept, and the SHORTLIST values whose worse group
    # fitted best get both groups' GAs again at 1 / SHORTLIST_SHARE of the population. The boundary moves where
    # the worse group fits best. (Seeds 0-9 of the paper experiment: all within 0.04 %, 6.87 M evaluations per
    # synthesis against 6.88 M for the GA-with-free-last-count this replaces.)
    if refine:
        for k, rnd in [(k, 0) for k in range(1, m)] + [(k, 1) for k in range(1, m)]:
            if max(fits[k - 1], fits[k]) <= (SCAN_ABOVE if rnd == 0 else SCAN_AGAIN):
                continue
            b0 = bounds[k]
            small = {**opts, "population": SCAN_POPULATION, "generations": SCAN_GENERATIONS}
            scored = []
            best, choice = (max(fits[k - 1], fits[k]), fits[k - 1] + fits[k]), None
            for b in _spread(min_filters, caps[k], SCAN_VALUES):
                bounds[k] = b
                ra = eng.ga(fixed(k - 1), {**small, "seed": _sub_seed(seeds[k - 1], 2 * b + rnd)})
                rb = eng.ga(fixed(k), {**small, "seed": _sub_seed(seeds[k], 2 * b + rnd)})
                fa, fb = float(ra["fitness"]), float(rb["fitness"])
                scored.append((max(fa, fb), b))
                if (max(fa, fb), fa + fb) < best:
                    best, choice = (max(fa, fb), fa + fb), (b, list(ra["chain"]), fa, list(rb["chain"]), fb)
            half = {**opts, "population": max(2, opts["population"] // SHORTLIST_SHARE)}
            for _, b in sorted(scored)[:SHORTLIST]:
                bounds[k] = b
                ra = eng.ga(fixed(k - 1), {**half, "seed": _sub_seed(seeds[k - 1], -2 * b - rnd)})
                rb = eng.ga(fixed(k), {**half, "seed": _sub_seed(seeds[k], -2 * b - rnd)})
                fa, fb = float(ra["fitness"]), float(rb["fitness"])
                if (max(fa, fb), fa + fb) < best:
                    best, choice = (max(fa, fb), fa + fb), (b, list(ra["chain"]), fa, list(rb["chain"]), fb)
            bounds[k] = b0
            if choice is not None:
                bounds[k], chains[k - 1], fits[k - 1], chains[k], fits[k] = choice
    # 3. the GA for each group with its boundaries fixed; keep the better of it and the local search
    out = []
    for k in range(m):
        g, p = order[k], fixed(k)
        check_problem(p, g.center)
        r = eng.ga(p, {**opts, "seed": seeds[k]})
        chain = list(r["chain"])
        if r["fitness"] > fits[k]:
            chain = chains[k]
        macs, warps = eng.totals(p, chain)
        fe = fitness(macs, warps, p["macs_real"], p["warps_real"])
        out.append(
            SyntheticGroup(
                g.center,
                g.center,
                g.center,
                g.batch,
                chain[0],
                [tuple(x) for x in kernels[k]],
                chain[1:],
                int(macs),
                int(warps),
                int(g.macs),
                p["warps_real"],
                fe,
                float(r["ga_fitness"]),
                [f"{x.model}/{x.name}" for x in g.layers],
                list(r["history"]),
                int(r["evaluations"]),
                int(r["refine_steps"]),
                [int(x) for x in strides[k]],
            )
        )
    models = list(dict.fromkeys(m for g in groups for m in g.models))
    sm = SyntheticModel(
        out,
        bits,
        population,
        generations,
        seed,
        wm.to_json(),
        float(warps_scale),
        models,
        ga_evaluations=eng.evaluations,
    )
    return sm if eff is None else _fidelity(sm, order, eff, configs, time_weight, min_filters, align)


OBJECTIVES = ("paper", "fidelity")


def _check_start(start: Any, order: list, objective: str) -> None:
    """``start`` must be a fidelity synthesis of the same groups (large to small, as ``order``)."""
    if objective != "fidelity":
        raise ValueError(f"start= is only for objective='fidelity', not objective={objective!r}")
    if not isinstance(start, SyntheticModel):
        raise TypeError(f"start={type(start).__name__} is not allowed: give a SyntheticModel from synthesize()")
    have, want = [g.center for g in start.groups], [g.center for g in order]
    if start.objective != "fidelity" or have != want:
        raise ValueError(
            f"start is a {start.objective!r} synthesis of groups {have}: it must be a 'fidelity' synthesis of "
            f"these groups {want}"
        )


def _efficiency(value: Any):
    """A ConvTimeModel from a ConvTimeModel, a ConvTimes or the path of a saved table."""
    from .efficiency import ConvTimeModel, ConvTimes

    if isinstance(value, ConvTimeModel):
        return value
    if isinstance(value, ConvTimes):
        return ConvTimeModel(value)
    if isinstance(value, (str, os.PathLike)):
        return ConvTimeModel(ConvTimes.load(value))
    raise TypeError(
        f"efficiency={value!r} is not allowed with objective='fidelity': give a conv-time table "
        "(ConvTimes, ConvTimeModel or the path of one; see aimatrix.synth.efficiency)"
    )


def _fidelity(
    sm: SyntheticModel,
    order: list,
    eff: Any,
    configs: list[str],
    time_weight: float,
    min_filters: int,
    align: int,
    fixed_boundaries: bool = False,
) -> SyntheticModel:
    """The fidelity objective's local search (aimatrix.synth.timefit) from the paper objective's result."""
    from dataclasses import replace

    from .timefit import improve

    chains, errors = improve(
        sm,
        order,
        eff,
        configs=configs,
        time_weight=time_weight,
        min_filters=min_filters,
        align=align,
        fixed_boundaries=fixed_boundaries,
    )
    out = []
    for sg, g, chain, err in zip(sm.groups, order, chains, errors):
        macs, warps = chain_totals(
            batch=sg.batch,
            h=sg.h,
            w=sg.w,
            kernels=sg.kernels,
            strides=sg.strides,
            chain=chain,
            warp_model=sm.warp_model,
        )
        out.append(
            replace(
                sg,
                cin=chain[0],
                filters=list(chain[1:]),
                macs=int(macs),
                warps=int(warps),
                fitness_error=fitness(macs, warps, sg.macs_real, sg.warps_real),
                time_errors=err,
            )
        )
    return replace(sm, groups=out, objective="fidelity")
