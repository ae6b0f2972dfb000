"""A benchmark case: a named call of a public aimatrix function, run by the suite runner."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..results.result import Result, error_record
from ..timing import DEFAULTS as _TIMING_OPTIONS

#: Keyword arguments that say how to run a case, not what it is: left out of its id,
#: so a --quick run resumes or compares against a full one.
HOW_TO_RUN = frozenset(_TIMING_OPTIONS) | {"device", "telemetry", "log_dir"}

#: The suite's tiers, in the order a whole-suite run takes them.
TIERS = ("micro", "layers", "macro", "synthetic")


def tier_of(op: str, params: Mapping[str, Any] | None = None) -> str:
    """Which tier a case (or a Result's ``op``/``params``) belongs to; one rule for the runner and the score card."""
    if op in ("gemm", "conv", "membw", "launch", "collective"):
        return "micro"
    if op == "layer":
        return "layers"
    if op == "synth" or (op == "model" and (params or {}).get("model") == "statsnet"):
        return "synthetic"
    return "macro"


@dataclass(frozen=True)
class Case:
    """One benchmark to run: ``fn(*args, **kwargs) -> Result``; ``op``/``params`` describe it if it fails.

    ``fn`` must be a module-level function (not a lambda) for ``--isolate``, which
    runs cases in a child process. ``est_s`` is how long it is expected to take
    (seconds), for the progress bar's time left.
    """

    op: str
    fn: Callable[..., Result]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    arg_names: tuple = ()  # names of the positional args, for the record of a failed case
    est_s: float = 1.0

    @property
    def tier(self) -> str:
        names = self.arg_names or ()
        return tier_of(self.op, dict(zip(names, self.args)))

    @property
    def label(self) -> str:
        shape = "x".join(str(a) for a in self.args)
        extra = " ".join(
            f"{k}={v}"
            for k, v in self.kwargs.items()
            if k in ("dtype", "backend", "trans_b", "kind", "name", "direction", "batch")
        )
        return f"{self.op} {shape} {extra}".strip()

    @property
    def id(self) -> str:
        """What this case asks for, as canonical JSON: op, named arguments, and keywords other than HOW_TO_RUN."""
        names = self.arg_names or tuple(f"arg{i}" for i in range(len(self.args)))
        spec = {
            "op": self.op,
            **dict(zip(names, self.args)),
            **{k: v for k, v in self.kwargs.items() if k not in HOW_TO_RUN},
        }
        return json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)

    def failed(self, exc: BaseException, device: str) -> Result:
        return self.failed_with(error_record(exc), device)

    def failed_with(self, error: Mapping[str, Any], device: str) -> Result:
        """The Result of this case when it could not finish: ``error`` is ``{"type", "message", ...}``."""
        names = self.arg_names or tuple(f"arg{i}" for i in range(len(self.args)))
        params = dict(zip(names, self.args))
        params.update({k: v for k, v in self.kwargs.items() if k not in ("dtype", "backend", "device")})
        return Result(
            self.op,
            params,
            str(self.kwargs.get("backend", "auto")),
            str(self.kwargs.get("dtype", "")),
            device,
            error=dict(error),
            case=self.id,
        )
