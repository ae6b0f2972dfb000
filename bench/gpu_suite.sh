#!/usr/bin/env bash
# The whole suite on the GPU machine, for the "one command" issue, and the other issues' GPU checks:
# STEPS="build ref full quick tests"
#   build  install aimatrix (sm_90a) and print `info`
#   wheel  install instead the wheels carried in wheelhouse/ (tools/build_wheel.py cpu and cu13, built on
#          the CPU machine with a Python >= 3.12: seconds here instead of minutes of compiling)
#   ref    python -m aimatrix.bench (full) with no reference: the run that ships as the reference
#   full   python -m aimatrix.bench (full), scored against the shipped reference
#   quick  python -m aimatrix.bench --quick, scored against the shipped reference
#   quick-vs-ref  the same, scored against this call's ref step instead
#   tests  pytest -m cuda on $CUDA_TESTS (cut at TESTS_TIMEOUT; the log lists each file's progress)
#   transformers    bench/transformers_vs_raw.py (issue 21)
#   synth-fidelity  bench/gpu_synth_fidelity.sh (issue 17)
#   fidelity        bench/gpu_fidelity.sh (issue 16)
#   timer-ncu       bench/timer_vs_ncu.py alone (issue 16)
#   probe           bench/kernel_time_probe.py with PROBE_ARGS (issue 3's harness check; --timer cupti: issue 16)
#   own-gemm        bench/own_gemm/run.sh with OWN_GEMM_ARGS (issue 19: own GEMM kernels checked, timed with cuBLAS)
#   own-conv        bench/own_conv/am_layers.py $OWN_CONV_DTYPES $OWN_CONV_BATCHES $OWN_CONV_DIRECTION (issue 19: igemm vs
#                   cuDNN, ResNet-50 3x3; directions comma-separated, fwd,bwd_data,bwd_filter)
#   conv-splits     bench/own_conv/splits.py $CONV_SPLITS_ARGS (issue 19: the igemm split count swept against the
#                   runner's choice and cuDNN; default "bf16 32,256 bwd_filter")
#   own-vs-lt       bench/gemm_vs_torch.py --sections own (issue 19: own kernels, fp8 too, against cuBLASLt)
#   limits          bench/own_gemm/limits.sh with LIMITS_CASES (';'-separated; issue 19: ncu, own vs vendor)
# Each step is timed and cut at DEADLINE seconds after the start (the device call's limit), keeping what it
# wrote; logs and result files go to $OUT.
# ONLY_ON=<text>: run nothing unless the GPU's name holds it (ONLY_ON=H200 for a figure that needs the H200 where a
# call may get either card), exiting 3.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
if [[ -n ${ONLY_ON:-} && $gpu != *"$ONLY_ON"* ]]; then
  echo "ONLY_ON=$ONLY_ON: this GPU is '$gpu'; nothing run" | tee -a "$OUT/steps.log"
  exit 3
