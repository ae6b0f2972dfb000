#!/usr/bin/env bash
# On the GPU machine after the build (bash bench/gpu_check.sh spine): the CUDA tests of
# the timing engine, GEMM and memory benchmarks, then GEMM vs torch with both sides given
# the same warm-up and measuring time: the square shapes in 2 interleaved rounds of
# 1 s + 1 s, the DeepBench shapes (10-100 us kernels) in 3 rounds of 0.5 s + 0.5 s.
# SPINE_SKIP_TESTS=1: the benchmark alone.
set -uo pipefail
OUT=${OUT:-gpu-out}
if [ -z "${SPINE_SKIP_TESTS:-}" ]; then
  echo "== pytest -m cuda (timing, gemm, membw) =="
  timeout 240 python3 -P -m pytest -q -m cuda tests/test_timing.py tests/test_gemm.py tests/test_membw.py \
    -p no:cacheprovider --durations=5 2>&1 | tee "$OUT/pytest_spine.log" | tail -12
fi
echo "== gemm_vs_torch =="
timeout 330 python3 bench/gemm_vs_torch.py --sections compare --no-hot --rounds 2 --warmup 1 --min-time 1 \
  --shapes 8192x8192x8192,4096x4096x4096,1024x1024x1024 --out /tmp/gemm_square.jsonl 2>&1 | tee "$OUT/gemm_vs_torch.md"
timeout 150 python3 bench/gemm_vs_torch.py --sections compare --no-hot --rounds 3 --warmup 0.5 --min-time 0.5 \
  --shapes 5124x700x2048,35x700x2048 --out /tmp/gemm_deepbench.jsonl 2>&1 | tail -n +4 | tee -a "$OUT/gemm_vs_torch.md"
