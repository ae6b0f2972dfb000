"""The Result: one immutable record per benchmark case (docs/design.md §6, fields in docs/results-schema.md)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from .validate import SCHEMA, SCHEMA_NAME, SCHEMA_VERSION, check_record


def _clean(x: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, tuples lists."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


#: What a run chose or measured rather than what was asked for: a finished Result keeps these in
#: ``Result.ran``, apart from ``params`` (the benchmarks hand both over in one dict; records written
#: before ``ran`` existed have them in ``params`` and are read the same way). Never part of a case's
#: identity (``Result.spec_key``). One list, so neither depends on which modules were imported.
MEASURED_PARAMS: frozenset[str] = frozenset(
    {
        # every native benchmark: launches per sample, the timer, the library's algorithm or kernel
        "repeat",
        "timer",
        "algo",
        "algo_id",
        "tile_id",
        "stages_id",
        "splitk",
        "workspace_bytes",
        "api",
        "kernel",
        # convolution: what cuDNN's find chose and how (aimatrix/micro/conv.py)
        "algo_find_ms",
        "algos_rejected",
        "math",
        "engine",
        "knobs",
        "algo_exact",
        "notes",
        "behavior",
        "heur",
        "heur_rank",
        "algo_find_count",
        "algo_find_mode",
        "configs_declined",
        # memory bandwidth: the launch shape and copy granularity picked (aimatrix/micro/membw.py)
        "grid",
        "block",
        "vector_bytes",
        "bulk_chunk_bytes",
        # layers and models: the attention kernel PyTorch picked, the framework's version and what it captured
        "sdpa_ran",
        "torch",
        "onnxruntime",
        "tensorrt",
        "tensorflow",
        "provider",
        "graph",
        "compiled",
        "graph_break_reasons",
    }
)


#: A CPU case whose telemetry says other processes used more than this share of the CPUs
#: meanwhile is flagged "busy CPU" (its time may be wrong many times over).
CPU_BUSY = 0.10


def error_record(exc: BaseException) -> dict:
    """A Result's ``error``: ``{"type", "message"}``, plus the CUDA/cuBLAS/cuDNN ``status`` when there is one."""
    err = {"type": type(exc).__name__, "message": str(exc)}
    if getattr(exc, "status", ""):
        err["status"] = exc.status  # type: ignore[attr-defined]
    return err


class NewerSchemaError(ValueError):
    """A record written by a newer aimatrix, with a schema version this one cannot read."""


def check_schema(schema: Any) -> None:
    """Accept ``aimatrix.result/N`` for N <= SCHEMA_VERSION; raise ValueError otherwise."""
    if not isinstance(schema, str) or not schema.startswith(SCHEMA_NAME + "/"):
        raise ValueError(f"schema {schema!r} is not an aimatrix result schema (expected {SCHEMA!r})")
    version = schema.split("/", 1)[1]
    if not version.isdigit():
        raise ValueError(f"schema {schema!r} has no version number (expected {SCHEMA!r})")
    if int(version) > SCHEMA_VERSION:
        raise NewerSchemaError(f"schema {schema!r} is newer than this aimatrix reads ({SCHEMA!r}): upgrade aimatrix")


def energy_metrics(
    telemetry: dict, *, median_ms: float | None, tflops: float | None = None, items_per_s: float | None = None
) -> dict:
    """Energy figures from a telemetry record and the median time: joules per launch, TFLOP/s per watt and
    items per joule."""
    p = telemetry.get("avg_power_w")
    if not p or p <= 0 or not median_ms:
        return {}
    out = {"avg_power_w": p, "joules_per_op": p * median_ms / 1e3}
    if tflops:
        out["tflops_per_watt"] = tflops / p
    if items_per_s:
        out["items_per_joule"] = items_per_s / p
    return out


class _Figure:
    """A read-only attribute of a Result that is one entry of one of its dict fields."""

    def __init__(self, field: str, key: str) -> None:
        self.field, self.key = field, key

    def __get__(self, result: Any, owner: type | None = None) -> Any:
        return self if result is None else getattr(result, self.field).get(self.key)


