// aimatrix's own GEMM kernels (no vendor library). Layout and conventions as in
// common/gemm_spec.hpp (row-major, trans flags, `batch` problems back to back).
// Each function validates what it can run (UnsupportedError naming the reason),
// launches on `stream` and checks the launch (CudaError). fp32 accumulation.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <limits>
#include <string>

#include "common/errors.hpp"
#include "common/gemm_spec.hpp"

namespace am::cuda {

// Tiled SIMT kernel (CUDA cores): dtype fp32, any shape, any transposes.
void simt_sgemm(const GemmSpec& s, const float* a, const float* b, float* c, cudaStream_t stream);

// Tensor-core kernel: dtype fp16 or bf16 (inputs and output of that type), or
// fp8 (e4m3 inputs, bf16 output, trans_a=False and trans_b=True, sm_90), fp32 accumulation. `cc_major`/`cc_minor`
// select the code path (e.g. Hopper wgmma on 9.0, mma.sync elsewhere).
void tc_gemm(const GemmSpec& s, const void* a, const void* b, void* c, int cc_major, int cc_minor, cudaStream_t stream);

// Name of the kernel variant tc_gemm / simt_sgemm would launch (recorded in Results).
std::string tc_gemm_kernel_name(const GemmSpec& s, int cc_major, int cc_minor);
std::string simt_sgemm_kernel_name(const GemmSpec& s);

// Checks the kernels' host code shares.
namespace own {

// The kernels index in 32-bit ints: UnsupportedError "<who>: m, n, k and batch must each be below 2^31".
inline void check_int32_dims(const GemmSpec& s, const std::string& who) {
  constexpr int64_t imax = std::numeric_limits<int32_t>::max();
  if (s.m > imax || s.n > imax || s.k > imax || s.batch > imax)
    throw UnsupportedError(who + ": m, n, k and batch must each be below 2^31");
}

// Whether A and B start 16-byte aligned and their contiguous extents are multiples of `elems` (vector loads).
inline bool operands_aligned(const GemmSpec& s, const void* a, const void* b, int elems) {
  const int64_t a_contig = s.trans_a ? s.m : s.k;
  const int64_t b_contig = s.trans_b ? s.k : s.n;
  const bool ptrs = (reinterpret_cast<uintptr_t>(a) % 16 == 0) && (reinterpret_cast<uintptr_t>(b) % 16 == 0);
  return ptrs && a_contig % elems == 0 && b_contig % elems == 0;
}

}  // namespace own

}  // namespace am::cuda
