#!/usr/bin/env bash
# On the GPU machine, after `pip install --no-build-isolation --no-deps .` in the repo root: the run options
# (am.RunOptions, run_options.check) now reach the CUDA runners through micro/_run (telemetry, mode, seed), and
# llm/model/layer pass telemetry to timing.measure; the native enum names come from one table (common/names.hpp).
# About 3 minutes. Logs: $OUT/dedup/ (2 files).
set -uo pipefail
LOG=${OUT:-gpu-out}/dedup
mkdir -p "$LOG"
python3 -P -m pytest -q -p no:cacheprovider -m cuda tests/test_run_options.py tests/test_launch.py 2>&1 \
  | tee "$LOG/pytest_run_options.log" | tail -5
python3 -P -m pytest -q -p no:cacheprovider -m cuda tests/test_bad_inputs.py tests/test_membw.py 2>&1 \
  | tee "$LOG/pytest_micro.log" | tail -5
