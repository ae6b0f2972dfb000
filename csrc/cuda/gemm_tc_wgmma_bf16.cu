// Tensor-core GEMM, Hopper TMA + wgmma path: the bf16 instantiations.
#define AM_TC_WG_TYPE Bf16
#include "cuda/gemm_tc_wgmma_impl.cuh"

#include <map>

namespace am::cuda::tc {

int g_wgmma_pipe = 1;

// The sm_90a kernel body exists only in an sm_90a binary; elsewhere (an sm_90
// build, PTX JIT) the kernel compiles to an empty stub using a few registers.
// Reading its register count needs no launch and no synchronisation (safe
// inside graph capture).
bool wgmma_compiled_for_current_device() {
  static std::mutex mu;
  static std::map<int, bool> known;
  int dev = 0;
  AM_CUDA_CHECK(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(mu);
  auto it = known.find(dev);
  if (it != known.end()) return it->second;
  cudaFuncAttributes attr{};
  AM_CUDA_CHECK(cudaFuncGetAttributes(&attr, wg::wg_gemm_kernel<Bf16, false, false, 1>));
  const bool real = attr.numRegs >= 64;
  known[dev] = real;
  return real;
}

}  // namespace am::cuda::tc
