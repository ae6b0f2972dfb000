// CUDA GEMM: one runner (allocate, fill, verify, time) over several backends,
// each of which turns a spec and device buffers into a capturable launch.
#pragma once
#include <functional>
#include <map>
#include <string>

#include "common/gemm_spec.hpp"
#include "common/run_result.hpp"
#include "cuda/context.hpp"

namespace am::cuda {

struct GemmPlan {
  std::function<void(cudaStream_t)> launch;  // enqueues one GEMM, no host sync
  std::map<std::string, std::string> info;   // what ran: algorithm, kernel, workspace
};

// Backends: "cublas", "cublaslt", "simt", "tensorcore". Each throws
// UnsupportedError for specs it cannot run.
GemmPlan plan_cublas(Context& ctx, const GemmSpec& s, void* a, void* b, void* c);
GemmPlan plan_cublaslt(Context& ctx, const GemmSpec& s, void* a, void* b, void* c);
GemmPlan plan_own(Context& ctx, const std::string& backend, const GemmSpec& s, void* a, void* b, void* c);

RunResult run_gemm(int device, const std::string& backend, const GemmSpec& s, const StopRule& rule, bool cold);

// cuBLAS sees our row-major C = op(A) op(B) as column-major C^T = op(B)^T op(A)^T:
// the first operand is B. These give its transposes and leading dimensions.
struct ColMajorGemm {
  bool trans_first, trans_second;  // for B (first) and A (second)
  int64_t m, n, k, ld_first, ld_second, ldc;
};
ColMajorGemm to_col_major(const GemmSpec& s);

}  // namespace am::cuda
