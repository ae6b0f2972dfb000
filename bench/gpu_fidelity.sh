#!/usr/bin/env bash
# Issue 16 on the GPU machine (run from the repo root after `pip install --no-build-isolation --no-deps .`):
# pytest -m cuda on the fidelity tests, bench/timer_vs_ncu.py's table (ncu must be installed), and
# ResNet-50 single_stream under MLPerf's rule (1024 queries and 60 s) through LoadGen. About 5 minutes
# on an H100. LoadGen: the machine has no network, so carry its wheel in wheelhouse/
# (pip download --no-deps --only-binary=:all: --python-version 3.12 mlcommons-loadgen -d wheelhouse).
# Logs: $OUT/fidelity/fidelity.md and timer_vs_ncu.json.
set -uo pipefail
OUT=${OUT:-gpu-out}
LOG="$OUT/fidelity"
mkdir -p "$LOG"
MD="$LOG/fidelity.md"
export PYTHONUNBUFFERED=1 AIMATRIX_CACHE_DIR=${AIMATRIX_CACHE_DIR:-/tmp/amc}
t0=$(date +%s)
step() { echo -e "\n## $1 ($(( $(date +%s) - t0 )) s)\n" >> "$MD"; }

echo "# Measurement fidelity (issue 16) on $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)" > "$MD"
step "LoadGen"
if ! python3 -c "import mlperf_loadgen" 2>/dev/null; then
  whl=$(ls wheelhouse/mlcommons_loadgen-*cp312*.whl 2>/dev/null | head -1)
  if [ -n "$whl" ]; then python3 -m pip install -q --no-deps --no-index "$whl" >> "$MD" 2>&1; fi
fi
python3 -c "import mlperf_loadgen; print('mlperf_loadgen installed')" >> "$MD" 2>&1 || echo "LoadGen not installed" >> "$MD"

step "pytest -m cuda (timer, scenarios, flops)"
echo '```' >> "$MD"
timeout ${FIDELITY_PYTEST_S:-120} python3 -P -m pytest -q -m cuda -p no:cacheprovider \
  tests/test_timer.py tests/test_scenarios.py tests/test_flops.py 2>&1 | tail -25 >> "$MD"
echo '```' >> "$MD"

step "timer_vs_ncu"
timeout ${FIDELITY_NCU_S:-200} python3 bench/timer_vs_ncu.py --out "$LOG/timer_vs_ncu.json" >> "$MD" 2>&1 \
  || echo "(timer_vs_ncu exit $?)" >> "$MD"

step "ResNet-50 single_stream, MLPerf rule, LoadGen"
rm -rf /tmp/lg-resnet50
timeout ${FIDELITY_SS_S:-150} python3 - >> "$MD" 2>&1 <<'PY'
import json
from aimatrix.macro import model
r = model("resnet50", scenario="single_stream", device="cuda", backend="torch-graph", dtype="fp16",
          log_dir="/tmp/lg-resnet50", keep_samples=False)
print("```")
print(repr(r))
print(json.dumps({k: v for k, v in r.metrics.items() if "latency" in k or "loadgen" in k or "mlperf" in k
                  or k in ("queries", "scenario_source", "items_per_s")}, indent=1))
print(json.dumps({k: r.stats[k] for k in ("n", "median_ms", "p90_ms", "wall_s", "timer")}, indent=1))
print("```")
PY
for f in mlperf_log_summary.txt mlperf_log_detail.txt; do
  if [ -f "/tmp/lg-resnet50/$f" ]; then
    echo -e "\n### $f\n\n\`\`\`" >> "$MD"; head -c 12000 "/tmp/lg-resnet50/$f" >> "$MD"; echo '```' >> "$MD"
  fi
done
step "done"
