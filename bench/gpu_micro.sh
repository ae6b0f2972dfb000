#!/usr/bin/env bash
# Issue 3 on the GPU machine (called by bench/gpu_check.sh micro after the build):
# the CUDA tests of the micro benchmarks, then bench/micro_vs_torch.py. Logs in $OUT.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
echo "== pytest -m cuda (conv, membw, launch, catalog) =="
timeout ${MICRO_TEST_TIMEOUT:-0} python3 -P -m pytest -q -m cuda tests/test_conv.py tests/test_membw.py tests/test_launch.py tests/test_catalog.py \
  -p no:cacheprovider 2>&1 | tee "$OUT/pytest_micro.log" | tail -25
echo "== micro_vs_torch =="
timeout ${MICRO_BENCH_TIMEOUT:-0} python3 bench/micro_vs_torch.py --out "$OUT/micro_vs_torch.jsonl" ${MICRO_ARGS:-} 2>&1 | tee "$OUT/micro_vs_torch.md"
