"""The command line's options: shared ones mean the same before or after the subcommand, bad values exit 2."""

import json
import os
import subprocess
import sys

import pytest

from aimatrix.cli import COMMANDS, main, parse
from aimatrix.cli.options import SHARED, byte_size

# A value for each shared option that takes one (flags take none).
VALUES = {
    "device": "cpu",
    "out": "x.jsonl",
    "max_time": "0.5",
    "target": "0.02",
    "timeout": "30",
    "csv": "x.csv",
    "timer": "cupti",
    "pause": "1",
    "devices": "cpu,cpu",
}


def _words(name: str) -> list[str]:
    flag = SHARED[name][0][0]
    return [flag, VALUES[name]] if name in VALUES else [flag]


# Subcommands whose positional arguments must be given for the parser to accept the line.
POSITIONAL = {"compare": ["a.jsonl", "b.jsonl"], "report": ["a.jsonl"], "export": ["a.jsonl", "-o", "x.csv"]}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("name", list(SHARED))
def test_a_shared_option_means_the_same_before_or_after_the_subcommand(command, name, capsys):
    cmd = COMMANDS[command]
    rest = POSITIONAL.get(command, [])
    if name not in cmd.shared:
        assert main([*_words(name), command, *rest]) == 2
        assert f"{SHARED[name][0][0]} does not apply to '{command}'" in capsys.readouterr().err
        return
    before = {k: v for k, v in vars(parse([*_words(name), command, *rest])).items() if k != "argv"}
    after = {k: v for k, v in vars(parse([command, *rest, *_words(name)])).items() if k != "argv"}
    assert before == after
    assert before[name] not in (None, False)


def test_the_same_option_twice_with_different_values_is_refused(capsys):
    assert main(["--device", "cpu", "micro", "--device", "cuda"]) == 2
    assert "--device was given twice with different values" in capsys.readouterr().err
    assert parse(["--device", "cpu", "micro", "--device", "cpu"]).device == "cpu"


def test_no_subcommand_is_the_whole_suite_with_its_options():
    args = parse(["--device", "cpu", "--tiers", "micro,macro", "--quick"])
    assert args.command == "suite" and args.tiers == ["micro", "macro"] and args.quick and args.device == "cpu"
    assert parse([]).command == "suite" and parse([]).device == "auto"
    assert parse(["--out", "micro", "--quick"]).out == "micro"  # an option's value is not a subcommand


@pytest.mark.parametrize(
    "text,value",
    [("4096", 4096), ("64K", 65536), ("4G", 4 << 30), ("256Mi", 256 << 20), ("1GB", 10**9), ("1.5Ki", 1536)],
)
def test_byte_sizes_take_the_suffixes_nccl_tests_takes(text, value):
    assert byte_size(text) == value


BAD = [
    (["micro", "--max-time", "0"], "--max-time", "'0' is not allowed: it must be a finite number > 0"),
    (["micro", "--target", "0"], "--target", "'0' is not allowed"),
    (["micro", "--timeout", "nan"], "--timeout", "'nan' is not allowed"),
    (["membw", "--nbytes", "-4"], "--nbytes", "'-4' is not a size"),
    (["membw", "--max-bytes", "4X"], "--max-bytes", "'4X' is not a size"),
    (["micro", "--dtype", "fp64"], "--dtype", "'fp64' is not allowed: expected one of fp32"),
    (["micro", "--shapes", "4096x4096"], "--shapes", "'4096x4096' is not a GEMM shape"),
    (["layers", "--layers", "nope"], "--layers", "'nope' is not allowed: expected one of"),
    (["macro", "--backend", "jax"], "--backend", "'jax' is not allowed: expected one of torch"),
    (["macro", "--dtype", "int4"], "--dtype", "'int4' is not allowed: expected one of fp32"),
    (["macro", "--models", "resnet9000"], "--models", "'resnet9000' is not allowed: expected one of"),
    (["--tiers", "micro,nano"], "--tiers", "'nano' is not allowed: expected one of micro, layers, macro, synthetic"),
    (["collectives", "--nproc", "0"], "--nproc", "'0' is not allowed"),
]


