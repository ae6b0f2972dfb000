"""The run options: what every benchmark takes after its own arguments (where it runs, its cache state, its inputs'
seed, NVML telemetry, and the timing engine's stopping rule), written once.

``gemm``, ``conv``, ``conv_chain``, ``membw``, ``model``, ``llm`` and the synthetic model's ``run_model`` take
``**options: Unpack[RunOptions]`` (``Unpack`` from ``typing_extensions`` under ``TYPE_CHECKING``: ``typing.Unpack``
needs Python 3.11); ``layer`` takes them among its shape keywords, ``launch`` all but ``mode`` and ``seed``.
``check`` checks them, once, for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, TypedDict

from . import _check, timing
from .device import Device


class RunOptions(TypedDict, total=False):
    """The options every benchmark takes by keyword after its own arguments, each with its default:

    - ``device`` (``"auto"``): ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``Device``; ``"auto"``: the first GPU, else
      the CPU.
    - ``mode`` (``"hot"``): ``"hot"`` (caches warm from the previous sample) or ``"cold"`` (the GPU's L2, on the CPU
      the caches, flushed before each sample).
    - ``seed`` (``0``): the seed of the random inputs (and weights), an integer >= 0.
    - ``telemetry`` (``True``): on a GPU, sample NVML (clocks, power, throttling, energy) while it runs, into
      ``Result.telemetry``.
    - the timing options, with their defaults in ``aimatrix.timing.DEFAULTS`` (the native stopping rule's; see
      ``aimatrix.timing``): ``target`` (the relative confidence interval to stop at), ``min_samples``,
      ``max_samples``, ``min_time``, ``max_time`` (seconds of samples), ``warmup``, ``warmup_max``,
      ``min_warmup_samples``, ``settle``, ``repeat`` (launches a sample; 0: chosen), ``min_sample_ms``, and the
      fidelity options ``timer``, ``auto_cupti_below_ms``, ``keep_samples``, ``discard_throttled``, ``pause``.
    """

    device: str | Device
    mode: str
    seed: int
    telemetry: bool
    target: float
    min_samples: int
    max_samples: int
    min_time: float
    max_time: float
    warmup: float
    warmup_max: float
    min_warmup_samples: int
    settle: float
    repeat: int
    min_sample_ms: float
    timer: str
    auto_cupti_below_ms: float
    keep_samples: bool
    discard_throttled: bool
    pause: float


#: The defaults of the run options that are not timing options (those are ``timing.DEFAULTS``).
DEFAULTS: dict[str, Any] = {"device": "auto", "mode": "hot", "seed": 0, "telemetry": True}
#: Every run option's name, ``RunOptions``' keys.
NAMES: tuple[str, ...] = (*DEFAULTS, *timing.DEFAULTS)


@dataclass(frozen=True)
class Run:
    """Checked run options: the device as given (each benchmark resolves it), the rest checked."""

    device: str | Device
    mode: str
    seed: int
    telemetry: bool
    timing: dict  # timing.rule's: every stopping-rule option, defaults filled in

    @property
    def cold(self) -> bool:
        return self.mode == "cold"

    def measure(self, fn: Any, device: Device, stream: int | None = None) -> timing.Measurement:
        """``timing.measure`` of ``fn`` under these options (for the benchmarks that time a Python callable)."""
        return timing.measure(fn, device=device, stream=stream, mode=self.mode, telemetry=self.telemetry, **self.timing)


def check(options: Mapping[str, Any], *, exclude: tuple[str, ...] = ()) -> Run:
    """The run options of ``options`` (``RunOptions``' names), checked; defaults for those not given.

    An unknown name, or one in ``exclude`` (what a benchmark has no use for), is a TypeError that lists the allowed.
    """
    allowed = [k for k in NAMES if k not in exclude]
    for key in options:
        if key not in allowed:
            raise TypeError(
                f"unknown option {key!r}: not an argument of this benchmark, nor a run option ({', '.join(allowed)})"
            )
    x = {**DEFAULTS, **options}
    return Run(
        device=x["device"],
        mode=_check.choice("mode", x["mode"], timing.MODES),
        seed=_check.non_negative_int("seed", x["seed"]),
        telemetry=_check.boolean("telemetry", x["telemetry"]),
        timing=timing.rule(**{k: v for k, v in options.items() if k in timing.DEFAULTS}),
    )
