// Standalone check-and-time harness for the implicit-GEMM convolution kernels
// (csrc/cuda/conv_igemm_kernels.cuh): the mma.sync kernel and the sm_90a wgmma one.
//
//   harness [--no-check] [--no-time] [--reps N] [--dtype bf16|fp16|both]
//
// 1. Correctness: random inputs in [-1, 1), output poisoned with NaN first; every
//    kernel variant (mma.sync by size; wgmma by size, 128 and 64 wide, split-K)
//    on odd shapes (odd M, C a multiple of 8 but not of 64, padding, stride,
//    dilation, K not a multiple of the tile, layer4-like) against a direct
//    convolution in fp32 on the GPU: relative Frobenius error (<= 1e-2) and a
//    count of unwritten (NaN) outputs.
// 2. Timing: the ResNet-50 3x3 layers at batch 32, every variant, median of
//    --reps launches with the L2 flushed (256 MB memset) before each, TFLOP/s;
//    each timed output is checked against the reference too.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../harness_check.hpp"
#include "cuda/conv_igemm_kernels.cuh"

using namespace am::cuda;
using igemm::Geom;

namespace {

struct Shape {
  int n, c, h, w, k, r, s, stride, pad, dil;
  const char* name;
};

Geom geom(const Shape& s) {
  Geom g{};
  g.N = s.n, g.H = s.h, g.W = s.w, g.C = s.c, g.K = s.k, g.R = s.r, g.S = s.s;
  g.sh = g.sw = s.stride, g.ph = g.pw = s.pad, g.dh = g.dw = s.dil;
  g.P = (s.h + 2 * s.pad - s.dil * (s.r - 1) - 1) / s.stride + 1;
  g.Q = (s.w + 2 * s.pad - s.dil * (s.s - 1) - 1) / s.stride + 1;
  g.M = g.N * g.P * g.Q;
  g.Kg = g.R * g.S * g.C;
  return g;
}

template <bool BF>
__device__ __forceinline__ float ld(const uint16_t* p, int64_t i) {
  if constexpr (BF) return __bfloat162float(__ushort_as_bfloat16(p[i]));
  else return __half2float(__ushort_as_half(p[i]));
}

template <bool BF>
__global__ void ref_conv(const uint16_t* x, const uint16_t* w, float* y, Geom g) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= int64_t(g.M) * g.K) return;
  const int k = int(i % g.K);
  const int m = int(i / g.K);
  const int q = m % g.Q, t = m / g.Q, p = t % g.P, n = t / g.P;
  float acc = 0.f;
  for (int r = 0; r < g.R; ++r) {
    const int hh = p * g.sh - g.ph + r * g.dh;
    if (hh < 0 || hh >= g.H) continue;
    for (int s = 0; s < g.S; ++s) {
      const int ww = q * g.sw - g.pw + s * g.dw;
      if (ww < 0 || ww >= g.W) continue;
      const int64_t xo = ((int64_t(n) * g.H + hh) * g.W + ww) * g.C;
      const int64_t wo = int64_t(k) * g.Kg + (r * g.S + s) * g.C;
      for (int c = 0; c < g.C; ++c) acc += ld<BF>(x, xo + c) * ld<BF>(w, wo + c);
    }
  }
  y[i] = acc;
}

template <bool BF>
__global__ void fill(uint16_t* p, int64_t n, uint32_t seed) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t h = uint32_t(i) * 2654435761u ^ seed;
  h ^= h >> 15;
  h *= 2246822519u;
  h ^= h >> 13;
  h *= 3266489917u;
  h ^= h >> 16;
  const float v = float(h & 0xffffff) / float(1 << 23) - 1.0f;
  if constexpr (BF) p[i] = __bfloat16_as_ushort(__float2bfloat16(v));
  else p[i] = __half_as_ushort(__float2half(v));
}

// sum (got - ref)^2, sum ref^2, NaN count
template <bool BF>
__global__ void compare(const uint16_t* got, const float* ref, int64_t n, double* out) {
  double d2 = 0, r2 = 0, nan = 0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float g = ld<BF>(got, i), r = ref[i];
    if (!isfinite(g)) {
      nan += 1;
      continue;
    }
    d2 += double(g - r) * double(g - r);
    r2 += double(r) * double(r);
  }
  atomicAdd(&out[0], d2);
  atomicAdd(&out[1], r2);
  atomicAdd(&out[2], nan);
}

struct Variant {
  std::string name;
  std::function<void(cudaStream_t)> run;
};

int g_sms = 132;
bool g_fail = false;

