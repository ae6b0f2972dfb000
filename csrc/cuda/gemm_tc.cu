// aimatrix's own tensor-core GEMM (fp16 / bf16 in and out, or fp8 e4m3 in and
// bf16 out; fp32 accumulation, alpha = 1, beta = 0): picks the kernel variant
// and launches it. fp8: the wgmma kernel only (sm_90a), TN layout.
//   Hopper (9.0) with an sm_90a binary, aligned operands: TMA + wgmma,
//     persistent, 128x256 tiles (128x128 when that gives under two tiles per
//     SM, 128x64 when 128x128 gives under one), see gemm_tc_kernels.cuh.
//   Otherwise (sm_80+): mma.sync m16n8k16 + ldmatrix + cp.async
//     (tc_mma_128x128x32_s4), with 16-byte zero-filled copies when the
//     operands are aligned and bounds-checked element loads when not.
// "Aligned": the contiguous dimension of A and of B a multiple of 8 elements
// and both base pointers 16-byte aligned.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "common/errors.hpp"
#include "cuda/check.hpp"
#include "cuda/gemm_tc_kernels.cuh"
#include "cuda/own_gemm.hpp"

namespace am::cuda {
namespace tc {

int g_wgmma_bn = 0;
int g_wgmma_persistent = -1;
int g_wgmma_cluster = -1;
int g_wgmma_tma_store = 1;

// AIMATRIX_WGMMA_CLUSTER (tests and tuning): "0" never pair CTAs, "1" always, unset: by problem size.
static int cluster_setting() {
  if (g_wgmma_cluster >= 0) return g_wgmma_cluster;
  const char* v = std::getenv("AIMATRIX_WGMMA_CLUSTER");
  if (!v || !*v) return -1;
  const std::string s(v);
  if (s != "0" && s != "1") throw std::invalid_argument("AIMATRIX_WGMMA_CLUSTER='" + s + "': expected 0 or 1");
  return s == "1";
}

// Its static shared array exists only in an sm_90a build (the wgmma kernel's
// own body is compiled under the same condition): reading the attribute needs
// no launch and no synchronisation, so it is safe inside graph capture.
__global__ void wgmma_probe_kernel(int* out) {
#if AM_TC_HAS_WGMMA
  __shared__ volatile int marker[64];
  marker[threadIdx.x & 63] = int(threadIdx.x);
  if (out) *out = marker[(threadIdx.x + 1) & 63];
#else
  if (out) *out = 0;
#endif
}

bool wgmma_compiled_for_current_device() {
  static std::mutex mu;
  static std::map<int, bool> known;
  int dev = 0;
  AM_CUDA_CHECK(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(mu);
  auto it = known.find(dev);
  if (it != known.end()) return it->second;
  cudaFuncAttributes attr{};
  AM_CUDA_CHECK(cudaFuncGetAttributes(&attr, wgmma_probe_kernel));
  const bool real = attr.sharedSizeBytes >= 64 * sizeof(int);
  known[dev] = real;
  return real;
}

// 128x256 tiles unless they would give fewer than two per SM (then 128x128),
// and 128x64 where 128x128 would leave SMs idle (1024^3: 64 tiles of 128x128
// on 132 SMs, 128 of 128x64); persistent grid (one block per SM looping over
// tiles).
WgmmaChoice wgmma_choice(const GemmSpec& s, int num_sms) {
  // TMA stores C by rows of 16-byte multiples (its map's stride): n a multiple of 8 16-bit outputs.
  WgmmaChoice c{256, true, wg::SHARE_NONE, s.n % 8 == 0 && g_wgmma_tma_store != 0};
  const auto tiles = [&](int64_t bn) { return ((s.m + 127) / 128) * ((s.n + bn - 1) / bn) * s.batch; };
  if (tiles(256) < 2 * int64_t(num_sms)) c.bn = 128;
  if (tiles(128) < int64_t(num_sms)) c.bn = 64;
  if (g_wgmma_bn == 64 || g_wgmma_bn == 128 || g_wgmma_bn == 256) c.bn = g_wgmma_bn;
  if (g_wgmma_persistent >= 0) c.persistent = g_wgmma_persistent != 0;
  // The pair shares the wider operand: B (128 x bn of it) unless the tile is 128 x 64.
  if (cluster_setting() == 1) c.share = c.bn == 64 ? wg::SHARE_A : wg::SHARE_B;
  return c;
}

}  // namespace tc

namespace {

enum class TcPath { wgmma, mma_aligned, mma_generic };

void check_supported(const GemmSpec& s, int cc_major, int cc_minor) {
  s.validate();
  if (s.dtype != DType::f16 && s.dtype != DType::bf16 && s.dtype != DType::fp8)
    throw UnsupportedError(std::string("own tensor-core gemm: dtype ") + dtype_name(s.dtype) +
                           " is not supported; allowed: f16, bf16, fp8");
  if (cc_major < 8)
    throw UnsupportedError("own tensor-core gemm: compute capability " + std::to_string(cc_major) + "." +
                           std::to_string(cc_minor) + " is not supported; it needs sm_80 or newer");
  own::check_int32_dims(s, "own tensor-core gemm");
  if (s.dtype == DType::fp8) {  // the wgmma kernel alone runs it (gemm_tc_wgmma_e4m3.cu)
    if (cc_major != 9 || cc_minor != 0)
      throw UnsupportedError("own tensor-core gemm: fp8 runs on sm_90 (Hopper wgmma) only, not compute capability " +
                             std::to_string(cc_major) + "." + std::to_string(cc_minor) + "; use backend='cublaslt'");
    if (s.trans_a || !s.trans_b)
      throw UnsupportedError(
          "own tensor-core gemm: fp8 needs trans_a=False, trans_b=True (fp8 wgmma takes K-major operands: "
          "C = A @ B^T)");
    if (s.k % 16)
      throw UnsupportedError("own tensor-core gemm: fp8 needs k to be a multiple of 16 (16-byte rows for TMA), got k=" +
                             std::to_string(s.k));
  }
}

TcPath choose(const GemmSpec& s, const void* a, const void* b, int cc_major, int cc_minor, bool probe_binary) {
  const bool fp8 = s.dtype == DType::fp8;
  const bool aligned = own::operands_aligned(s, a, b, fp8 ? 16 : 8);  // 16 bytes either way
  if (aligned && cc_major == 9 && cc_minor == 0 && (!probe_binary || tc::wgmma_compiled_for_current_device()))
    return TcPath::wgmma;
  if (fp8)
    throw UnsupportedError(
        "own tensor-core gemm: fp8 needs the sm_90a wgmma kernel (this binary has none for the device) and "
        "16-byte aligned operands");
  return aligned ? TcPath::mma_aligned : TcPath::mma_generic;
}

// The mma.sync launch for the transposes `t` (op(A) transposed: 2, op(B): 1).
template <typename T, bool ALIGNED>
void dispatch_mma(int t, const GemmSpec& s, const void* a, const void* b, void* c, cudaStream_t st) {
  switch (t) {
    case 0: return tc::launch_mma<T, false, false, ALIGNED>(s, a, b, c, st);
    case 1: return tc::launch_mma<T, false, true, ALIGNED>(s, a, b, c, st);
    case 2: return tc::launch_mma<T, true, false, ALIGNED>(s, a, b, c, st);
    default: return tc::launch_mma<T, true, true, ALIGNED>(s, a, b, c, st);
  }
}

template <typename T>
void dispatch(TcPath p, const GemmSpec& s, const void* a, const void* b, void* c, cudaStream_t st) {
  const int t = (s.trans_a ? 2 : 0) | (s.trans_b ? 1 : 0);
  switch (p) {
    case TcPath::wgmma:
      switch (t) {
        case 0: return tc::launch_wgmma<T, false, false>(s, a, b, c, st);
        case 1: return tc::launch_wgmma<T, false, true>(s, a, b, c, st);
        case 2: return tc::launch_wgmma<T, true, false>(s, a, b, c, st);
        default: return tc::launch_wgmma<T, true, true>(s, a, b, c, st);
      }
    case TcPath::mma_aligned: return dispatch_mma<T, true>(t, s, a, b, c, st);
    case TcPath::mma_generic: return dispatch_mma<T, false>(t, s, a, b, c, st);
  }
}

const char* trans_tag(const GemmSpec& s) {
  static const char* tags[4] = {"nn", "nt", "tn", "tt"};  // op(A) stored as-is / transposed, then B
  return tags[(s.trans_a ? 2 : 0) | (s.trans_b ? 1 : 0)];
}

}  // namespace

void tc_gemm(const GemmSpec& s, const void* a, const void* b, void* c, int cc_major, int cc_minor,
             cudaStream_t stream) {
  check_supported(s, cc_major, cc_minor);
  const TcPath p = choose(s, a, b, cc_major, cc_minor, true);
  if (s.dtype == DType::fp8) tc::launch_wgmma<tc::E4M3, false, true>(s, a, b, c, stream);  // TN, checked above
  else if (s.dtype == DType::bf16) dispatch<tc::Bf16>(p, s, a, b, c, stream);
  else dispatch<tc::F16>(p, s, a, b, c, stream);
}

std::string tc_gemm_kernel_name(const GemmSpec& s, int cc_major, int cc_minor) {
  check_supported(s, cc_major, cc_minor);
  // The pointers are not known here: assume allocations (256-byte aligned), so
  // only the shape decides alignment.
  const void* aligned_ptr = reinterpret_cast<const void*>(uintptr_t(256));
  const TcPath p = choose(s, aligned_ptr, aligned_ptr, cc_major, cc_minor, true);
  std::string name;
  switch (p) {
    case TcPath::wgmma: {
      const tc::WgmmaChoice ch = tc::wgmma_choice(s, sm_count_current_device());
      name = ch.bn == 256   ? "tc_wgmma_tma_128x256x64_s4"
             : ch.bn == 128 ? "tc_wgmma_tma_128x128x64_s6"
                            : "tc_wgmma_tma_128x64x64_s8";
      if (ch.persistent) name += "_persistent";
      if (ch.share != tc::wg::SHARE_NONE) name += ch.share == tc::wg::SHARE_A ? "_mcastA" : "_mcastB";
      if (ch.tma_c) name += "_tmastore";
      break;
    }
    case TcPath::mma_aligned: name = "tc_mma_sync_128x128x32_s4"; break;
    case TcPath::mma_generic: name = "tc_mma_sync_128x128x32_s4_generic"; break;
  }
  return name + "_" + dtype_name(s.dtype) + "_" + trans_tag(s);
}

}  // namespace am::cuda
