// Backends "simt" and "tensorcore": aimatrix's own kernels (cuda/own_gemm.hpp).
#include "cuda/gemm.hpp"
#include "cuda/own_gemm.hpp"

namespace am::cuda {

GemmPlan plan_own(Context& ctx, const std::string& backend, const GemmSpec& s, void* a, void* b, void* c) {
  GemmPlan p;
  if (backend == "simt") {
    if (s.dtype != DType::f32)
      throw UnsupportedError(std::string("backend 'simt' runs dtype fp32 only, not ") + dtype_name(s.dtype) +
                             " (use backend='tensorcore' for fp16/bf16)");
    p.info["kernel"] = simt_sgemm_kernel_name(s);
    p.launch = [=](cudaStream_t st) {
      simt_sgemm(s, static_cast<const float*>(a), static_cast<const float*>(b), static_cast<float*>(c), st);
    };
    return p;
  }
  const int maj = ctx.facts().cc_major, min = ctx.facts().cc_minor;
  if (s.dtype != DType::f16 && s.dtype != DType::bf16 && s.dtype != DType::fp8)
    throw UnsupportedError(std::string("backend 'tensorcore' runs dtype fp16, bf16 or fp8, not ") +
                           dtype_name(s.dtype));
  p.info["kernel"] = tc_gemm_kernel_name(s, maj, min);
  p.launch = [=](cudaStream_t st) { tc_gemm(s, a, b, c, maj, min, st); };
  return p;
}

}  // namespace am::cuda
