"""``aimatrix synth``: StatsNet — profile real models, cluster their layers, synthesize a proxy, run it."""

from __future__ import annotations

import argparse

from ..device import resolve
from ..suite import outfile
from ..suite.case import Case
from ..suite.micro import est_seconds
from .common import Command, console, default_out, run_suite, timing_of
from .options import SUITE, csv_list, lazy, positive_int


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--models",
        type=csv_list(lazy("aimatrix.macro.zoo", "names")),
        default=["alexnet", "vgg16", "googlenet"],
        help="the real models (default alexnet,vgg16,googlenet)",
    )
    p.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"], help="the proxy's dtype")
    p.add_argument("--size", default="full", choices=["full", "tiny"], help="the real models' configuration")
    p.add_argument(
        "--save",
        default=None,
        metavar="DIR",
        help="also keep the workload, groups and synthetic model (JSON, ONNX) in DIR",
    )
    p.add_argument("--bits", type=positive_int, default=10, help="bits per filter count in the GA's genes")
    p.add_argument("--population", type=positive_int, default=5000, help="the GA's population")
    p.add_argument("--generations", type=positive_int, default=50, help="the GA's generations")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthesis and of the inputs")
    p.add_argument("--no-run", action="store_true", help="profile, cluster and synthesize only")
    p.add_argument(
        "--backends",
        type=csv_list(("torch", "torch-graph", "native")),
        default=["torch", "native"],
        help="run the proxy under: torch (the whole module), torch-graph (the same as one CUDA graph), "
        "native (its convs alone)",
    )
    p.add_argument(
        "--fidelity",
        action="store_true",
        help="also time every real conv and its group's synthetic convs (minutes on a CPU)",
    )


def run(args: argparse.Namespace) -> int:
    from ..suite.default import statsnet_proxy
    from ..synth.pipeline import run_synth

    dev = resolve(args.device)
    con = console()
    if args.save:
        from pathlib import Path

        if Path(args.save).exists() and not Path(args.save).is_dir():
            raise ValueError(f"--save {args.save!r} is not allowed: it is a file; give a folder")
    if not args.no_run:  # before the minutes of profiling and synthesis, not after them
        args.out = args.out or default_out(str(dev))
        outfile.prepare(args.out, resume=args.resume, append=args.append)
    con.print(f"[bold]aimatrix synth[/bold]: profiling {', '.join(args.models)} on {dev} ...")
    timing = timing_of(args)
    run_synth(
        args.models,
        device=str(dev),
        dtype=args.dtype,
        out=args.save,
        bits=args.bits,
        population=args.population,
        generations=args.generations,
        seed=args.seed,
        run=args.fidelity,
        with_fidelity=args.fidelity,
        backends=(),
        size=args.size,
        print_fn=con.print,
        **timing,
    )
    if args.no_run:
        return 0
    ga = dict(bits=args.bits, population=args.population, generations=args.generations, seed=args.seed)
    cases = [
        Case(
            "synth",
            statsnet_proxy,
            (",".join(args.models),),
            dict(dtype=args.dtype, backend=b, size=args.size, device=str(dev), **ga, **timing),
            arg_names=("models",),
            est_s=est_seconds(timing, 8.0),
        )
        for b in args.backends
    ]
    return run_suite(
        args, cases, device=str(dev), title=f"synthetic proxy of {'+'.join(args.models)} on {dev}", con=con
    ).code


COMMAND = Command(
    "synth",
    "StatsNet: profile, cluster, synthesize and run a synthetic proxy model",
    """examples:
  aimatrix synth --models alexnet,vgg16,googlenet --dtype bf16
  aimatrix synth --no-run --save statsnet/
  aimatrix synth --fidelity --quick""",
    SUITE,
    add_options,
    run,
)
