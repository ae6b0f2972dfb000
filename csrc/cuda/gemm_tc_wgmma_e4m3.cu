// Tensor-core GEMM, Hopper TMA + wgmma path: the fp8 (e4m3 in, bf16 out) instantiation. fp8 wgmma takes
// K-major operands only: the TN layout (trans_a=False, trans_b=True), as cuBLASLt's fp8 GEMM.
#include "cuda/gemm_tc_wgmma_impl.cuh"

namespace am::cuda::tc {
template void launch_wgmma<E4M3, false, true>(const GemmSpec&, const void*, const void*, void*, cudaStream_t);
}  // namespace am::cuda::tc
