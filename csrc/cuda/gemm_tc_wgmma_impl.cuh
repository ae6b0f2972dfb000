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
using EncodeIm2colFn = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                    const cuuint64_t*, const int*, const int*, cuuint32_t, cuuint32_t,
                                    const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                                    CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

// A driver function through the runtime's driver entry point (no -lcuda), looked up once per name.
template <typename Fn>
Fn driver_fn(const char* name) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult q{};
  AM_CUDA_CHECK(cudaGetDriverEntryPointByVersion(name, &p, 12000, cudaEnableDefault, &q));
  if (q != cudaDriverEntryPointSuccess || p == nullptr)
    throw UnsupportedError(std::string("the driver has no ") + name + " (needs a CUDA 12+ driver)");
  return reinterpret_cast<Fn>(p);
}
inline EncodeTiledFn encoder() {
  static const EncodeTiledFn fn = driver_fn<EncodeTiledFn>("cuTensorMapEncodeTiled");
  return fn;
}
inline EncodeIm2colFn im2col_encoder() {
  static const EncodeIm2colFn fn = driver_fn<EncodeIm2colFn>("cuTensorMapEncodeIm2col");
  return fn;
}

// TMA's element type of an input type.
template <typename T>
constexpr CUtensorMapDataType map_type = std::is_same<T, E4M3>::value   ? CU_TENSOR_MAP_DATA_TYPE_UINT8
                                         : std::is_same<T, Bf16>::value ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                                                        : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;

// 3-D map over a [batch][outer][inner] matrix of `bytes`-byte elements, 128-byte swizzled boxes.
inline CUtensorMap make_map(const void* ptr, CUtensorMapDataType type, int bytes, int64_t inner, int64_t outer,
                            int64_t batch, uint32_t box_inner, uint32_t box_outer, uint32_t box_batch = 1) {
  CUtensorMap map;
  std::memset(&map, 0, sizeof(map));
  const cuuint64_t dims[3] = {cuuint64_t(inner), cuuint64_t(outer), cuuint64_t(batch)};
  const cuuint64_t strides[2] = {cuuint64_t(inner) * bytes, cuuint64_t(inner) * cuuint64_t(outer) * bytes};
  const cuuint32_t box[3] = {box_inner, box_outer, box_batch};
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
  const void* c = nullptr;
  int64_t m = 0, n = 0, k = 0, batch = 0;
  bool ta = false, tb = false;
  int type = 0, bn = 0, share = 0;
  bool operator==(const MapKey& o) const {
    return a == o.a && b == o.b && c == o.c && m == o.m && n == o.n && k == o.k && batch == o.batch && ta == o.ta &&
           tb == o.tb && type == o.type && bn == o.bn && share == o.share;
  }
};

// An operand's map: K-major, one box of `rows` x a 128-byte k-slice; MN-major, 64 x 64 boxes. `half`: the box of a
// CTA's half of a shared operand (wg::load_operand): half the rows, or 32 of the 64 k-rows.
inline CUtensorMap operand_map(const void* p, CUtensorMapDataType type, int bytes, bool mn_major, int64_t mn, int64_t k,
                               int64_t batch, uint32_t rows, bool half) {
  const uint32_t box_k = wg::BK * 2 / bytes;
  return mn_major ? make_map(p, type, bytes, mn, k, batch, wg::BOX_MN, half ? wg::BOX_MN / 2 : wg::BOX_MN)
                  : make_map(p, type, bytes, k, mn, batch, box_k, half ? rows / 2 : rows);
}