fi
export PYTHONUNBUFFERED=1 AIMATRIX_CACHE_DIR=${AIMATRIX_CACHE_DIR:-/tmp/amc}
# The device copy's .git is not the caller's HEAD: the caller passes the revision (git rev-parse --short=12 HEAD).
export AIMATRIX_GIT_REVISION=${AIMATRIX_GIT_REVISION:-unknown}
root=$(pwd)
t0=$(date +%s)
stamp() { echo "== $1 ($(( $(date +%s) - t0 )) s) ==" | tee -a "$OUT/steps.log"; }
within() {  # the smaller of $1 seconds and what is left before DEADLINE
  local left=$(( ${DEADLINE:-585} - $(date +%s) + t0 ))
  echo $(( left < $1 ? left : $1 ))
}
suite() {  # name, extra args...
  local name=$1; shift
  local s=$(date +%s) limit=$(within ${SUITE_TIMEOUT:-590})
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
    wheel)
      python3 -m pip uninstall -q -y aimatrix aimatrix-cu13 > /tmp/wheel.log 2>&1
      python3 -m pip install -q --no-deps wheelhouse/aimatrix-*.whl wheelhouse/aimatrix_cu13-*.whl >> /tmp/wheel.log 2>&1 \
        || { tail -20 /tmp/wheel.log | tee -a "$OUT/steps.log"; exit 1; }
      (cd /tmp && python3 -m aimatrix.bench info) > "$OUT/info.txt" 2>&1 ;;
    ref) suite suite-ref --reference none ;;
    full) suite suite-full ;;
    quick) suite suite-quick --quick ;;
    quick-vs-ref) suite suite-quick --quick --reference /tmp/suite-ref.jsonl ;;
    tests)  # CUDA_TESTS: groups of pytest arguments separated by ';', each cut at TESTS_TIMEOUT
      IFS=';' read -ra groups <<< "${CUDA_TESTS:-tests/test_readme.py}"
      for g in "${groups[@]}"; do
        echo "== pytest -m cuda $g" >> "$OUT/pytest.log"
        eval "timeout $(within ${TESTS_TIMEOUT:-300}) python3 -P -m pytest -m cuda -p no:cacheprovider -rfE \
          --durations=10 $g" >> "$OUT/pytest.log" 2>&1
        echo "pytest $g: exit $?" | tee -a "$OUT/steps.log"
        tail -3 "$OUT/pytest.log" | tee -a "$OUT/steps.log"
      done ;;
    transformers)
      timeout $(within ${TRANSFORMERS_TIMEOUT:-200}) python3 bench/transformers_vs_raw.py --out /tmp/transformers.jsonl ${TRANSFORMERS_ARGS:-} \
        > "$OUT/transformers_vs_raw.md" 2>&1
      echo "transformers_vs_raw: exit $?" | tee -a "$OUT/steps.log"; head -12 "$OUT/transformers_vs_raw.md" ;;
    synth-fidelity) bash bench/gpu_synth_fidelity.sh > /dev/null 2>&1; tail -30 "$OUT/synth/synth_fidelity.md" ;;
    fidelity) bash bench/gpu_fidelity.sh > /dev/null 2>&1; tail -40 "$OUT/fidelity/fidelity.md" ;;
    timer-ncu)
      timeout $(within 200) python3 bench/timer_vs_ncu.py --out "$OUT/timer_vs_ncu.json" > "$OUT/timer_vs_ncu.md" 2>&1
      echo "timer_vs_ncu: exit $?" | tee -a "$OUT/steps.log"; tail -16 "$OUT/timer_vs_ncu.md" ;;
    probe)
      (cd /tmp && timeout $(within 150) python3 "$root/bench/kernel_time_probe.py" --out /tmp/probe.jsonl \
        ${PROBE_ARGS:-}) > "$OUT/kernel_time_probe.md" 2>&1
      echo "kernel_time_probe: exit $?" | tee -a "$OUT/steps.log"; tail -8 "$OUT/kernel_time_probe.md" ;;
    own-gemm)
      FORCE_BUILD=1 timeout $(within 400) bash bench/own_gemm/run.sh ${OWN_GEMM_ARGS:-} > "$OUT/own_gemm.log" 2>&1
      echo "own_gemm: exit $?" | tee -a "$OUT/steps.log"; grep -A40 "==== summary" "$OUT/own_gemm.log" | tee -a "$OUT/steps.log" ;;
    own-conv)
      (cd /tmp && timeout $(within 400) python3 "$root/bench/own_conv/am_layers.py" ${OWN_CONV_DTYPES:-bf16,fp16} ${OWN_CONV_BATCHES:-32} ${OWN_CONV_DIRECTION:-fwd}) \
        > "$OUT/own_conv.md" 2>&1
      echo "own_conv: exit $?" | tee -a "$OUT/steps.log"; tail -40 "$OUT/own_conv.md" | tee -a "$OUT/steps.log" ;;
    conv-splits)
      (cd /tmp && timeout $(within 400) python3 "$root/bench/own_conv/splits.py" ${CONV_SPLITS_ARGS:-bf16 32,256 bwd_filter}) \
        > "$OUT/conv_splits.md" 2>&1
      echo "conv_splits: exit $?" | tee -a "$OUT/steps.log"; tail -20 "$OUT/conv_splits.md" | tee -a "$OUT/steps.log" ;;
    own-vs-lt)
      (cd /tmp && timeout $(within 200) python3 "$root/bench/gemm_vs_torch.py" --sections own --warmup 1 --min-time 1 \
        --out /tmp/own_vs_lt.jsonl) > "$OUT/own_vs_lt.md" 2>&1
      echo "own_vs_lt: exit $?" | tee -a "$OUT/steps.log"; tail -16 "$OUT/own_vs_lt.md" | tee -a "$OUT/steps.log" ;;
    limits)
      IFS=';' read -ra cases <<<"${LIMITS_CASES:-}"
      timeout $(within 300) bash bench/own_gemm/limits.sh "${cases[@]}" > "$OUT/limits.log" 2>&1
      echo "limits: exit $?" | tee -a "$OUT/steps.log"; grep -E "^########|Duration|Throughput" "$OUT/limits.log" | head -60 ;;
    *) echo "unknown step $step" | tee -a "$OUT/steps.log" ;;
  esac
done
stamp done
