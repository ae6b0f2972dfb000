#!/usr/bin/env bash
# On the GPU machine: install the wheels built here by tools/build_wheel.py (carried
# in wheelhouse/; no network there, so --no-deps: the nvidia-* runtime wheels are
# already in that Python) and run a GEMM on the GPU through them.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
ls -la wheelhouse | tee "$OUT/wheel.log"
# Remove any source build first: it owns aimatrix/_backends/cu13 too, and reinstalling
# it after the back-end wheel would delete the back end's files.
python3 -m pip uninstall -q -y aimatrix aimatrix-cu13 2>&1 | tee -a "$OUT/wheel.log"
python3 -m pip install -q --no-deps wheelhouse/aimatrix-*.whl wheelhouse/aimatrix_cu13-*.whl 2>&1 | tee -a "$OUT/wheel.log"
python3 -m pip list 2>/dev/null | grep -i aimatrix | tee -a "$OUT/wheel.log"
cd /tmp && python3 - <<'PY' 2>&1 | tee -a "$OUT/wheel.log"
import aimatrix as am, aimatrix._native as n
print("back end:", n.cuda().__file__)
for dtype, backend in (("bf16", "cublaslt"), ("bf16", "tensorcore"), ("fp32", "simt")):
    print(am.gemm(4096, 4096, 4096, dtype=dtype, backend=backend, max_time=1.0))
PY
