#!/usr/bin/env bash
# What limits each own kernel, next to the vendor's (issue 19): Nsight Compute's speed-of-light, memory and
# compute sections of one warm launch of each, through aimatrix as a user calls it.
#   bash bench/own_gemm/limits.sh [CASE ...] > limits.log     (package installed, on the GPU machine)
# A case is "gemm M N K DTYPE BACKEND" or "conv N C HW K STRIDE DTYPE BACKEND [DIRECTION]" (ResNet-50-style 3x3,
# NHWC, fwd unless DIRECTION says bwd_data or bwd_filter);
# default: the issue's shapes, own kernel then vendor. Hot mode: after the fills and the verification, the warm-up
# launches only the case's kernels, so ncu profiles the 3 launches after the first 40. LIMITS_STALLS=1: stall reasons.
set -uo pipefail
NCU=${NCU:-$(command -v ncu || echo /usr/local/cuda/bin/ncu)}
SECTIONS=(--section SpeedOfLight --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis
          --section LaunchStats --section Occupancy --section WarpStateStats)
# LIMITS_STALLS=1: also each stall reason's warps per issued instruction (what the WarpStateStats section charts
# and the command line does not print), to say why a kernel issues in fewer cycles than its peer
[[ -n ${LIMITS_STALLS:-} ]] &&
  SECTIONS+=(--metrics 'regex:^smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio$')
if [[ $# -eq 0 ]]; then
  set -- "gemm 1024 1024 1024 bf16 tensorcore" "gemm 1024 1024 1024 bf16 cublaslt" \
         "gemm 4096 4096 4096 bf16 tensorcore" "gemm 4096 4096 4096 bf16 cublaslt" \
         "gemm 4096 4096 4096 fp32 simt" "gemm 4096 4096 4096 fp32 cublas" \
         "conv 32 64 56 64 1 bf16 igemm" "conv 32 64 56 64 1 bf16 cudnn"
fi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader || true
for spec in "$@"; do
  read -r op a b c d e f g h <<<"$spec"
  case $op in
    gemm) call="am.gemm($a, $b, $c, dtype='$d', backend='$e', mode='hot', max_time=0.3)" ;;
    conv) call="am.conv($a, $b, $c, $c, k=$d, r=3, stride=$e, pad=1, dtype='$f', backend='$g', direction='${h:-fwd}', layout='nhwc', mode='hot', max_time=0.3)" ;;
    *) echo "unknown case: $spec"; continue ;;
  esac
  echo; echo "######## $spec"
  timeout 240 "$NCU" --clock-control none --launch-skip 40 --launch-count 3 \
    "${SECTIONS[@]}" \
    python3 -c "import aimatrix as am; r = $call; print(r.ran, r.metrics.get('tflops'))" 2>&1 |
    grep -v '^==PROF==' | grep -Ev '^\s*$' | grep -Ev '^\s+-{5,}' || echo "ncu failed: exit $?"
done
