"""`python -m aimatrix.bench [SUBCOMMAND]` and the `aimatrix` console script.

No subcommand runs the default suite (the GEMM sweep) on the default device.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from typing import Callable, Sequence

from rich.console import Console
from rich.markup import escape

from .. import _native, timing
from ..device import resolve
from ..micro.gemm import BACKENDS, DTYPES, default_backend
from ..peaks import peak_gbps, peak_tflops
from ..results.env import device_info, host_environment
from .console import print_results
from .runner import run_cases
from .suites import device_dtypes, gemm_suite

Command = Callable[[argparse.Namespace], int]


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _console() -> Console:
    """Wide enough for the results table when writing to a file or pipe."""
    c = Console()
    return c if c.is_terminal else Console(width=160)


def _default_out(device: str) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"aimatrix-{device.replace(':', '')}-{stamp}.jsonl"


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (first GPU, else CPU), cpu, cuda, cuda:N")
    p.add_argument("--dtype", type=_csv, default=None, help=f"comma list of {', '.join(DTYPES)} (default: all the device runs)")
    p.add_argument("--backend", type=_csv, default=["auto"], help=f"comma list of {', '.join(BACKENDS)}, or 'all'")
    p.add_argument("--out", default=None, help="JSON Lines file for the results (default: aimatrix-DEVICE-TIME.jsonl)")
    p.add_argument("--quick", action="store_true", help="fewer shapes and a shorter time budget per case")
    p.add_argument("--max-time", type=float, default=None, help="seconds per case at most (default 10, quick 2)")
    p.add_argument("--target", type=float, default=None, help="stop when the median's 95%% CI half-width is below this fraction")


def _run_micro(args: argparse.Namespace) -> int:
    console = _console()
    dev = resolve(args.device)
    dtypes = args.dtype or device_dtypes(dev)
    for d in dtypes:
        if d not in DTYPES:
            raise ValueError(f"--dtype {d!r} is not allowed: expected one of {', '.join(DTYPES)}")
    backends = args.backend
    expand = backends == ["all"]
    if expand:
        backends = ["cublaslt", "cublas", "simt", "tensorcore"] if dev.is_cuda else ["cpu"]
    for b in backends:
        if b not in BACKENDS:
            raise ValueError(f"--backend {b!r} is not allowed: expected one of {', '.join(BACKENDS)} or all")
    opts = timing.rule(max_time=args.max_time if args.max_time is not None else (2.0 if args.quick else 10.0),
                       target=args.target)
    cases = [c for c in gemm_suite(dev, dtypes=dtypes, backends=backends, quick=args.quick, timing=opts)
             if not expand or _backend_runs(c.kwargs["backend"], c.kwargs["dtype"], dev.is_cuda)]
    out = args.out or _default_out(str(dev))
    console.print(f"[bold]aimatrix[/bold] GEMM sweep on {_device_title(dev)}: {len(cases)} cases -> {out}")
    results = run_cases(cases, device=str(dev), out=out)
    print_results(results, console, title=f"GEMM on {_device_title(dev)}")
    failed = sum(1 for r in results if r.error)
    console.print(f"{len(results) - failed} passed, {failed} failed; results in {out}")
    return 1 if failed else 0


def _backend_runs(backend: str, dtype: str, cuda: bool) -> bool:
    """With --backend all: skip pairings that cannot run by design (own kernels cover one dtype family each)."""
    if backend == "auto":
        backend = default_backend(cuda, dtype)
    return {"simt": dtype == "fp32", "tensorcore": dtype in ("fp16", "bf16"), "cublas": dtype != "fp8",
            "cpu": dtype == "fp32"}.get(backend, True)


def _device_title(dev) -> str:
    if not dev.is_cuda:
        return f"CPU ({host_environment()['cpu']}, {host_environment()['cpu_threads']} threads)"
    return f"{dev} ({device_info(dev)['name']})"


def _run_info(args: argparse.Namespace) -> int:
    console = _console()
    env = host_environment()
    console.print(f"[bold]aimatrix {env['aimatrix']}[/bold] on {env['host']}: Python {env['python']}, {env['platform']}")
    console.print(f"CPU: {env['cpu']} ({env['cpu_count']} logical CPUs, {env['cpu_threads']} OpenMP threads)")
    if not _native.cuda_available():
        console.print(f"CUDA: not available — {escape(str(_native.cuda_unavailable_reason()))}")
        return 0
    for i in range(_native.cuda().device_count()):
        info = device_info(resolve(f"cuda:{i}"))
        cc = (info["cc_major"], info["cc_minor"])
        console.print(f"cuda:{i}: {info['name']} (sm_{cc[0]}{cc[1]}, {info['sm_count']} SMs, {info['clock_khz'] / 1e6:.2f} GHz, "
                      f"{info['total_mem_bytes'] / 2**30:.1f} GiB, L2 {info['l2_bytes'] / 2**20:.0f} MiB) {info['uuid']}")
        bw = peak_gbps(info["mem_clock_khz"], info["bus_width_bits"])
        peaks = ", ".join(f"{d} {p:.0f}" for d in DTYPES
                          if (p := peak_tflops(cc, info["sm_count"], info["clock_khz"], d)) is not None)
        console.print(f"  peak TFLOP/s: {peaks}; memory {bw:.0f} GB/s" if bw else f"  peak TFLOP/s: {peaks}")
        console.print(f"  driver {info['driver_version']}, CUDA runtime {info['cuda_runtime_version']}, "
                      f"cuBLAS {info['cublas_version']}, cuBLASLt {info['cublaslt_version']}")
    return 0


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Command]] = {
    "micro": ("GEMM micro benchmarks (the default suite)", _add_run_options, _run_micro),
    "info": ("devices, peaks and what is available", lambda p: None, _run_info),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aimatrix", description="How fast is this AI accelerator, really?")
    _add_run_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for name, (help_text, add_options, _) in COMMANDS.items():
        add_options(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "micro"
    try:
        return COMMANDS[command][2](args)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted: finished cases are in the results file")
        return 130
    except (ValueError, TypeError) as e:
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(e))}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
