"""Benchmark cases: a named call of a public aimatrix function, run by the suite runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..results.result import Result


@dataclass(frozen=True)
class Case:
    """One benchmark to run: ``fn(*args, **kwargs) -> Result``; ``op``/``params`` describe it if it fails."""

    op: str
    fn: Callable[..., Result]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    arg_names: tuple = ()  # names of the positional args, for the record of a failed case

    @property
    def label(self) -> str:
        shape = "x".join(str(a) for a in self.args)
        extra = " ".join(f"{k}={v}" for k, v in self.kwargs.items() if k in ("dtype", "backend", "trans_b", "kind", "name"))
        return f"{self.op} {shape} {extra}".strip()

    def failed(self, exc: BaseException, device: str) -> Result:
        names = self.arg_names or tuple(f"arg{i}" for i in range(len(self.args)))
        params = dict(zip(names, self.args))
        params.update({k: v for k, v in self.kwargs.items() if k not in ("dtype", "backend", "device")})
        return Result.failed(self.op, params, backend=str(self.kwargs.get("backend", "auto")),
                             dtype=str(self.kwargs.get("dtype", "")), device=device, exc=exc)
