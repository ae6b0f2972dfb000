#!/usr/bin/env bash
# On the GPU machine: build and install aimatrix for this GPU, run the CUDA
# tests and the side-by-side benchmarks. Logs go to $OUT (or ./gpu-out).
#   bash bench/gpu_check.sh [gemm] [models] [synth] ...   (default: gemm)
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
parts=${*:-gemm}

echo "== build ==" | tee "$OUT/build.log"
AIMATRIX_CUDA=ON AIMATRIX_CUDA_ARCHS=${AIMATRIX_CUDA_ARCHS:-90a-real} CMAKE_BUILD_PARALLEL_LEVEL=16 \
  python3 -m pip install --no-build-isolation --no-deps -v . >>"$OUT/build.log" 2>&1 \
  || { tail -50 "$OUT/build.log"; exit 1; }
grep -E "aimatrix:|warning|error" "$OUT/build.log" | grep -v "^  *$" | head -20
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv | tee "$OUT/gpu.txt"
cd /tmp  # import the installed package, not the source tree
python3 -m aimatrix.bench info | tee "$OUT/info.txt"
cd - >/dev/null

for part in $parts; do
  case $part in
    gemm)
      echo "== pytest -m cuda (gemm, timing) =="
      python3 -P -m pytest -q -m cuda tests/test_gemm.py tests/test_timing.py -p no:cacheprovider 2>&1 | tee "$OUT/pytest_gemm.log" | tail -15
      echo "== gemm_vs_torch =="
      timeout ${GEMM_TIMEOUT:-0} python3 bench/gemm_vs_torch.py ${GEMM_ARGS:---rounds 2} --out "$OUT/gemm_vs_torch.jsonl" 2>&1 | tee "$OUT/gemm_vs_torch.md"
      ;;
    stability)
      echo "== stability of the median vs warm-up / measuring time =="
      python3 bench/stability.py 2>&1 | tee "$OUT/stability.md"
      ;;
    models)
      OUT="$OUT" bash bench/gpu_models.sh
      ;;
    models-compile)  # the torch-compile rows of the model table alone (when the `models` budget ran out)
      OUT="$OUT" bash bench/gpu_models.sh compile
      ;;
    models-compile-resume)  # a second call on the same warm machine: the torch-compile rows not reached
      OUT="$OUT" bash bench/gpu_models.sh compile-resume
      ;;
    results)  # many small files: packed into one archive ($OUT brings back 8 files at most)
      OUT=/tmp/gpu-results bash bench/gpu_results.sh
      tar czf "$OUT/results.tgz" -C /tmp/gpu-results .
      ;;
    multi)
      OUT="$OUT" bash bench/gpu_multi.sh
      ;;
    wheel)
      bash bench/gpu_wheel.sh
      ;;
    cli)
      echo "== default suite (quick) =="
      (cd /tmp && python3 -m aimatrix.bench --quick --out "$OUT/suite.jsonl") 2>&1 | tee "$OUT/suite.log" | tail -40
      ;;
    *)
      if [ -f "bench/gpu_$part.sh" ]; then bash "bench/gpu_$part.sh"; else echo "unknown part $part"; fi
      ;;
  esac
done
