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
echo "== pytest -m cuda: p2p by copy engine and SM kernel, one way and both, 4 KB and 1 GiB =="
timeout 120 python3 -P -m pytest -q -m cuda tests/test_membw.py -k p2p -p no:cacheprovider 2>&1 | tail -5
echo "== fleet: the quick GEMM suite on every GPU at once, slow ones flagged =="
(cd /tmp && timeout 240 python3 -m aimatrix.bench --devices all --quick --out "$OUT/fleet.jsonl") 2>&1 | tee "$OUT/fleet.log" | tail -25
