#!/usr/bin/env bash
# One device call of checks for the work in progress, in priority order, each with its own time limit
# (the call has 600 s): STEPS="build harness micro conv-tests membw-tests models-tests detection-table
# probe alexnet" (default: the first six).
# MICRO_PARTS as bench/gpu_micro.sh's. Logs in $OUT.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export AIMATRIX_CACHE_DIR=${AIMATRIX_CACHE_DIR:-/tmp/amc}
steps=${STEPS:-build harness micro conv-tests membw-tests models-tests}
t0=$(date +%s)
for step in $steps; do
  echo "== $step ($(( $(date +%s) - t0 )) s) ==" | tee -a "$OUT/steps.log"
  case $step in
    build) OUT=/tmp/build-logs bash bench/gpu_check.sh none > "$OUT/build.txt" 2>&1 || { tail -30 "$OUT/build.txt"; exit 1; } ;;
    harness) bash bench/own_membw/run.sh 1 30 > "$OUT/membw_variants.md" 2>&1 ;;
    micro) MICRO_SKIP_TESTS=1 MICRO_BENCH_TIMEOUT=${MICRO_BENCH_TIMEOUT:-200} OUT="$OUT" bash bench/gpu_micro.sh > /dev/null 2>&1 ;;
    conv-tests) timeout ${CONV_TESTS_S:-90} python3 -P -m pytest -q -m cuda tests/test_conv.py -p no:cacheprovider \
                  -k "${CONV_TESTS_K:-exact or knob or engine or unknown_algo or cold}" 2>&1 | tail -8 >> "$OUT/pytest.log" ;;
    membw-tests) timeout ${MEMBW_TESTS_S:-240} python3 -P -m pytest -q -m cuda tests/test_membw.py -p no:cacheprovider \
                  2>&1 | tail -8 >> "$OUT/pytest.log" ;;
    models-tests) timeout ${MODELS_TESTS_S:-90} python3 -P -m pytest -q -m cuda tests/test_models.py -p no:cacheprovider \
                  -k "${MODELS_TESTS_K:-every_model and (maskrcnn or ssd)}" 2>&1 | tail -8 >> "$OUT/pytest.log" ;;
    detection-table) timeout 150 python3 bench/macro_vs_raw.py --out "$OUT/macro-detection.jsonl" --skip-overhead \
                  --quick --max-time 0.5 ${DETECTION_ARGS:---backends torch-graph --models maskrcnn,ssd} \
                  > "$OUT/macro-detection.md" 2>&1 ;;
    probe) timeout ${PROBE_S:-150} python3 bench/kernel_time_probe.py --out /tmp/probe.jsonl ${PROBE_ARGS:-} \
                  > "$OUT/kernel_time_probe.md" 2>&1 ;;
    alexnet) { export TORCHINDUCTOR_CACHE_DIR=/tmp/ind
               for i in 1 2; do echo "== try $i (CUDA_LAUNCH_BLOCKING=1)"; rm -rf /tmp/ind
                 CUDA_LAUNCH_BLOCKING=1 timeout 90 python3 bench/alexnet_compile_probe.py 30; done
               for i in 3; do echo "== try $i"; rm -rf /tmp/ind; timeout 90 python3 bench/alexnet_compile_probe.py 30; done
               timeout 200 python3 bench/macro_vs_raw.py --out "$OUT/macro-alexnet.jsonl" --skip-overhead --quick \
                 --max-time 0.5 --backends torch,torch-graph,torch-compile --models alexnet; } > "$OUT/alexnet.md" 2>&1 ;;
    *) echo "unknown step $step" ;;
  esac
done
echo "== done ($(( $(date +%s) - t0 )) s) ==" | tee -a "$OUT/steps.log"
