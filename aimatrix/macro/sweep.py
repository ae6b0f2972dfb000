"""``run_macro``: a sweep of models x batches x dtypes x backends that records failures and goes on."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

from ..device import resolve
from ..results.result import Result
from ..suite.case import Case
from ..suite.runner import iter_results
from . import backends, zoo
from .model_case import model


def _names(value: str | Iterable[str] | None, known: Sequence[str]) -> list[str]:
    if value is None:
        return list(known)
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def run_macro(
    models: str | Iterable[str] | None = None,
    batches: Iterable[int | None] | None = None,
    dtypes: str | Iterable[str] = ("fp32",),
    backends_: str | Iterable[str] | None = ("torch",),
    *,
    scenario: str = "offline",
    size: str = "full",
    device: str = "auto",
    warm_start_iters: int = 0,
    seed: int = 0,
    **options: Any,
) -> Iterator[Result]:
    """Yield one Result per (model, batch, dtype, backend), in that nesting order, through the suite runner.

    ``models``/``dtypes``/``backends_`` take lists or comma-separated strings;
    ``models=None`` runs the whole zoo, ``backends_=None`` every installed backend
    (CUDA-only ones only on a GPU), ``batches=None`` each model's default batch.
    A case that fails (unknown name, backend not installed, out of memory, an
    unsupported dtype, ...) is yielded as ``Result.failed`` and the sweep goes on.
    Other keyword options go to :func:`aimatrix.model` (timing options, ``strict``, ...).
    """
    model_names = _names(models, zoo.names())
    dtype_names = _names(dtypes, ["fp32"])
    try:
        dev = resolve(device)
        dev_name = str(dev)
    except Exception:  # noqa: BLE001 - every case will record why
        dev, dev_name = None, str(device)
    if backends_ is None:
        backend_names = [
            n for n in backends.installed() if dev is not None and (dev.is_cuda or not backends.BACKENDS[n].needs_cuda)
        ]
    else:
        backend_names = _names(backends_, backends.NAMES)
    batch_list = [None] if batches is None else list(batches)
    cases = [
        Case(
            "model",
            model,
            (name,),
            dict(
                batch=batch,
                dtype=dtype,
                backend=be,
                scenario=scenario,
                size=size,
                device=dev_name,
                warm_start_iters=warm_start_iters,
                seed=seed,
                **options,
            ),
            arg_names=("model",),
        )
        for name in model_names
        for batch in batch_list
        for dtype in dtype_names
        for be in backend_names
    ]
    yield from iter_results(cases, device=dev_name)
