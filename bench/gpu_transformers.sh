#!/usr/bin/env bash
# GPU checks of the transformer layers, BERT, the Llama-style decoder and the LLM serving metrics (issue 21),
# for the lead on the GPU machine after `pip install .` of aimatrix. Two logs in "$OUT/transformers/".
#
#   bash bench/gpu_transformers.sh
#
# 1. pytest -m cuda tests/test_transformers.py: SDPA backends (flash/efficient/cudnn/math, head dim 64/128,
#    causal or not, GQA), flash refusing fp32, the decoder's phases under torch/torch-graph (1B) and
#    torch-compile (tiny), BERT under torch/torch-graph (about 2 minutes on an H100).
# 2. bench/transformers_vs_raw.py: BERT-base b256 s128 (within 1%), the 1B decoder's decode TPOT at batch 1
#    and 64 against a raw CUDA-graph replay (within 2%), flash SDPA (within 1%), each against
#    triton.testing.do_bench in the same process; then the serving table (about 2.5 minutes).
# Total under 6 minutes on an H100.
set -uo pipefail
OUT=${OUT:-gpu-transformers-out}
LOG="$OUT/transformers"
mkdir -p "$LOG"
export AIMATRIX_CACHE_DIR=${AIMATRIX_CACHE_DIR:-/tmp/aimatrix-cache}
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-/tmp/aimatrix-inductor}
cd "$(dirname "$0")/.."
status=0
start=$(date +%s)
timeout 200 python3 -P -m pytest -m cuda -q -p no:cacheprovider --durations=15 tests/test_transformers.py \
  > "$LOG/pytest-cuda.log" 2>&1 || status=1
echo "pytest -m cuda: $(( $(date +%s) - start )) s, exit ${status}" >> "$LOG/pytest-cuda.log"
tail -n 25 "$LOG/pytest-cuda.log"
start=$(date +%s)
timeout 240 python3 bench/transformers_vs_raw.py --out /tmp/transformers.jsonl > "$LOG/transformers_vs_raw.md" 2>&1 \
  || status=1
echo "transformers_vs_raw: $(( $(date +%s) - start )) s" >> "$LOG/transformers_vs_raw.md"
cat "$LOG/transformers_vs_raw.md"
echo "gpu_transformers.sh: exit $status (logs in $LOG)"
exit $status