@dataclass(frozen=True)
class Result:
    """One benchmark case: what ran, how long it took, how fast that is, and whether it was right.

    ``stats`` holds times in milliseconds per launch (median_ms, mean_ms, min_ms,
    max_ms, stdev_ms, p10_ms, p90_ms, n, converged, ...); ``metrics`` the derived
    figures (flops, bytes, tflops, gbps, items_per_s, pct_of_peak, ...);
    ``verify`` the reference check (rel_error, tolerance, passed); ``error`` is
    None or ``{"type", "message"}`` for a case that failed.
    """

    op: str
    params: dict
    backend: str
    dtype: str
    device: str
    stats: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    verify: dict = field(default_factory=dict)
    telemetry: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    error: dict | None = None
    schema: str = SCHEMA
    #: The suite runner's id of the case (what was asked for, without timing options or
    #: device): --resume and compare match on it. None for Results made outside a suite.
    case: str | None = None
    #: Provenance of the run the case belonged to (``run_id``, ``started_utc``, ``command``,
    #: ``aimatrix``, ``git_revision``, ``host``): two runs written to one file stay apart.
    #: Set by the suite runner; None for Results made outside a suite.
    run: dict | None = None
    #: What ran, as the run chose or measured it (``MEASURED_PARAMS``: the library's algorithm or kernel,
    #: launches per sample, the timer, the framework's version, what was captured); ``params`` is what was asked.
    ran: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A failed case ran nothing: its params stay as asked (timing options such as ``repeat`` included).
        if self.error is None and any(k in MEASURED_PARAMS for k in self.params):
            chosen = {k: v for k, v in self.params.items() if k in MEASURED_PARAMS}
            object.__setattr__(self, "params", {k: v for k, v in self.params.items() if k not in chosen})
            object.__setattr__(self, "ran", {**chosen, **self.ran})

    # -- construction -------------------------------------------------------
    @classmethod
    def from_measurement(
        cls,
        op: str,
        params: Mapping[str, Any],
        *,
        backend: str,
        dtype: str,
        device: str,
        measurement: Mapping[str, Any],
        flops: float | None = None,
        bytes: float | None = None,
        items: float | None = None,
        peak_tflops: float | None = None,
        peak_gbps: float | None = None,
        verify: Mapping[str, Any] | None = None,
        extra_metrics: Mapping[str, Any] | None = None,
        env: Mapping[str, Any] | None = None,
        telemetry: Mapping[str, Any] | None = None,
    ) -> "Result":
        """Build a Result from a native measurement dict (``{"stats": ..., "samples_ms": ...}``).

        ``flops``/``bytes``/``items`` are per launch; rates use the median time.
        ``telemetry`` (default: the measurement's own, when ``timing.measure`` sampled
        it) adds energy figures to the metrics: joules_per_op, tflops_per_watt, items_per_joule.
        """
        stats = dict(measurement["stats"])
        sec = stats["median_ms"] / 1e3
        m: dict[str, Any] = {}
        if flops is not None:
            m["flops"] = flops
            m["tflops"] = flops / sec / 1e12 if sec > 0 else None
        if bytes is not None:
            m["bytes"] = bytes
            m["gbps"] = bytes / sec / 1e9 if sec > 0 else None
        if items is not None:
            m["items"] = items
            m["items_per_s"] = items / sec if sec > 0 else None
        if peak_tflops and m.get("tflops") is not None:
            m["peak_tflops"] = peak_tflops
            m["pct_of_peak"] = 100.0 * m["tflops"] / peak_tflops
        elif peak_gbps and m.get("gbps") is not None:
            m["peak_gbps"] = peak_gbps
            m["pct_of_peak"] = 100.0 * m["gbps"] / peak_gbps
        if telemetry is None:  # timing.measure attaches what it sampled to its Measurement
            telemetry = getattr(measurement, "telemetry", None)
            if telemetry is None and isinstance(measurement, Mapping):
                telemetry = measurement.get("telemetry")
        telemetry = dict(telemetry or {})
        if telemetry:
            m.update(
                energy_metrics(
                    telemetry, median_ms=stats["median_ms"], tflops=m.get("tflops"), items_per_s=m.get("items_per_s")
                )
            )
        m.update(extra_metrics or {})
        return cls(op, dict(params), backend, dtype, device, stats, m, dict(verify or {}), telemetry, dict(env or {}))

    @classmethod
    def failed(
        cls,
        op: str,
        params: Mapping[str, Any],
        *,
        backend: str,
        dtype: str,
        device: str,
        exc: BaseException,
        env: Mapping[str, Any] | None = None,
    ) -> "Result":
        """A case that could not run: the error is recorded, not raised."""
        return cls(op, dict(params), backend, dtype, device, env=dict(env or {}), error=error_record(exc))

    def with_(self, **changes: Any) -> "Result":
        """A copy with some fields replaced."""
        return replace(self, **changes)

    # -- convenience ----------------------------------------------------------
    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def throttled(self) -> bool:
        """True when NVML saw the GPU slow down (thermal, hardware, or clocks < 75% of max) while measuring."""
        return bool(self.telemetry.get("throttled"))

    @property
    def warnings(self) -> list[str]:
        """What makes a finished case's number doubtful: "throttled", "noisy" (CI target not met), "wrong",
        "busy CPU" (other processes used the CPUs while a CPU case ran)."""
        out = []
        if self.throttled:
            out.append("throttled")
        if not self.stats.get("converged", True):
            out.append("noisy")
        if self.verify and self.verify.get("passed") is False:
            out.append("wrong")
        busy = self.telemetry.get("cpu_busy_other")
        if isinstance(busy, (int, float)) and busy > CPU_BUSY:
            out.append("busy CPU")
        return out

    def spec_key(self, *, with_device: bool = False) -> tuple:
        """What was run, for matching cases across runs: op, dtype, backend and the spec's parameters.

        What the run chose or measured is not part of it (``ran``; and in a failed case's params, the
        names of ``MEASURED_PARAMS``, such as the ``repeat`` and ``timer`` options, are left out too).
        """
        params = tuple(
            sorted((k, json.dumps(v, sort_keys=True)) for k, v in self.params.items() if k not in MEASURED_PARAMS)
        )
        key = (self.op, self.dtype, self.backend, params)
        return key + (self.device,) if with_device else key

    # The headline figures, read from the record's fields (None when absent).
    median_ms = _Figure("stats", "median_ms")
    tflops = _Figure("metrics", "tflops")
    gbps = _Figure("metrics", "gbps")
    items_per_s = _Figure("metrics", "items_per_s")
    pct_of_peak = _Figure("metrics", "pct_of_peak")
    rel_error = _Figure("verify", "rel_error")

    # -- serialisation ------------------------------------------------------------
    def to_dict(self) -> dict:
        """The JSON object of this Result (schema ``aimatrix.result/1``)."""
        d = {
            "schema": self.schema,
            "op": self.op,
            "params": self.params,
            "ran": self.ran,
            "backend": self.backend,
            "dtype": self.dtype,
            "device": self.device,
            "stats": self.stats,
            "metrics": self.metrics,
            "verify": self.verify,
            "telemetry": self.telemetry,
            "env": self.env,
            "error": self.error,
        }
        if self.case is not None:
            d["case"] = self.case
        if self.run is not None:
            d["run"] = self.run
        return _clean(d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Result":
        """A Result from its JSON object; ValueError for a record that is not one, or of a newer schema.

        Every field the readers use is checked for its type and a sane range (``results/validate.py``),
        so a Result read from a file is safe to compare, report and export.
        """
        if not isinstance(d, Mapping):
            raise ValueError(f"expected a JSON object, got {type(d).__name__}")
        check_schema(d.get("schema", SCHEMA))
        check_record(d)  # a file from elsewhere: wrong types are named here, not met later by a chart or CSV writer
        return cls(
            d["op"],
            dict(d["params"]),
            d["backend"],
            d["dtype"],
            d["device"],
            dict(d.get("stats") or {}),
            dict(d.get("metrics") or {}),
            dict(d.get("verify") or {}),
            dict(d.get("telemetry") or {}),
            dict(d.get("env") or {}),
            d.get("error"),
            d.get("schema", SCHEMA),
            d.get("case"),
            dict(d["run"]) if d.get("run") is not None else None,
            dict(d.get("ran") or {}),
        )

    def __repr__(self) -> str:
        shape = ", ".join(f"{k}={v}" for k, v in {**self.params, **self.ran}.items() if not isinstance(v, (dict, list)))
        head = f"<Result {self.op}({shape}) {self.dtype} {self.backend} on {self.device}"
        if self.error:
            return f"{head}: FAILED {self.error['type']}: {self.error['message']}>"
        parts = []
        if self.median_ms is not None:
            ci = self.stats.get("rel_ci")
            ci_txt = f" ±{100 * ci:.2f}%" if isinstance(ci, float) and math.isfinite(ci) else ""
            parts.append(f"median {self.median_ms:.4g} ms{ci_txt} (n={self.stats.get('n')})")
        if self.tflops is not None:
            parts.append(f"{self.tflops:.4g} TFLOP/s")
        if self.gbps is not None:
            parts.append(f"{self.gbps:.4g} GB/s")
        if self.items_per_s is not None:
            parts.append(f"{self.items_per_s:.4g} items/s")
        if self.pct_of_peak is not None:
            parts.append(f"{self.pct_of_peak:.1f}% of peak")
        if self.rel_error is not None:
            parts.append(f"rel_error {self.rel_error:.2g}")
        return f"{head}: {', '.join(parts)}>"
