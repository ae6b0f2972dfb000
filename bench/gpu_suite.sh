#!/usr/bin/env bash
# The whole suite on the GPU machine, for the "one command" issue: STEPS="build ref full quick tests"
#   build  install aimatrix (sm_90a) and print `info`
#   ref    python -m aimatrix.bench (full) with no reference: the run that ships as the reference
#   full   python -m aimatrix.bench (full), scored against the shipped reference
#   quick  python -m aimatrix.bench --quick, scored against the shipped reference
#   quick-vs-ref  the same, scored against this call's ref step instead
#   tests  pytest -m cuda on $CUDA_TESTS
# Each step is timed and cut at DEADLINE seconds after the start (the device call's limit), keeping what it
# wrote; logs and result files go to $OUT.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 AIMATRIX_CACHE_DIR=${AIMATRIX_CACHE_DIR:-/tmp/amc}
# The device copy's .git is not the caller's HEAD: the caller passes the revision (git rev-parse --short=12 HEAD).
export AIMATRIX_GIT_REVISION=${AIMATRIX_GIT_REVISION:-unknown}
root=$(pwd)
t0=$(date +%s)
stamp() { echo "== $1 ($(( $(date +%s) - t0 )) s) ==" | tee -a "$OUT/steps.log"; }
suite() {  # name, extra args...
  local name=$1; shift
  local s=$(date +%s) left=$(( ${DEADLINE:-585} - $(date +%s) + t0 ))
  local limit=$(( left < ${SUITE_TIMEOUT:-590} ? left : ${SUITE_TIMEOUT:-590} ))
  (cd /tmp && rm -f "/tmp/$name.jsonl" "/tmp/$name.html" && timeout $limit \
     python3 -m aimatrix.bench --out "/tmp/$name.jsonl" "$@") > "$OUT/$name.log" 2>&1
  echo "$name: exit $? in $(( $(date +%s) - s )) s" | tee -a "$OUT/steps.log"
  cp "/tmp/$name.jsonl" "$OUT/" 2>/dev/null; cp "/tmp/$name.html" "$OUT/" 2>/dev/null
  grep -A12 "^Score against" "$OUT/$name.log" | tee -a "$OUT/steps.log"
}
for step in ${STEPS:-build ref}; do
  stamp "$step"
  case $step in
    build)
      AIMATRIX_CUDA=ON AIMATRIX_CUDA_ARCHS=${AIMATRIX_CUDA_ARCHS:-90a-real} CMAKE_BUILD_PARALLEL_LEVEL=16 \
        python3 -m pip install --no-build-isolation --no-deps . > /tmp/build.log 2>&1 \
        || { tail -40 /tmp/build.log | tee -a "$OUT/steps.log"; exit 1; }
      (cd /tmp && python3 -m aimatrix.bench info) > "$OUT/info.txt" 2>&1 ;;
    ref) suite suite-ref --reference none ;;
    full) suite suite-full ;;
    quick) suite suite-quick --quick ;;
    quick-vs-ref) suite suite-quick --quick --reference /tmp/suite-ref.jsonl ;;
    tests)
      timeout ${TESTS_TIMEOUT:-300} python3 -P -m pytest -q -m cuda -p no:cacheprovider ${CUDA_TESTS:-tests/test_readme.py} \
        > "$OUT/pytest.log" 2>&1
      tail -15 "$OUT/pytest.log" | tee -a "$OUT/steps.log" ;;
    *) echo "unknown step $step" | tee -a "$OUT/steps.log" ;;
  esac
done
stamp done
