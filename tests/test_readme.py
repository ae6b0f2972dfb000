"""Every example in README.md runs as written, in a fresh interpreter or shell.

Fenced blocks are found by their info string: ``python`` and ``sh`` run here (on the CPU),
``python cuda`` and ``sh cuda`` only where a GPU is (``-m cuda``). Two kinds of shell line
are left to CI itself, which runs them before this file can: ``pip install ...`` (CI
installs the package) and the line that runs ``pytest`` (it is the command running this).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```(python|sh)([^\n]*)\n(.*?)^```", re.M | re.S)


def _blocks(kind: str, cuda: bool) -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        if m.group(1) == kind and ("cuda" in m.group(2).split()) == cuda:
            out.append((text[: m.start()].count("\n") + 1, m.group(3)))
    return out


def _shell_lines(block: str) -> list[str]:
    lines = [ln for ln in block.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return [ln for ln in lines if not ln.startswith("pip install") and "pytest" not in ln]


def _params(kind: str, cuda: bool):
    marks = [pytest.mark.cuda] if cuda else []
    return [pytest.param(code, id=f"README.md:{line}", marks=marks) for line, code in _blocks(kind, cuda)]


def test_the_readme_has_examples_of_each_kind():
    assert _blocks("python", False) and _blocks("sh", False) and _blocks("python", True)
    assert all(not ln.startswith("$ ") for _, b in _blocks("sh", False) for ln in b.splitlines())  # copy-paste


def _run(argv, cwd, timeout):
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"exit {p.returncode}\n--- stdout\n{p.stdout[-4000:]}\n--- stderr\n{p.stderr[-4000:]}"
    return p


@pytest.mark.parametrize("code", _params("python", False) + _params("python", True))
def test_python_example(code, tmp_path):
    _run([sys.executable, "-c", code], tmp_path, 900)


@pytest.mark.parametrize("code", _params("sh", False) + _params("sh", True))
def test_shell_example(code, tmp_path):
    lines = _shell_lines(code)
    if not lines:
        pytest.skip("only install and test commands, which CI runs itself")
    _run(["bash", "-euo", "pipefail", "-c", "\n".join(lines)], tmp_path, 1500)
