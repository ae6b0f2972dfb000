// Tensor-core GEMM, mma.sync path (sm_80 and newer): the launcher. Included by
// gemm_tc_mma_{bf16,f16}.cu, each defining AM_TC_MMA_TYPE (split so builds parallelise).
#pragma once
#include <algorithm>
#include <mutex>
#include <set>
#include <utility>

#include "cuda/check.hpp"
#include "cuda/gemm_tc_kernels.cuh"
#include "cuda/launch_util.cuh"

namespace am::cuda::tc {

template <typename T, bool TA, bool TB, bool AL>
void launch_mma(const GemmSpec& s, const void* a, const void* b, void* c, cudaStream_t stream) {
  using L = mma::Smem<TA, TB>;
  auto kernel = mma::mma_gemm_kernel<T, TA, TB, AL>;
  raise_smem_limit(kernel, L::BYTES);
  const int M = int(s.m), N = int(s.n), K = int(s.k);
  const int tiles_m = (M + mma::BM - 1) / mma::BM, tiles_n = (N + mma::BN - 1) / mma::BN;
  for (int64_t b0 = 0; b0 < s.batch; b0 += kMaxGridZ) {
    const unsigned nz = unsigned(std::min<int64_t>(kMaxGridZ, s.batch - b0));
    dim3 grid(unsigned(tiles_m) * unsigned(tiles_n), 1, nz);
    kernel<<<grid, mma::THREADS, L::BYTES, stream>>>(static_cast<const uint16_t*>(a), static_cast<const uint16_t*>(b),
                                                     static_cast<uint16_t*>(c), M, N, K, tiles_m, tiles_n, b0);
    AM_CUDA_CHECK_LAUNCH();
  }
}

#define AM_TC_MMA_INST(T)                                                                                           \
  template void launch_mma<T, false, false, true>(const GemmSpec&, const void*, const void*, void*, cudaStream_t);  \
  template void launch_mma<T, false, true, true>(const GemmSpec&, const void*, const void*, void*, cudaStream_t);   \
  template void launch_mma<T, true, false, true>(const GemmSpec&, const void*, const void*, void*, cudaStream_t);   \
  template void launch_mma<T, true, true, true>(const GemmSpec&, const void*, const void*, void*, cudaStream_t);    \
  template void launch_mma<T, false, false, false>(const GemmSpec&, const void*, const void*, void*, cudaStream_t); \
  template void launch_mma<T, false, true, false>(const GemmSpec&, const void*, const void*, void*, cudaStream_t);  \
  template void launch_mma<T, true, false, false>(const GemmSpec&, const void*, const void*, void*, cudaStream_t);  \
  template void launch_mma<T, true, true, false>(const GemmSpec&, const void*, const void*, void*, cudaStream_t);

#if defined(AM_TC_MMA_TYPE)
AM_TC_MMA_INST(AM_TC_MMA_TYPE)
#endif

}  // namespace am::cuda::tc
