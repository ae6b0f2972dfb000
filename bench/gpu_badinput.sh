#!/usr/bin/env bash
# On the GPU machine, after `pip install --no-build-isolation --no-deps .` in the repo root: the bad-input tests
# that need a GPU (a CUDA device index beyond the machine; bad sizes refused on a GPU too; GEMM and membw at the
# limits still run), and the CUDA membw tests: the native spec checks the CUDA runners share (gemm sizes, membw
# passes, the stopping rule) changed.
# About 2 minutes. Logs: $OUT/badinput/ (2 files).
set -uo pipefail
LOG=${OUT:-gpu-out}/badinput
mkdir -p "$LOG"
python3 -P -m pytest -q -p no:cacheprovider -m cuda tests/test_bad_inputs.py 2>&1 | tee "$LOG/pytest_bad_inputs.log" | tail -5
python3 -P -m pytest -q -p no:cacheprovider -m cuda tests/test_membw.py 2>&1 \
  | tee "$LOG/pytest_membw.log" | tail -5
