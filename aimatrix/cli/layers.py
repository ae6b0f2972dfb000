"""``aimatrix layers``: single layers at the shapes the zoo's models run them."""

from __future__ import annotations

import argparse

from ..device import resolve
from ..suite.case import Case
from ..suite.micro import est_seconds
from .common import Command, run_suite, timing_of
from .options import SUITE, add_framework_dtype, csv_list, lazy


def _known() -> list[str]:
    from ..layers import NAMES, catalog

    return [*NAMES, *sorted({e["model"] for e in catalog()})]


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--layers",
        type=csv_list(_known),
        default=None,
        metavar="NAMES",
        help="layer names at their default shapes, or a model's name for the layers of its catalogue "
        "(e.g. lstm,attention or deepspeech); default: the whole catalogue",
    )
    add_framework_dtype(p)
    p.add_argument(
        "--backend",
        type=csv_list(lazy("aimatrix.layers", "LAYER_BACKENDS")),
        default=["torch"],
        help="comma list of torch, torch-compile, torch-graph (default torch)",
    )
    p.add_argument("--train", action="store_true", help="time forward + backward")


def run(args: argparse.Namespace) -> int:
    from ..layers import catalog, layer

    dev = resolve(args.device)
    entries = catalog()
    if args.layers:
        models = {e["model"] for e in entries}
        entries = [
            e for name in args.layers for e in (catalog(name) if name in models else [{"layer": name, "shape": {}}])
        ]
    timing = timing_of(args)
    cases = [
        Case(
            "layer",
            layer,
            (e["layer"],),
            {**e["shape"], "dtype": dt, "backend": be, "device": str(dev), "train": args.train, **timing},
            arg_names=("layer",),
            est_s=est_seconds(timing, 1.0),
        )
        for e in entries
        for dt in args.dtype
        for be in args.backend
    ]
    return run_suite(args, cases, device=str(dev), title=f"layers on {dev}").code


COMMAND = Command(
    "layers",
    "single-layer benchmarks (the shapes the macro models use)",
    """examples:
  aimatrix layers --layers lstm,attention --dtype bf16
  aimatrix layers --layers deepspeech --train --quick""",
    SUITE,
    add_options,
    run,
)
