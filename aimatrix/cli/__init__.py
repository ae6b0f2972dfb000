"""The command line: ``python -m aimatrix.bench [SUBCOMMAND] [OPTIONS]`` and the ``aimatrix`` script.

No subcommand runs the whole suite (``suite``). Each subcommand is one module here with a
``COMMAND`` (help, examples, the shared options it takes, its own options, what it runs);
the shared options are defined once in ``options.py`` and mean the same before or after
the subcommand. Exit codes: 0 success; 1 a case failed (suites) or a regression
(compare); 2 bad arguments or unusable input/output; 130 interrupted (finished cases are kept).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from rich.markup import escape

from ..errors import UnsupportedError
from . import collectives, compare, export, info, layers, macro, membw, micro, report, suite, synth
from .common import Command, stderr
from .options import SHARED, add_shared, merge_shared

COMMANDS: dict[str, Command] = {
    m.COMMAND.name: m.COMMAND
    for m in (suite, micro, membw, layers, macro, synth, collectives, info, compare, report, export)
}
DEFAULT = "suite"

_EPILOG = """examples:
  python -m aimatrix.bench                        # every tier on the first GPU (else the CPU), a report card
  python -m aimatrix.bench --quick --device cpu   # the same cases, a short budget each
  aimatrix micro --dtype bf16 --shapes 8192x8192x8192
  aimatrix compare base.jsonl new.jsonl
`aimatrix SUBCOMMAND --help` shows each subcommand's options and examples."""


def _version() -> str:
    from .. import __version__
    from ..system.env import git_revision

    rev = git_revision()
    return f"aimatrix {__version__}" + (f" ({rev})" if rev else "")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and each subcommand's."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="aimatrix", description="How fast is this AI accelerator, really?", epilog=_EPILOG, formatter_class=fmt
    )
    parser.add_argument("--version", action="version", version=_version())
    add_shared(parser, SHARED, top=True)
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    subs = {}
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help, epilog=cmd.examples, formatter_class=fmt)
        cmd.add_options(p)
        add_shared(p, cmd.shared)
        subs[cmd.name] = p
    return parser, subs


def _names_command(argv: Sequence[str], default: argparse.ArgumentParser) -> bool:
    """Whether ``argv`` names a subcommand: its first word that is neither an option nor an option's value."""
    actions = default._option_string_actions  # the default command's options, the shared ones among them
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--":
            return False
        elif word.startswith("-"):
            action = actions.get(word.split("=", 1)[0])
            skip = "=" not in word and action is not None and action.nargs != 0
        else:
            return word in COMMANDS
    return False


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The arguments, with shared options merged; no subcommand means the suite (its options may follow)."""
    parser, subs = build_parser()
    given = list(argv)
    if not _names_command(argv, subs[DEFAULT]) and not {"-h", "--help", "--version"} & set(argv):
        argv = [DEFAULT, *argv]
    args = parser.parse_args(argv)
    cmd = COMMANDS[args.command]
    args.argv = given  # the command line as given: the record's provenance
    return merge_shared(args, cmd.name, cmd.shared, parser.error)


def _run_fleet(argv: list[str], spec: str) -> int:
    from ..dist.fleet import expand_devices, run_fleet, summarize
    from .common import console

    con = console()
    devices = expand_devices(spec)
    con.print(f"[bold]aimatrix[/bold] fleet run on {', '.join(devices)}")
    rc, files = run_fleet(argv, devices)
    flags = summarize(files)
    for f in flags:
        con.print(
            f"[yellow]{f['device']} is {100 * f['slower_by']:.1f}% slower than its peers[/yellow] on "
            f"{escape(f['case'])} ({f['median_ms']:.4g} ms vs {f['peers_median_ms']:.4g} ms)"
        )
    peers = f"across {len(devices)} devices" if len(devices) > 1 else "(one device: no peers to compare it with)"
    con.print(f"{len(flags)} slow case(s) {peers}; results in {', '.join(files.values())}")
    return max(rc, 1 if flags else 0)


def _torch_missing(e: ModuleNotFoundError) -> bool:
    return (e.name or "").split(".")[0] in ("torch", "torchvision")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            args = parse(argv)
        except SystemExit as e:  # argparse: --help, --version (0) or a bad argument (2), already printed
            return int(e.code or 0)
        if getattr(args, "devices", None):
            return _run_fleet(argv, args.devices)
        return COMMANDS[args.command].run(args)
    except KeyboardInterrupt:
        stderr().print("interrupted: finished cases are in the results file")
        return 130
    except ModuleNotFoundError as e:
        if not _torch_missing(e):
            raise
        stderr().print(
            "[red]error:[/red] "
            + escape('this command needs PyTorch, which is not installed: pip install "aimatrix[torch]"')
        )
        return 2
    except (ValueError, TypeError, UnsupportedError) as e:
        stderr().print(f"[red]error:[/red] {escape(str(e))}")
        return 2


__all__ = ["main", "build_parser", "COMMANDS"]