@pytest.mark.parametrize("argv,option,message", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_a_bad_value_is_a_bad_argument_exit_2_one_line(argv, option, message, tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "aimatrix.bench", *argv, "--out", str(tmp_path / "x.jsonl")]
        if argv[0] != "collectives"
        else [sys.executable, "-m", "aimatrix.bench", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert p.returncode == 2, p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert option in last and message in last, last
    assert "Traceback" not in p.stderr and not (tmp_path / "x.jsonl").exists()


def test_version_and_help_with_examples():
    p = subprocess.run(
        [sys.executable, "-m", "aimatrix.bench", "--version"], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0 and p.stdout.startswith("aimatrix ")
    import importlib.metadata

    import aimatrix

    assert aimatrix.__version__ in p.stdout
    try:  # installed: the wheel's metadata took its version from the same one copy (aimatrix/_version.py)
        assert importlib.metadata.version("aimatrix") == aimatrix.__version__
    except importlib.metadata.PackageNotFoundError:
        pass  # run from a source checkout that was never installed
    for command in COMMANDS:
        h = subprocess.run(
            [sys.executable, "-m", "aimatrix.bench", command, "--help"], capture_output=True, text=True, timeout=60
        )
        assert h.returncode == 0 and "examples:" in h.stdout, command


@pytest.mark.parametrize(
    "target,why",
    [("/dev/full", "not a regular file"), (".", "it is a folder"), ("nosuchdir/x.jsonl", "does not exist")],
)
def test_an_unusable_out_is_refused_before_any_work(target, why, tmp_path, capsys):
    assert main(["micro", "--device", "cpu", "--shapes", "8x8x8", "--out", target]) == 2
    err = capsys.readouterr().err
    assert why in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere: a read-only path cannot be made")
def test_a_read_only_out_is_refused(tmp_path, capsys):
    tmp_path.chmod(0o500)
    assert main(["micro", "--device", "cpu", "--shapes", "8x8x8", "--out", str(tmp_path / "x.jsonl")]) == 2
    assert "not writable" in capsys.readouterr().err


def test_out_holding_another_run_is_refused_unless_resume_or_append(tmp_path, capsys):
    out = tmp_path / "run.jsonl"
    argv = ["micro", "--device", "cpu", "--shapes", "16x16x16", "--max-time", "0.05", "--out", str(out)]
    assert main(argv) == 0
    first = [json.loads(x) for x in out.read_text().splitlines()]
    run = first[0]["run"]
    assert set(run) == {"run_id", "started_utc", "command", "aimatrix", "git_revision", "host"}
    assert run["started_utc"].endswith("Z") and "micro --device cpu" in run["command"]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(out) in err and run["run_id"] in err and "--append" in err
    assert main([*argv, "--append"]) == 0
    ids = [json.loads(x)["run"]["run_id"] for x in out.read_text().splitlines()]
    assert len(ids) == 2 and ids[0] != ids[1]  # the two runs can be told apart


def test_resume_refuses_a_file_that_is_not_aimatrix_jsonl(tmp_path, capsys):
    out = tmp_path / "notes.jsonl"
    out.write_text('{"hello": 1}\nsome notes\n')
    argv = ["micro", "--device", "cpu", "--shapes", "16x16x16", "--out", str(out)]
    assert main([*argv, "--resume"]) == 2
    assert "not an aimatrix results file" in capsys.readouterr().err
    assert out.read_text() == '{"hello": 1}\nsome notes\n'  # nothing lost


def _run_without_torch(argv, tmp_path):
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['torchvision'] = None\n"
        "from aimatrix.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )


@pytest.mark.parametrize("argv", [["macro", "--models", "resnet50"], ["layers"], ["layers", "--dtype", "fp32"]])
def test_without_pytorch_the_torch_commands_say_how_to_install_it(argv, tmp_path):
    p = _run_without_torch([*argv, "--device", "cpu"], tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert 'pip install "aimatrix[torch]"' in p.stderr


def test_without_pytorch_am_model_says_how_to_install_it(tmp_path):
    code = (
        "import sys; sys.modules['torch'] = None\nimport aimatrix as am\n"
        "try:\n    am.model\nexcept am.UnsupportedError as e:\n    print(e)"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert 'pip install "aimatrix[torch]"' in p.stdout, p.stderr


def test_every_option_has_help_text():
    import argparse

    from aimatrix.cli import build_parser

    parser, subs = build_parser()
    missing = [
        f"{name} {a.option_strings or a.dest}"
        for name, p in [("aimatrix", parser), *subs.items()]
        for a in p._actions
        if not isinstance(a, argparse._SubParsersAction) and not a.help
    ]
    assert missing == []


def test_synth_refuses_an_unusable_out_before_profiling(tmp_path, capsys):
    import time

    t0 = time.monotonic()
    assert main(["synth", "--device", "cpu", "--out", str(tmp_path)]) == 2
    assert "is not allowed: it is a folder" in capsys.readouterr().err
    assert time.monotonic() - t0 < 5  # no profiling or synthesis first