template <typename T, bool TA, bool TB, int BN, int SHARE>
void launch_bn(const GemmSpec& s, const void* a, const void* b, void* c, const WgmmaChoice& ch, int num_sms,
               cudaStream_t stream) {
  const bool persistent = ch.persistent;
  constexpr CUtensorMapDataType kType = map_type<T>;
  constexpr int kBytes = in_bytes<T>, kCtas = SHARE == wg::SHARE_NONE ? 1 : 2;
  using G = wg::Cfg<BN>;
  auto kernel = wg::wg_gemm_kernel<T, TA, TB, BN, SHARE>;
  raise_smem_limit(kernel, G::SMEM_BYTES);
  // C's map exists where TMA can store C (rows of 16-byte multiples, aligned): the cached maps then depend on the
  // key alone, whichever epilogue the choice asks for.
  const bool c_mappable = s.n % 8 == 0 && reinterpret_cast<uintptr_t>(c) % 16 == 0;
  const bool tma_c = ch.tma_c && c_mappable;  // (else from registers)
  // Encoding a map costs host time: keep the last three per thread.
  thread_local MapKey last_key;
  thread_local CUtensorMap map_a, map_b, map_c;
  thread_local bool have = false;
  const MapKey key{a, b, c, s.m, s.n, s.k, s.batch, TA, TB, int(kType), BN, SHARE};
  if (!have || !(key == last_key)) {
    have = false;
    map_a = operand_map(a, kType, kBytes, TA, s.m, s.k, s.batch, wg::BM, SHARE == wg::SHARE_A);
    map_b = operand_map(b, kType, kBytes, !TB, s.n, s.k, s.batch, BN, SHARE == wg::SHARE_B);
    if (c_mappable) map_c = make_map(c, map_type<OutOf<T>>, 2, s.n, s.m, s.batch, 64, 64);
    else std::memset(&map_c, 0, sizeof(map_c));
    last_key = key;
    have = true;
  }
  const int M = int(s.m), N = int(s.n), K = int(s.k);
  const int tiles_m = (M + wg::BM - 1) / wg::BM, tiles_n = (N + BN - 1) / BN;
  const int64_t units = int64_t(SHARE == wg::SHARE_B ? (tiles_m + 1) / 2 : tiles_m) *
                        (SHARE == wg::SHARE_A ? (tiles_n + 1) / 2 : tiles_n) * s.batch;
  cudaLaunchConfig_t cfg{};
  cudaLaunchAttribute attr{};
  cfg.gridDim = dim3(kCtas);  // one cluster, for the occupancy query; the grid is set below
  cfg.blockDim = dim3(wg::THREADS);
  cfg.dynamicSmemBytes = G::SMEM_BYTES;
  cfg.stream = stream;
  if (kCtas > 1) {
    attr.id = cudaLaunchAttributeClusterDimension;
    attr.val.clusterDim.x = kCtas;
    attr.val.clusterDim.y = attr.val.clusterDim.z = 1;
    cfg.attrs = &attr;
    cfg.numAttrs = 1;
  }
  // Persistent: as many units at once as fit (one CTA per SM; clusters as the GPCs place them).
  const int64_t cap = !persistent  ? int64_t(std::numeric_limits<int32_t>::max() / kCtas)
                      : kCtas == 1 ? int64_t(num_sms)
                                   : int64_t(max_active_clusters(kernel, cfg));
  cfg.gridDim = dim3(unsigned(std::min(units, cap) * kCtas));
  AM_CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, map_a, map_b, map_c, tma_c, static_cast<uint16_t*>(c), M, N, K,
                                   tiles_m, tiles_n, int(s.batch)));
}

}  // namespace wgimpl

template <typename T, bool TA, bool TB>
void launch_wgmma(const GemmSpec& s, const void* a, const void* b, void* c, cudaStream_t stream) {
  const int sms = sm_count_current_device();
  const WgmmaChoice ch = wgmma_choice(s, sms);
  constexpr int B = wg::SHARE_B, A = wg::SHARE_A;
  if (ch.bn == 256) {
    if (ch.share == B) wgimpl::launch_bn<T, TA, TB, 256, B>(s, a, b, c, ch, sms, stream);
    else wgimpl::launch_bn<T, TA, TB, 256, 0>(s, a, b, c, ch, sms, stream);
  } else if (ch.bn == 128) {
    if (ch.share == B) wgimpl::launch_bn<T, TA, TB, 128, B>(s, a, b, c, ch, sms, stream);
    else wgimpl::launch_bn<T, TA, TB, 128, 0>(s, a, b, c, ch, sms, stream);
  } else {
    if (ch.share == A) wgimpl::launch_bn<T, TA, TB, 64, A>(s, a, b, c, ch, sms, stream);
    else wgimpl::launch_bn<T, TA, TB, 64, 0>(s, a, b, c, ch, sms, stream);
  }
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