// The variants of one problem: launches bound to x, w, y (and a workspace).
template <typename T>
std::vector<Variant> variants(const Geom& g, const uint16_t* x, const uint16_t* w, uint16_t* y, void* ws,
                              bool all_splits) {
  constexpr bool BF = std::is_same<T, tc::Bf16>::value;
  std::vector<Variant> v;
  int bm, bn;
  igemm::tcore::choose(g, g_sms, bm, bn);
  auto fn = igemm::tcore::launcher(BF, bm, bn);
  v.push_back({"mma_" + std::to_string(bm) + "x" + std::to_string(bn), [=](cudaStream_t st) { fn(g, x, w, y, st); }});
  using namespace igemm::wgc;
  std::vector<Choice> cs;
  const Choice autoc = choose(g, g_sms);
  cs.push_back(autoc);
  for (int b : {256, 128, 64}) {
    if (b > 64 && g.K <= b / 2) continue;
    for (int sp : {1, 2, 3, 4}) {
      if (!all_splits && sp == 4) continue;
      const Choice c = make_choice(g, b, sp);
      if (c.splits != sp) continue;  // rounded to a split count already listed
      cs.push_back(c);
    }
  }
  bool first = true;
  for (const Choice& c : cs) {
    for (bool gather : {false, true}) {  // x by TMA im2col (where it can) and gathered by the producer threads
      const Maps maps = make_maps(x, w, y, BF, g, c, gather);
      if (gather && !x_by_tma(g, x)) continue;  // the same kernel as the first
      std::string name = std::string(first ? "wg_auto(" : "wg_") + std::to_string(c.bn) + "_s" +
                         std::to_string(c.splits) + (gather ? "_gather" : "") + (first ? ")" : "");
      first = false;
      v.push_back({name, [=](cudaStream_t st) { launch<T>(g, maps, x, y, ws, c, st); }});
    }
  }
  return v;
}

struct Bufs {
  uint16_t *x = nullptr, *w = nullptr, *y = nullptr;
  float* ref = nullptr;
  void* ws = nullptr;
  double* cmp = nullptr;
};

template <typename T>
double check_one(const Geom& g, const Bufs& b, const Variant& v, double* nan_out) {
  constexpr bool BF = std::is_same<T, tc::Bf16>::value;
  const int64_t ny = int64_t(g.M) * g.K;
  CK(cudaMemset(b.y, 0xff, ny * 2));  // NaN in both formats
  v.run(0);
  CK(cudaGetLastError());
  CK(cudaMemset(b.cmp, 0, 3 * sizeof(double)));
  compare<BF><<<256, 256>>>(b.y, b.ref, ny, b.cmp);
  CK(cudaDeviceSynchronize());
  double h[3];
  CK(cudaMemcpy(h, b.cmp, sizeof(h), cudaMemcpyDeviceToHost));
  *nan_out = h[2];
  return std::sqrt(h[0] / std::max(h[1], 1e-30));
}

