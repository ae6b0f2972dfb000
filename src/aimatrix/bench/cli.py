"""`python -m aimatrix.bench [SUBCOMMAND]` and the `aimatrix` console script.

No subcommand runs the default suite (the GEMM sweep) on the default device.
Exit codes: 0 success; 1 a case failed (suites) or a regression (compare);
2 bad arguments or unreadable input; 130 interrupted (finished cases are kept).

A subcommand is one entry in COMMANDS: (help, add_options(parser), run(args) -> exit code).
Suite subcommands add their options with ``_add_run_options`` (or ``_add_suite_options``)
and finish with ``run_suite(args, cases, device=..., title=...)``.
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
from ..errors import UnsupportedError
from ..micro.gemm import BACKENDS, DTYPES, default_backend
from ..peaks import peak_gbps, peak_tflops
from ..results.env import device_info, host_environment
from ..results.export import write_csv
from .console import print_results
from .runner import run_cases
from .suites import device_dtypes, gemm_suite

Command = Callable[[argparse.Namespace], int]


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _console() -> Console:
    """Wide enough for the results table when writing to a file or pipe."""
    c = Console(soft_wrap=True)
    return c if c.is_terminal else Console(width=160, soft_wrap=True)


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
    _add_suite_options(p)


def _add_suite_options(p: argparse.ArgumentParser) -> None:
    """How a suite runs: what every suite subcommand (micro, layers, macro, synth, ...) accepts."""
    p.add_argument("--resume", action="store_true", help="skip the cases already in --out (an interrupted run goes on)")
    p.add_argument("--retry-failed", action="store_true", help="with --resume: run again the cases that failed")
    p.add_argument("--isolate", action="store_true",
                   help="run cases in a child process, so a kernel fault or crash costs one case, not the run")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds a case may take before its process is ended (implies --isolate)")
    p.add_argument("--csv", default=None, metavar="FILE", help="also write the results as CSV")
    p.add_argument("--devices", default=None, metavar="all|LIST",
                   help="run on several devices at once (one process each, results OUT.DEVICE.jsonl) and flag a "
                        "device that is significantly slower than its peers")


def run_suite(args: argparse.Namespace, cases, *, device: str, title: str, console: Console | None = None) -> int:
    """Run cases with the suite options in ``args``, print the table and a summary; the exit code.

    0: every case passed; 1: some case failed; 130: interrupted (what finished is in the file).
    Suite subcommands call this after building their cases.
    """
    console = console or _console()
    out = args.out or _default_out(device)
    if args.retry_failed and not args.resume:
        raise ValueError("--retry-failed goes with --resume")
    if args.resume and not args.out:
        raise ValueError("--resume needs --out FILE: the results file of the run to go on with")
    console.print(f"[bold]aimatrix[/bold] {title}: {len(cases)} cases -> {out}")
    results = run_cases(cases, device=device, out=out, resume=args.resume, isolate=args.isolate,
                        timeout=args.timeout, retry_failed=args.retry_failed)
    if results.skipped:
        console.print(f"--resume: {len(results.skipped)} case(s) already in {out}, not run again")
    shown = [*results.skipped, *results]
    if shown:
        print_results(shown, console, title=title)
    if args.csv:
        write_csv(args.csv, shown)
        console.print(f"CSV: {args.csv}")
    failed = len(results.failed)
    ok = len(shown) - failed
    throttled = sum(1 for r in shown if r.throttled)
    tail = f"; {throttled} measured while the GPU throttled" if throttled else ""
    if results.interrupted:
        running = f" while running {results.running}" if results.running else ""
        console.print(f"[yellow]interrupted{escape(running)}[/yellow]: {ok} passed, {failed} failed, "
                      f"{results.not_run + (1 if results.running else 0)} not run{tail}; "
                      f"every finished case is in {out} (go on with --resume --out {out})")
        return 130
    console.print(f"{ok} passed, {failed} failed{tail}; results in {out}")
    return 1 if failed else 0


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
                       target=args.target, preset=timing.QUICK if args.quick else None)
    cases = [c for c in gemm_suite(dev, dtypes=dtypes, backends=backends, quick=args.quick, timing=opts)
             if not expand or _backend_runs(c.kwargs["backend"], c.kwargs["dtype"], dev.is_cuda)]
    return run_suite(args, cases, device=str(dev), title=f"GEMM on {_device_title(dev)}", console=console)


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


def _frameworks_status() -> list[tuple[str, str]]:
    """(framework, what aimatrix can do with it / why not) for the frameworks of the macro benchmarks."""
    import importlib

    from ..results.env import framework_versions

    versions = framework_versions()
    extras = {"torch": "torch", "torchvision": "torch", "onnxruntime": "onnx", "tensorrt": "trt", "tensorflow": "tf",
              "triton": "torch", "nvidia-ml-py": "nvml"}
    out = []
    for name, version in versions.items():
        if version is None:
            out.append((name, f"not installed (pip install aimatrix[{extras.get(name, name)}])"))
            continue
        detail = version
        if name in ("torch", "onnxruntime", "tensorrt"):
            try:
                mod = importlib.import_module(name)
                if name == "torch":
                    detail += (f", CUDA {mod.version.cuda}, GPU available" if mod.cuda.is_available()
                               else f", {'CUDA ' + mod.version.cuda if mod.version.cuda else 'CPU-only build'}, "
                                    "no GPU visible to it")
                elif name == "onnxruntime":
                    detail += ", providers " + ", ".join(mod.get_available_providers())
            except Exception as e:  # a broken install: say so, do not fail
                detail += f", but it does not import: {type(e).__name__}: {e}"
        out.append((name, detail))
    return out


def _run_info(args: argparse.Namespace) -> int:
    from ..results.telemetry import nvml_unavailable_reason

    console = _console()
    env = host_environment()
    rev = f" ({env['git_revision']})" if env.get("git_revision") else ""
    console.print(f"[bold]aimatrix {env['aimatrix']}{escape(rev)}[/bold] on {env['host']}: Python {env['python']}, {env['platform']}")
    console.print(f"CPU: {env['cpu']} ({env['cpu_count']} logical CPUs, {env['cpu_threads']} OpenMP threads); "
                  "backend cpu: fp32 GEMM (own blocked OpenMP kernel)")
    nvml = nvml_unavailable_reason()
    console.print("telemetry: NVML" + (f" not available — {escape(nvml)}" if nvml else
                                       " (clocks, power, temperature, throttling, energy during each GPU measurement)"))
    if not _native.cuda_available():
        console.print(f"CUDA: not available — {escape(str(_native.cuda_unavailable_reason()))}; "
                      "backends cublas, cublaslt, simt, tensorcore need it")
    else:
        for i in range(_native.cuda().device_count()):
            info = device_info(resolve(f"cuda:{i}"))
            cc = (info["cc_major"], info["cc_minor"])
            console.print(f"cuda:{i}: {info['name']} (sm_{cc[0]}{cc[1]}, {info['sm_count']} SMs, "
                          f"{info['clock_khz'] / 1e6:.2f} GHz, {info['total_mem_bytes'] / 2**30:.1f} GiB, "
                          f"L2 {info['l2_bytes'] / 2**20:.0f} MiB) {info['uuid']} PCI {info.get('pci_bus_id', '?')}")
            bw = peak_gbps(info["mem_clock_khz"], info["bus_width_bits"])
            peaks = ", ".join(f"{d} {p:.0f}" for d in DTYPES
                              if (p := peak_tflops(cc, info["sm_count"], info["clock_khz"], d)) is not None)
            console.print(f"  peak TFLOP/s: {peaks}; memory bandwidth {bw:.0f} GB/s" if bw else f"  peak TFLOP/s: {peaks}")
            cudnn = info.get("cudnn_version")
            console.print(f"  driver {info.get('nvml_driver_version') or info['driver_version']} (CUDA driver API "
                          f"{info['driver_version']}), CUDA runtime {info['cuda_runtime_version']}, "
                          f"cuBLAS {info['cublas_version']}, cuBLASLt {info['cublaslt_version']}, "
                          f"cuDNN {cudnn if cudnn else 'not found'}")
            if info.get("power_limit_w"):
                console.print(f"  power limit {info['power_limit_w']:.0f} W, max SM clock {info.get('max_sm_clock_mhz')} MHz")
            console.print("  backends: cublas, cublaslt (all dtypes the GPU runs), simt (fp32), tensorcore (fp16/bf16)")
    for name, detail in _frameworks_status():
        console.print(f"framework {name}: {escape(detail)}")
    return 0


def _load_runs(paths: Sequence[str], console: Console) -> list:
    """Every readable Result of each file (warnings for bad lines); ValueError when a file has none."""
    from ..results.jsonl import load_results

    runs = []
    err = Console(stderr=True, soft_wrap=True)
    for path in paths:
        loaded = load_results(path)
        if not loaded.ok:
            raise ValueError("; ".join(loaded.problems))
        for problem in loaded.problems:
            err.print(f"[yellow]warning:[/yellow] {escape(problem)} (line skipped; the readable lines are used)")
        runs.append(loaded)
    return runs


def _add_compare_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("base", help="results of the base run (JSON Lines)")
    p.add_argument("new", help="results of the new run (JSON Lines)")
    p.add_argument("--threshold", default="3%", help="smallest change that counts as a regression (default 3%%)")
    p.add_argument("--gate", action="store_true",
                   help="exit 1 on a regression even when the runs are on different devices")
    p.add_argument("--csv", default=None, metavar="FILE", help="also write the comparison as CSV")


def _run_compare(args: argparse.Namespace) -> int:
    from ..results.compare import compare, parse_threshold
    from .console import comparison_table, write_comparison_csv

    console = _console()
    threshold = parse_threshold(args.threshold)
    base, new = _load_runs([args.base, args.new], console)
    cmp = compare(base.results, new.results, threshold=threshold, base_name=args.base, new_name=args.new)
    if not cmp.matched:
        console.print(f"[red]no case in common[/red] between {escape(args.base)} ({len(base.results)} results, "
                      f"{cmp.base_device}) and {escape(args.new)} ({len(new.results)} results, {cmp.new_device}): "
                      "nothing to compare")
        return 2
    if cmp.devices_differ:
        console.print(f"base: {cmp.base_device} ({escape(args.base)}); new: {cmp.new_device} ({escape(args.new)})")
    console.print(comparison_table(cmp))
    if args.csv:
        write_comparison_csv(args.csv, cmp)
    counts = cmp.counts()
    summary = ", ".join(f"{n} {v}" for v, n in counts.most_common())
    gate = args.gate or not cmp.devices_differ
    if cmp.devices_differ:
        console.print(f"devices differ ({cmp.base_device} vs {cmp.new_device}): side-by-side comparison"
                      + ("" if args.gate else ", not a regression gate (--gate makes it one)"))
    regressions = cmp.regressions
    if regressions and gate:
        console.print(f"{summary}. [red]{len(regressions)} regression(s)[/red] beyond {threshold:.1%}: "
                      + escape("; ".join(r.label + f" ({r.verdict})" for r in regressions[:10])))
        return 1
    if gate:
        console.print(f"{summary}. No significant regression beyond {threshold:.1%}.")
    else:
        console.print(f"{summary} ({cmp.new_device} against {cmp.base_device}, threshold {threshold:.1%}).")
    return 0


def _add_report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", help="results files (JSON Lines); with several, the first is the base")
    p.add_argument("-o", "--output", default="report.html", help="HTML file to write (default report.html)")
    p.add_argument("--title", default=None, help="the report's title")
    p.add_argument("--png", default=None, metavar="DIR",
                   help="also write each chart as a PNG into DIR (needs chromium; see docs/results-schema.md)")
    p.add_argument("--threshold", default="3%", help="the comparison's threshold (default 3%%)")


def _run_report(args: argparse.Namespace) -> int:
    from ..results.compare import parse_threshold
    from ..results.report import export_pngs, write_report

    console = _console()
    threshold = parse_threshold(args.threshold)
    runs = _load_runs(args.runs, console)
    report = write_report(args.output, [(lo.path, lo.results) for lo in runs], title=args.title, threshold=threshold,
                          problems=[p for lo in runs for p in lo.problems])
    console.print(f"report: {report.path} ({len(report.charts)} charts)")
    if args.png:
        for png in export_pngs(report.charts, args.png):
            console.print(f"chart: {png}")
    return 0


def _add_export_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", help="results files (JSON Lines)")
    p.add_argument("-o", "--output", required=True, help="CSV file to write")


def _run_export(args: argparse.Namespace) -> int:
    console = _console()
    runs = _load_runs(args.runs, console)
    n = write_csv(args.output, [r for lo in runs for r in lo.results])
    console.print(f"{n} results -> {args.output}")
    return 0


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Command]] = {
    "micro": ("GEMM micro benchmarks (the default suite)", _add_run_options, _run_micro),
    "info": ("devices, peaks and what is available", lambda p: None, _run_info),
    "compare": ("compare two runs case by case; exit 1 on a significant regression", _add_compare_options, _run_compare),
    "report": ("a self-contained HTML report (charts, environment, comparison) of one or more runs",
               _add_report_options, _run_report),
    "export": ("results as CSV", _add_export_options, _run_export),
}


from .commands import EXTRA_COMMANDS  # noqa: E402  (they use run_suite and the options above)

COMMANDS.update(EXTRA_COMMANDS)
from .micro_suite import MICRO_COMMANDS  # noqa: E402  (micro --catalog, membw)

COMMANDS.update(MICRO_COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aimatrix", description="How fast is this AI accelerator, really?")
    _add_run_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    for name, (help_text, add_options, _) in COMMANDS.items():
        add_options(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def _run_fleet(argv: list[str], spec: str) -> int:
    from ..dist.fleet import expand_devices, run_fleet, summarize

    console = _console()
    devices = expand_devices(spec)
    console.print(f"[bold]aimatrix[/bold] fleet run on {', '.join(devices)}")
    rc, files = run_fleet(argv, devices)
    flags = summarize(files)
    for f in flags:
        console.print(f"[yellow]{f['device']} is {100 * f['slower_by']:.1f}% slower than its peers[/yellow] on "
                      f"{escape(f['case'])} ({f['median_ms']:.4g} ms vs {f['peers_median_ms']:.4g} ms)")
    console.print(f"{len(flags)} slow case(s) across {len(devices)} devices; results in {', '.join(files.values())}")
    return max(rc, 1 if flags else 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    command = args.command or "micro"
    try:
        if getattr(args, "devices", None):
            return _run_fleet(argv, args.devices)
        return COMMANDS[command][2](args)
    except KeyboardInterrupt:
        Console(stderr=True, soft_wrap=True).print("interrupted: finished cases are in the results file")
        return 130
    except (ValueError, TypeError, UnsupportedError) as e:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {escape(str(e))}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
