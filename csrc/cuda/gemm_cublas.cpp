// Backend "cublas": cublasGemmEx, or cublasGemmStridedBatchedEx for batch > 1.
#include <memory>

#include "cuda/blas_check.hpp"
#include "cuda/gemm.hpp"
#include "cuda/gemm_types.hpp"

namespace am::cuda {

GemmPlan plan_cublas(Context& ctx, const GemmSpec& s, void* a, void* b, void* c) {
  if (s.dtype == DType::fp8)
    throw UnsupportedError("backend 'cublas' (cublasGemmEx) has no fp8 path: use backend='cublaslt'");
  if (s.dtype == DType::int8 && (s.k % 4 != 0 || (s.trans_b ? s.k : s.n) % 4 != 0 || (s.trans_a ? s.m : s.k) % 4 != 0))
    throw UnsupportedError("backend 'cublas' int8 needs k and the leading dimensions to be multiples of 4");
  const BlasTypes t = blas_types(s.dtype);
  const ColMajorGemm g = to_col_major(s);
  cublasHandle_t h = ctx.blas();
  auto sc = std::make_shared<Scalars>();
  const cublasOperation_t op1 = g.trans_first ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op2 = g.trans_second ? CUBLAS_OP_T : CUBLAS_OP_N;
  GemmPlan p;
  p.info["algo"] = "CUBLAS_GEMM_DEFAULT";
  p.info["api"] = s.batch > 1 ? "cublasGemmStridedBatchedEx" : "cublasGemmEx";
  p.launch = [=](cudaStream_t st) {
    AM_CUBLAS_CHECK(cublasSetStream(h, st));
    if (s.batch == 1) {
      AM_CUBLAS_CHECK(cublasGemmEx(h, op1, op2, int(g.m), int(g.n), int(g.k), sc->one(t.integer), b, t.a,
                                   int(g.ld_first), a, t.a, int(g.ld_second), sc->zero(t.integer), c, t.c, int(g.ldc),
                                   t.compute, CUBLAS_GEMM_DEFAULT));
    } else {
      AM_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, op1, op2, int(g.m), int(g.n), int(g.k), sc->one(t.integer), b, t.a,
                                                 int(g.ld_first), s.b_elems(), a, t.a, int(g.ld_second), s.a_elems(),
                                                 sc->zero(t.integer), c, t.c, int(g.ldc), s.c_elems(), int(s.batch),
                                                 t.compute, CUBLAS_GEMM_DEFAULT));
    }
  };
  if (g.m > INT32_MAX || g.n > INT32_MAX || g.k > INT32_MAX)
    throw UnsupportedError("backend 'cublas' takes dimensions below 2^31");
  return p;
}

}  // namespace am::cuda
