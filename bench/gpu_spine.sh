#!/usr/bin/env bash
# On the GPU machine after the build (bash bench/gpu_check.sh spine): the CUDA tests of
# the timing engine, GEMM and memory benchmarks; GEMM vs torch with both sides given
# the same 1 s warm-up and 1 s of samples; memory bandwidth and launch latency vs torch.
set -uo pipefail
OUT=${OUT:-gpu-out}
echo "== pytest -m cuda (timing, gemm, membw) =="
timeout 240 python3 -P -m pytest -q -m cuda tests/test_timing.py tests/test_gemm.py tests/test_membw.py \
  -p no:cacheprovider --durations=5 2>&1 | tee "$OUT/pytest_spine.log" | tail -12
echo "== gemm_vs_torch (compare) =="
timeout 330 python3 bench/gemm_vs_torch.py --sections compare --no-hot --rounds 1 --warmup 1 --min-time 1 \
  --out /tmp/gemm_vs_torch.jsonl 2>&1 | tee "$OUT/gemm_vs_torch.md"
echo "== micro_vs_torch (memory, launch) =="
timeout 150 python3 bench/micro_vs_torch.py --sections memory,launch --out /tmp/micro_mem.jsonl 2>&1 | tee "$OUT/micro_mem.md"
