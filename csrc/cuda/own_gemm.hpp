// aimatrix's own GEMM kernels (no vendor library). Layout and conventions as in
// common/gemm_spec.hpp (row-major, trans flags, `batch` problems back to back).
// Each function validates what it can run (UnsupportedError naming the reason),
// launches on `stream` and checks the launch (CudaError). fp32 accumulation.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "common/gemm_spec.hpp"

namespace am::cuda {

// Tiled SIMT kernel (CUDA cores): dtype fp32, any shape, any transposes.
void simt_sgemm(const GemmSpec& s, const float* a, const float* b, float* c, cudaStream_t stream);

// Tensor-core kernel: dtype fp16 or bf16 (inputs and output of that type),
// fp32 accumulation. `cc_major`/`cc_minor` select the code path (e.g. Hopper wgmma
// on 9.0, mma.sync elsewhere).
void tc_gemm(const GemmSpec& s, const void* a, const void* b, void* c, int cc_major, int cc_minor, cudaStream_t stream);

// Name of the kernel variant tc_gemm / simt_sgemm would launch (recorded in Results).
std::string tc_gemm_kernel_name(const GemmSpec& s, int cc_major, int cc_minor);
std::string simt_sgemm_kernel_name(const GemmSpec& s);

}  // namespace am::cuda
