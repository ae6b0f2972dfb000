#!/usr/bin/env bash
# Build and run the STREAM kernel variant harness on a GPU machine. From the repository root:
#   bash bench/own_membw/run.sh [GiB per array] [launches] 2>&1 | tee $OUT/membw_variants.md
# Env: NVCC (default nvcc), ARCH (default: -gencode=arch=compute_90a,code=sm_90a).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=bench/own_membw/build
mkdir -p "$BUILD"
${NVCC:-nvcc} -O3 -std=c++17 ${ARCH:--gencode=arch=compute_90a,code=sm_90a} bench/own_membw/harness.cu -o $BUILD/harness
timeout ${HARNESS_TIMEOUT:-120} $BUILD/harness "$@"
