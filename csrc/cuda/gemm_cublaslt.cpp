// Backend "cublaslt": cublasLtMatmul with the heuristic's first algorithm and a
// preallocated workspace; the fp8 (e4m3) path lives here.
#include <memory>
#include <string>

#include "cuda/blas_check.hpp"
#include "cuda/gemm.hpp"
#include "cuda/gemm_types.hpp"

namespace am::cuda {
namespace {

// Owns the descriptors for the lifetime of the plan.
struct LtDescs {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  cublasLtMatmulAlgo_t algo{};
  Scalars scalars;
  ~LtDescs() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

void make_layout(cublasLtMatrixLayout_t* l, cudaDataType_t t, int64_t rows, int64_t cols, int64_t ld, int64_t batch,
                 int64_t stride) {
  AM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(l, t, uint64_t(rows), uint64_t(cols), ld));
  if (batch > 1) {
    const int32_t bc = int32_t(batch);
    AM_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc));
    AM_CUBLAS_CHECK(
        cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
  }
}

template <class T>
T algo_attr(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoConfigAttributes_t attr) {
  T v{};
  size_t written = 0;
  cublasLtMatmulAlgoConfigGetAttribute(&algo, attr, &v, sizeof v, &written);
  return v;
}

}  // namespace

GemmPlan plan_cublaslt(Context& ctx, const GemmSpec& s, void* a, void* b, void* c) {
  const DeviceFacts& f = ctx.facts();
  if (s.dtype == DType::fp8) {
    if (f.cc_major * 10 + f.cc_minor < 89)
      throw UnsupportedError("fp8 needs compute capability 8.9 or newer; " + f.name + " is " +
                             std::to_string(f.cc_major) + "." + std::to_string(f.cc_minor));
    if (!s.trans_b || s.trans_a)
      throw UnsupportedError(
          "fp8 on cuBLASLt needs trans_a=False, trans_b=True (its fp8 kernels take the TN layout, "
          "i.e. C = A @ B^T with both operands K-major)");
    if (s.m % 16 || s.n % 16 || s.k % 16)
      throw UnsupportedError("fp8 on cuBLASLt needs m, n and k to be multiples of 16, got m=" + std::to_string(s.m) +
                             " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k));
  }
  const BlasTypes t = blas_types(s.dtype);
  const ColMajorGemm g = to_col_major(s);
  auto d = std::make_shared<LtDescs>();
  AM_CUBLAS_CHECK(cublasLtMatmulDescCreate(&d->op, t.compute, t.scale));
  const cublasOperation_t op1 = g.trans_first ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op2 = g.trans_second ? CUBLAS_OP_T : CUBLAS_OP_N;
  AM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSA, &op1, sizeof op1));
  AM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSB, &op2, sizeof op2));
  // Stored shapes (column-major view): first operand is B, second is A.
  make_layout(&d->la, t.a, g.trans_first ? g.k : g.m, g.trans_first ? g.m : g.k, g.ld_first, s.batch, s.b_elems());
  make_layout(&d->lb, t.a, g.trans_second ? g.n : g.k, g.trans_second ? g.k : g.n, g.ld_second, s.batch, s.a_elems());
  make_layout(&d->lc, t.c, g.m, g.n, g.ldc, s.batch, s.c_elems());

  AM_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&d->pref));
  const uint64_t ws = ctx.workspace_bytes();
  AM_CUBLAS_CHECK(
      cublasLtMatmulPreferenceSetAttribute(d->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  cublasLtMatmulHeuristicResult_t heur{};
  int found = 0;
  cublasLtHandle_t h = ctx.lt();
  AM_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(h, d->op, d->la, d->lb, d->lc, d->lc, d->pref, 1, &heur, &found));
  if (found == 0)
    throw UnsupportedError(std::string("cuBLASLt has no algorithm for this ") + dtype_name(s.dtype) +
                           " gemm layout on " + f.name);
  d->algo = heur.algo;

  GemmPlan p;
  p.info["algo_id"] = std::to_string(algo_attr<int32_t>(d->algo, CUBLASLT_ALGO_CONFIG_ID));
  p.info["tile_id"] = std::to_string(algo_attr<uint32_t>(d->algo, CUBLASLT_ALGO_CONFIG_TILE_ID));
  p.info["stages_id"] = std::to_string(algo_attr<uint32_t>(d->algo, CUBLASLT_ALGO_CONFIG_STAGES_ID));
  p.info["splitk"] = std::to_string(algo_attr<uint32_t>(d->algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM));
  p.info["workspace_bytes"] = std::to_string(heur.workspaceSize);
  p.info["api"] = "cublasLtMatmul";
  void* work = ctx.workspace();
  p.launch = [=](cudaStream_t st) {
    AM_CUBLAS_CHECK(cublasLtMatmul(h, d->op, d->scalars.one(t.integer), b, d->la, a, d->lb, d->scalars.zero(t.integer),
                                   c, d->lc, c, d->lc, &d->algo, work, ws, st));
  };
  return p;
}

}  // namespace am::cuda
