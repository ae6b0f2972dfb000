#!/usr/bin/env bash
# Build and run the own-GEMM harness on a GPU machine. Run from the repository root:
#   bash bench/own_gemm/run.sh [harness args...] 2>&1 | tee $OUT/log
# Uses bench/own_gemm/build/harness if it exists and its libraries resolve
# (e.g. built on another x86-64 machine with the same CUDA major), else builds.
# Env: NVCC (default nvcc), ARCH (default: -gencode=arch=compute_90a,code=sm_90a),
#      CUBLAS_INC / CUBLAS_LIB for a cuBLAS outside the toolkit, FORCE_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=bench/own_gemm/build
BIN=$BUILD/harness
NVCC=${NVCC:-nvcc}
ARCH=${ARCH:--gencode=arch=compute_90a,code=sm_90a}
mkdir -p "$BUILD"

need_build=1
if [[ -z "${FORCE_BUILD:-}" && -x $BIN ]] && ! ldd "$BIN" | grep -q "not found"; then need_build=0; fi

if [[ $need_build == 1 ]]; then
  echo "== building harness with $($NVCC --version | tail -1)"
  INC=(-I csrc)
  [[ -n "${CUBLAS_INC:-}" ]] && INC+=(-isystem "$CUBLAS_INC")
  LIBS=(-lcublas)
  if [[ -z "${CUBLAS_LIB:-}" ]]; then
    tk=$(dirname "$(dirname "$(command -v $NVCC)")")
    if ! ls "$tk"/lib64/libcublas.so* "$tk"/targets/*/lib/libcublas.so* >/dev/null 2>&1; then
      # no cuBLAS in the toolkit: take the nvidia-cublas wheel of the python3 there
      CUBLAS_LIB=$(python3 -c "import nvidia, os, glob; print(next(d for r in nvidia.__path__ for d in glob.glob(os.path.join(r, '*', 'lib')) if glob.glob(os.path.join(d, 'libcublas.so*'))))" 2>/dev/null || true)
      [[ -n "$CUBLAS_LIB" && -z "${CUBLAS_INC:-}" && -f "$CUBLAS_LIB/../include/cublas_v2.h" ]] && INC+=(-isystem "$CUBLAS_LIB/../include")
      echo "== cuBLAS from $CUBLAS_LIB"
    fi
  fi
  [[ -n "${CUBLAS_LIB:-}" ]] && LIBS=(-L "$CUBLAS_LIB" -Xlinker -rpath -Xlinker "$CUBLAS_LIB" -l:libcublas.so.13 -l:libcublasLt.so.13)
  FLAGS=(-O3 -std=c++17 --expt-relaxed-constexpr -lineinfo $ARCH "${INC[@]}")
  srcs=(csrc/cuda/gemm_simt.cu csrc/cuda/gemm_tc.cu csrc/cuda/gemm_tc_*.cu csrc/cuda/check.cpp csrc/common/*.cpp
        bench/own_gemm/harness.cu)
  objs=()
  pids=()
  for s in "${srcs[@]}"; do
    o=$BUILD/$(echo "$s" | tr '/' '_').o
    objs+=("$o")
    case $s in
      *.cu)  $NVCC "${FLAGS[@]}" -Xptxas=-warn-spills -c "$s" -o "$o" & ;;
      *.cpp) $NVCC -x cu "${FLAGS[@]}" -c "$s" -o "$o" & ;;
    esac
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  $NVCC $ARCH -o "$BIN" "${objs[@]}" "${LIBS[@]}"
fi

echo "== nvidia-smi"; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv || true
# Sample SM clock, power and throttle reasons while the harness runs.
SMI_LOG=$BUILD/smi.csv
smi_pid=
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=clocks.sm,power.draw,clocks_event_reasons.active --format=csv,noheader,nounits -lms 200 \
    >"$SMI_LOG" 2>/dev/null &
  smi_pid=$!
fi
rc=0
timeout 270 "$BIN" "$@" || rc=$?
if [[ -n "$smi_pid" ]]; then
  kill "$smi_pid" 2>/dev/null || true
  wait "$smi_pid" 2>/dev/null || true
  awk -F', *' 'NF>=3 && $1+0>0 {n++; if(min==""||$1<min)min=$1; if($1>max)max=$1; if($2>pw)pw=$2; r[$3]++}
       END {printf "== during the run: %d samples, SM clock %s-%s MHz, max power %.0f W, throttle-reason masks:", n, min, max, pw;
            for (k in r) printf " %s(x%d)", k, r[k]; print ""}' "$SMI_LOG" || true
fi
exit $rc
