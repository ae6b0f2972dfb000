#!/usr/bin/env bash
# GPU checks of the layer/macro benchmarks (issue 4), for the lead on the GPU machine after
# `pip install .` of aimatrix. Logs go to $OUT (default ./gpu-models-out).
#
#   bash bench/gpu_models.sh [all|tests|table|compile|compile-resume]
#
# tests:   `pytest -m cuda` of the model/layer/backend tests: every model (tiny) under every installed
#          backend in fp32 and bf16, one full-size ResNet-50, the catalogued layers (target <= 3 min on an H100).
# table:   bench/macro_vs_raw.py: the harness-overhead check, then every model x {torch, torch-graph,
#          onnxruntime, torch-compile} x {bf16, fp32} at its default batch, timed with aimatrix.timing.QUICK
#          (0.3 s warm-up, 0.5-1 s of samples, >= 3 samples); torch-compile rows last, their cases compiled
#          first in 6 processes at once (warm Inductor caches). New cases stop after TABLE_BUDGET_S (300 s);
#          skipped ones are listed. Full-size compiles take 10-90 s each, so the torch-compile rows may not
#          all fit: `compile` runs just those (a second call, on a fresh machine): compiled first in 8
#          processes (a fresh one per case), then timed in one; results in /tmp/macro-compile.jsonl (copied to
#          $OUT). `compile-resume`, on the same (warm) machine, times the cases that run did not reach.
# all:     tests, then table (default; under 10 minutes).
set -uo pipefail
what=${1:-all}
OUT=${OUT:-gpu-models-out}
mkdir -p "$OUT"
export AIMATRIX_CACHE_DIR=${AIMATRIX_CACHE_DIR:-/tmp/aimatrix-cache}
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-/tmp/aimatrix-inductor}
TABLE_BUDGET_S=${TABLE_BUDGET_S:-300}
cd "$(dirname "$0")/.."
python3 -P -c "import aimatrix, aimatrix._native as n, torch; print('aimatrix', aimatrix.__version__, 'torch', torch.__version__, 'cuda:', n.cuda_available(), n.cuda_unavailable_reason())" 2>&1

status=0
if [ "$what" = all ] || [ "$what" = tests ]; then
  start=$(date +%s)
  timeout 220 python3 -P -m pytest -m cuda -q -p no:cacheprovider --durations=25 \
    tests/test_models.py tests/test_layers.py tests/test_macro_backends.py 2>&1 | tee "$OUT/pytest-cuda.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  echo "pytest -m cuda: $(( $(date +%s) - start )) s" | tee -a "$OUT/pytest-cuda.log"
fi

if [ "$what" = all ] || [ "$what" = table ]; then
  timeout 370 python3 bench/macro_vs_raw.py --out "$OUT/macro.jsonl" --quick --max-time 1.0 \
    --backends torch,torch-graph,onnxruntime,torch-compile --precompile-jobs 6 --budget-s "$TABLE_BUDGET_S" \
    2> "$OUT/macro_vs_raw.stderr.log" | tee "$OUT/macro_vs_raw.md"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

if [ "$what" = compile ] || [ "$what" = compile-resume ]; then
  if [ "$what" = compile ]; then extra="--precompile-jobs 8"; rm -f /tmp/macro-compile.jsonl; else extra="--resume"; fi
  # shellcheck disable=SC2086
  timeout "${COMPILE_TIMEOUT_S:-540}" python3 bench/macro_vs_raw.py --out /tmp/macro-compile.jsonl --quick --max-time 1.0 \
    --skip-overhead --backends torch-compile $extra --budget-s "${COMPILE_BUDGET_S:-420}" --isolate none \
    2> "$OUT/macro_$what.stderr.log" | tee "$OUT/macro_$what.md"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  cp /tmp/macro-compile.jsonl "$OUT/"
fi
echo "gpu_models.sh $what: exit $status (logs in $OUT)"
exit $status
