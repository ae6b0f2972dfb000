#!/usr/bin/env bash
# Build and run the implicit-GEMM conv harness on a GPU machine. From the repository root:
#   bash bench/own_conv/run.sh [harness args...] 2>&1 | tee $OUT/log
# Env: NVCC (default nvcc), ARCH (default: -gencode=arch=compute_90a,code=sm_90a).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=bench/own_conv/build
NVCC=${NVCC:-nvcc}
ARCH=${ARCH:--gencode=arch=compute_90a,code=sm_90a}
mkdir -p "$BUILD"
echo "== building harness with $($NVCC --version | tail -1)"
$NVCC -O3 -std=c++17 --expt-relaxed-constexpr -lineinfo $ARCH -I csrc -Xptxas=-warn-spills \
  bench/own_conv/harness.cu csrc/cuda/check.cpp -o $BUILD/harness
echo "== nvidia-smi"; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv || true
timeout ${HARNESS_TIMEOUT:-150} $BUILD/harness "$@"
