#!/usr/bin/env bash
# Issue 3 on the GPU machine (called by bench/gpu_check.sh micro after the build):
# the CUDA tests of the micro benchmarks, then bench/micro_vs_torch.py, its memory
# and launch sections and each dtype's convolutions in their own process (a crash
# costs only that part; faulthandler prints where it happened). Logs in $OUT.
#   MICRO_SKIP_TESTS=1, MICRO_TEST_TIMEOUT=S, MICRO_BENCH_TIMEOUT=S (per process), MICRO_ARGS="...",
#   MICRO_PARTS="--sections memory,launch;--sections conv --dtypes bf16" (the processes, ';'-separated)
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
if [ -z "${MICRO_SKIP_TESTS:-}" ]; then
  echo "== pytest -m cuda (conv, membw, launch, catalog) =="
  timeout ${MICRO_TEST_TIMEOUT:-0} python3 -P -m pytest -q -m cuda ${MICRO_TESTS:-tests/test_conv.py tests/test_membw.py tests/test_launch.py tests/test_catalog.py} \
    -p no:cacheprovider 2>&1 | tee "$OUT/pytest_micro.log" | tail -25
fi
echo "== micro_vs_torch =="
: > "$OUT/micro_vs_torch.md"
IFS=';' read -ra parts <<< "${MICRO_PARTS:---sections memory,launch;--sections conv --dtypes bf16;--sections conv --dtypes fp16;--sections conv --dtypes fp32}"
for part in "${parts[@]}"; do
  # shellcheck disable=SC2086
  timeout ${MICRO_BENCH_TIMEOUT:-0} python3 -X faulthandler bench/micro_vs_torch.py $part ${MICRO_ARGS:-} \
    --out "/tmp/micro_vs_torch_$(echo $part | tr -cd 'a-z0-9').jsonl" 2>"$OUT/stderr.tmp" | tee -a "$OUT/micro_vs_torch.md"
  rc=${PIPESTATUS[0]}
  cat "$OUT/stderr.tmp" >> "$OUT/micro_stderr.log"
  if [ "$rc" != 0 ]; then
    echo "(exit $rc)" | tee -a "$OUT/micro_vs_torch.md"; grep -v "^  \[" "$OUT/stderr.tmp" | grep -A12 "Current thread"; tail -3 "$OUT/stderr.tmp"
    case $part in *conv*)  # aimatrix alone, PyTorch never imported
      echo "== again without PyTorch: $part ==" | tee -a "$OUT/micro_vs_torch.md"
      # shellcheck disable=SC2086
      timeout ${MICRO_BENCH_TIMEOUT:-0} python3 -X faulthandler bench/micro_vs_torch.py $part --no-torch ${MICRO_ARGS:-} \
        --out "/tmp/micro_vs_torch_notorch_$(echo $part | tr -cd 'a-z0-9').jsonl" 2>>"$OUT/micro_stderr.log" | tee -a "$OUT/micro_vs_torch.md"
      ;;
    esac
  fi
done
rm -f "$OUT/stderr.tmp"
cat /tmp/micro_vs_torch_*.jsonl > "$OUT/micro_vs_torch.jsonl" 2>/dev/null
