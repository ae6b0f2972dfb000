"""The native modules' surface: stubs match what the bindings define."""

import re
from pathlib import Path

import aimatrix
from aimatrix import _native

ROOT = Path(__file__).resolve().parents[1]


def _defs(cpp: str) -> set[str]:
    return set(re.findall(r'm\.def\(\s*"(\w+)"', (ROOT / "csrc" / "bindings" / cpp).read_text()))


def _stub_functions(text: str) -> set[str]:
    return set(re.findall(r"^def (\w+)\(", text, flags=re.M))


def test_cuda_stub_matches_bindings():
    stub = (ROOT / "csrc" / "bindings" / "_cuda.pyi").read_text()
    assert _stub_functions(stub) == _defs("cuda.cpp")


def test_core_stub_is_generated_and_complete():
    stub = Path(aimatrix.__file__).with_name("_core.pyi")
    assert stub.exists(), "the build should install a generated _core.pyi"
    assert _defs("core.cpp") <= _stub_functions(stub.read_text())
    for name in _defs("core.cpp"):
        assert callable(getattr(_native.core, name))
