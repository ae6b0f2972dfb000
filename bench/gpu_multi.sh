#!/usr/bin/env bash
# On a machine with several GPUs (package installed by bench/gpu_check.sh): collectives
# and the P2P matrix. NVLink multicast stays off (NCCL_NVLS_ENABLE=0).
set -uo pipefail
OUT=${OUT:-gpu-out}
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONSAFEPATH=1
n=$(nvidia-smi -L | wc -l)
nvidia-smi topo -m 2>&1 | head -8
timeout 420 python3 -m torch.distributed.run --nproc-per-node "$n" bench/collectives_vs_torch.py \
  --out "$OUT/collectives.jsonl" 2>&1 | tee "$OUT/collectives.md"
