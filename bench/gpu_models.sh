#!/usr/bin/env bash
# GPU checks of the layer/macro benchmarks (issue 4), for the lead on the GPU machine after
# `pip install .` of aimatrix. Logs go to $OUT (default ./gpu-models-out). About 5 minutes on an H100:
# the pytest GPU tests (~2-3 min), then bench/macro_vs_raw.py with a 150 s table budget.
set -uo pipefail
OUT=${OUT:-gpu-models-out}
mkdir -p "$OUT"
export AIMATRIX_CACHE_DIR=${AIMATRIX_CACHE_DIR:-/tmp/aimatrix-cache}
cd "$(dirname "$0")/.."
python3 -P -c "import aimatrix, aimatrix._native as n; print('aimatrix', aimatrix.__version__, 'cuda:', n.cuda_available(), n.cuda_unavailable_reason())" \
  2>&1

status=0
timeout 240 python3 -P -m pytest -m cuda -q -p no:cacheprovider --durations=15 \
  tests/test_models.py tests/test_layers.py tests/test_macro_backends.py 2>&1 | tee "$OUT/pytest-cuda.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

timeout 420 python3 bench/macro_vs_raw.py --out "$OUT/macro.jsonl" --budget-s 150 --max-time 0.5 2>&1 \
  | tee "$OUT/macro_vs_raw.md"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "gpu_models.sh: exit $status (logs in $OUT)"
exit $status