template <typename T>
void run_shape(const Shape& s, bool timing, int reps, void* flush, size_t flush_bytes) {
  constexpr bool BF = std::is_same<T, tc::Bf16>::value;
  const Geom g = geom(s);
  const int64_t nx = int64_t(g.N) * g.H * g.W * g.C, nw = int64_t(g.K) * g.Kg, ny = int64_t(g.M) * g.K;
  Bufs b;
  CK(cudaMalloc(&b.x, nx * 2));
  CK(cudaMalloc(&b.w, nw * 2));
  CK(cudaMalloc(&b.y, ny * 2));
  CK(cudaMalloc(&b.ref, ny * 4));
  CK(cudaMalloc(&b.ws, size_t(ny) * 4 * 8));
  CK(cudaMalloc(&b.cmp, 3 * sizeof(double)));
  fill<BF><<<unsigned((nx + 255) / 256), 256>>>(b.x, nx, 0x1234u);
  fill<BF><<<unsigned((nw + 255) / 256), 256>>>(b.w, nw, 0xabcdu);
  ref_conv<BF><<<unsigned((ny + 255) / 256), 256>>>(b.x, b.w, b.ref, g);
  CK(cudaDeviceSynchronize());
  const double flops = 2.0 * double(g.M) * g.K * g.Kg;
  std::printf("%-22s %s M=%d N=%d Kg=%d\n", s.name, BF ? "bf16" : "fp16", g.M, g.K, g.Kg);
  for (const Variant& v : variants<T>(g, b.x, b.w, b.y, b.ws, timing)) {
    double nan = 0;
    const double err = check_one<T>(g, b, v, &nan);
    const bool ok = err <= 1e-2 && nan == 0;
    if (!ok) g_fail = true;
    std::printf("  %-18s rel_err %.2e nan %.0f %s", v.name.c_str(), err, nan, ok ? "ok" : "FAIL");
    if (timing && ok) {
      cudaEvent_t e0, e1;
      CK(cudaEventCreate(&e0));
      CK(cudaEventCreate(&e1));
      std::vector<float> ms;
      for (int i = 0; i < 3; ++i) v.run(0);
      for (int i = 0; i < reps; ++i) {
        CK(cudaMemsetAsync(flush, i & 0xff, flush_bytes, 0));
        CK(cudaEventRecord(e0, 0));
        v.run(0);
        CK(cudaEventRecord(e1, 0));
        CK(cudaEventSynchronize(e1));
        float t = 0;
        CK(cudaEventElapsedTime(&t, e0, e1));
        ms.push_back(t);
      }
      std::sort(ms.begin(), ms.end());
      const double med = ms[ms.size() / 2];
      std::printf("  %8.1f us  %6.1f TFLOP/s (min %.1f us)", med * 1e3, flops / (med * 1e-3) / 1e12, ms[0] * 1e3);
      CK(cudaEventDestroy(e0));
      CK(cudaEventDestroy(e1));
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  CK(cudaFree(b.x));
  CK(cudaFree(b.w));
  CK(cudaFree(b.y));
  CK(cudaFree(b.ref));
  CK(cudaFree(b.ws));
  CK(cudaFree(b.cmp));
}

}  // namespace

int main(int argc, char** argv) {
  bool check = true, timing = true;
  int reps = 20;
  std::string dt = "both";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--no-check")) check = false;
    else if (!std::strcmp(argv[i], "--no-time")) timing = false;
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--dtype") && i + 1 < argc) dt = argv[++i];
  }
  cudaDeviceProp prop{};
  CK(cudaGetDeviceProperties(&prop, 0));
  g_sms = prop.multiProcessorCount;
  std::printf("device %s, %d SMs, cc %d.%d\n", prop.name, g_sms, prop.major, prop.minor);
  const std::vector<Shape> odd = {
      {2, 64, 14, 14, 64, 3, 3, 1, 1, 1, "2x64x14x14 k64"}, {3, 24, 9, 7, 40, 3, 3, 2, 1, 1, "c24 s2 k40"},
      {2, 32, 10, 10, 48, 1, 1, 1, 0, 1, "1x1 c32 k48"},    {1, 8, 11, 13, 16, 3, 3, 1, 2, 2, "c8 dil2 pad2"},
      {1, 8, 7, 7, 136, 3, 3, 2, 1, 1, "c8 k136 s2"},       {5, 40, 13, 11, 200, 3, 3, 1, 1, 1, "c40 k200 odd M"},
      {3, 136, 9, 9, 72, 3, 3, 2, 1, 1, "c136 k72 s2"},     {2, 16, 5, 5, 8, 5, 5, 1, 2, 1, "5x5 c16 k8"},
      {2, 64, 56, 56, 64, 3, 3, 1, 1, 1, "2x64x56x56"},     {7, 512, 7, 7, 520, 3, 3, 1, 1, 1, "layer4-like k520"},
      {4, 72, 15, 15, 96, 3, 3, 1, 0, 1, "c72 pad0 k96"},
  };
  const std::vector<Shape> resnet = {
      {32, 64, 56, 56, 64, 3, 3, 1, 1, 1, "layer1.conv2"},   {32, 128, 56, 56, 128, 3, 3, 2, 1, 1, "layer2.conv2 s2"},
      {32, 128, 28, 28, 128, 3, 3, 1, 1, 1, "layer2.conv2"}, {32, 256, 28, 28, 256, 3, 3, 2, 1, 1, "layer3.conv2 s2"},
      {32, 256, 14, 14, 256, 3, 3, 1, 1, 1, "layer3.conv2"}, {32, 512, 14, 14, 512, 3, 3, 2, 1, 1, "layer4.conv2 s2"},
      {32, 512, 7, 7, 512, 3, 3, 1, 1, 1, "layer4.conv2"},
  };
  const size_t flush_bytes = size_t(256) << 20;
  void* flush = nullptr;
  CK(cudaMalloc(&flush, flush_bytes));
  std::vector<bool> bfs;
  if (dt != "fp16") bfs.push_back(true);
  if (dt != "bf16") bfs.push_back(false);
  try {
    if (check) {
      std::printf("== correctness (odd shapes)\n");
      for (bool bf : bfs)
        for (const Shape& s : odd) {
          if (bf) run_shape<tc::Bf16>(s, false, reps, flush, flush_bytes);
          else run_shape<tc::F16>(s, false, reps, flush, flush_bytes);
        }
    }
    if (timing) {
      std::printf("== ResNet-50 3x3 layers, batch 32 (checked and timed)\n");
      for (bool bf : bfs)
        for (const Shape& s : resnet) {
          if (bf) run_shape<tc::Bf16>(s, true, reps, flush, flush_bytes);
          else run_shape<tc::F16>(s, true, reps, flush, flush_bytes);
        }
    }
  } catch (const std::exception& e) {
    std::printf("exception: %s\n", e.what());
    return 3;
  }
  std::printf("== %s\n", g_fail ? "SOME CHECKS FAILED" : "all checks passed");
  return g_fail ? 1 : 0;
}
