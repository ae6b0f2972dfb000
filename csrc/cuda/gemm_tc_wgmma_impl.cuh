// Tensor-core GEMM, Hopper path (TMA + wgmma, sm_90a): tensor maps and the
// launcher. Included by gemm_tc_wgmma_{bf16,f16,e4m3}.cu, each instantiating its type.
#pragma once
#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "common/errors.hpp"
#include "cuda/check.hpp"
#include "cuda/gemm_tc_kernels.cuh"
#include "cuda/launch_util.cuh"

namespace am::cuda::tc {
namespace wgimpl {

using EncodeTiledFn = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                   const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                   CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

// cuTensorMapEncodeTiled through the runtime's driver entry point (no -lcuda).
inline EncodeTiledFn encoder() {
  static EncodeTiledFn fn = [] {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult q{};
    AM_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q));
    if (q != cudaDriverEntryPointSuccess || p == nullptr)
      throw UnsupportedError("tc_gemm: the driver has no cuTensorMapEncodeTiled (needs a CUDA 12+ driver)");
    return reinterpret_cast<EncodeTiledFn>(p);
  }();
  return fn;
}

// TMA's element type of an input type.
template <typename T>
constexpr CUtensorMapDataType map_type = std::is_same<T, E4M3>::value   ? CU_TENSOR_MAP_DATA_TYPE_UINT8
                                         : std::is_same<T, Bf16>::value ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                                                        : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;

// 3-D map over a [batch][outer][inner] matrix of `bytes`-byte elements, 128-byte swizzled boxes.
inline CUtensorMap make_map(const void* ptr, CUtensorMapDataType type, int bytes, int64_t inner, int64_t outer,
                            int64_t batch, uint32_t box_inner, uint32_t box_outer) {
  CUtensorMap map;
  std::memset(&map, 0, sizeof(map));
  const cuuint64_t dims[3] = {cuuint64_t(inner), cuuint64_t(outer), cuuint64_t(batch)};
  const cuuint64_t strides[2] = {cuuint64_t(inner) * bytes, cuuint64_t(inner) * cuuint64_t(outer) * bytes};
  const cuuint32_t box[3] = {box_inner, box_outer, 1};
  const cuuint32_t estr[3] = {1, 1, 1};
  const CUresult r =
      encoder()(&map, type, 3, const_cast<void*>(ptr), dims, strides, box, estr, CU_TENSOR_MAP_INTERLEAVE_NONE,
                CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    throw CudaError("CUresult " + std::to_string(int(r)),
                    "tc_gemm: cuTensorMapEncodeTiled failed with CUresult " + std::to_string(int(r)));
  return map;
}

struct MapKey {
  const void* a = nullptr;
  const void* b = nullptr;
  int64_t m = 0, n = 0, k = 0, batch = 0;
  bool ta = false, tb = false;
  int type = 0, bn = 0;
  bool operator==(const MapKey& o) const {
    return a == o.a && b == o.b && m == o.m && n == o.n && k == o.k && batch == o.batch && ta == o.ta && tb == o.tb &&
           type == o.type && bn == o.bn;
  }
};

template <typename T, bool TA, bool TB, int BN>
void launch_bn(const GemmSpec& s, const void* a, const void* b, void* c, bool persistent, int num_sms,
               cudaStream_t stream) {
  constexpr CUtensorMapDataType kType = map_type<T>;
  constexpr int kBytes = in_bytes<T>, kBoxK = wg::BK * 2 / kBytes;  // a k-slice: 128 bytes
  using G = wg::Cfg<BN>;
  auto kernel = wg::wg_gemm_kernel<T, TA, TB, BN>;
  raise_smem_limit(kernel, G::SMEM_BYTES);
  // Encoding a map costs host time: keep the last pair per thread.
  thread_local MapKey last_key;
  thread_local CUtensorMap map_a, map_b;
  thread_local bool have = false;
  const MapKey key{a, b, s.m, s.n, s.k, s.batch, TA, TB, int(kType), BN};
  if (!have || !(key == last_key)) {
    have = false;
    map_a = TA ? make_map(a, kType, kBytes, s.m, s.k, s.batch, wg::BOX_MN, wg::BOX_MN)
               : make_map(a, kType, kBytes, s.k, s.m, s.batch, kBoxK, wg::BM);
    map_b = TB ? make_map(b, kType, kBytes, s.k, s.n, s.batch, kBoxK, BN)
               : make_map(b, kType, kBytes, s.n, s.k, s.batch, wg::BOX_MN, wg::BOX_MN);
    last_key = key;
    have = true;
  }
  const int M = int(s.m), N = int(s.n), K = int(s.k);
  const int tiles_m = (M + wg::BM - 1) / wg::BM, tiles_n = (N + BN - 1) / BN;
  const int64_t total = int64_t(tiles_m) * tiles_n * s.batch;
  const int64_t cap = persistent ? int64_t(num_sms) : int64_t(std::numeric_limits<int32_t>::max());
  const unsigned grid = unsigned(std::min(total, cap));
  kernel<<<grid, wg::THREADS, G::SMEM_BYTES, stream>>>(map_a, map_b, static_cast<uint16_t*>(c), M, N, K, tiles_m,
                                                       tiles_n, int(s.batch));
  AM_CUDA_CHECK_LAUNCH();
}

}  // namespace wgimpl

template <typename T, bool TA, bool TB>
void launch_wgmma(const GemmSpec& s, const void* a, const void* b, void* c, cudaStream_t stream) {
  const int sms = sm_count_current_device();
  const WgmmaChoice ch = wgmma_choice(s, sms);
  if (ch.bn == 256) wgimpl::launch_bn<T, TA, TB, 256>(s, a, b, c, ch.persistent, sms, stream);
  else if (ch.bn == 128) wgimpl::launch_bn<T, TA, TB, 128>(s, a, b, c, ch.persistent, sms, stream);
  else wgimpl::launch_bn<T, TA, TB, 64>(s, a, b, c, ch.persistent, sms, stream);
}

#define AM_TC_WG_INST(T)                                                                                       \
  template void launch_wgmma<T, false, false>(const GemmSpec&, const void*, const void*, void*, cudaStream_t); \
  template void launch_wgmma<T, false, true>(const GemmSpec&, const void*, const void*, void*, cudaStream_t);  \
  template void launch_wgmma<T, true, false>(const GemmSpec&, const void*, const void*, void*, cudaStream_t);  \
  template void launch_wgmma<T, true, true>(const GemmSpec&, const void*, const void*, void*, cudaStream_t);

#if defined(AM_TC_WG_TYPE)
AM_TC_WG_INST(AM_TC_WG_TYPE)
#endif

}  // namespace am::cuda::tc
