// Standalone A/B of STREAM copy and triad kernel variants on one GPU, next to the
// driver's cudaMemcpyAsync (what torch's copy_ of a contiguous tensor runs). It
// chooses the load/store cache hints and the accesses in flight per thread of
// csrc/cuda/membw.cu. bash bench/own_membw/run.sh [GiB] [iterations]
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CK(x)                                                                           \
  do {                                                                                  \
    cudaError_t e_ = (x);                                                               \
    if (e_ != cudaSuccess) {                                                            \
      std::fprintf(stderr, "%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e_));   \
      std::exit(1);                                                                     \
    }                                                                                   \
  } while (0)

enum Hint { kPlain, kStream, kNoAlloc, kPrefetch256, kNc, kEvictFirst };
static const char* hint_name[] = {"plain (ld/st.global)", "streaming (ld.cs / st.cs)",
                                  "ld.nc.L1::no_allocate / st.global", "ld.L2::256B / st.global",
                                  "ld.global.nc / st.global", "L2 evict_first policy on ld and st"};

__device__ __forceinline__ unsigned long long evict_first_policy() {
  unsigned long long pol;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(pol));
  return pol;
}

template <Hint H>
__device__ __forceinline__ float4 ld4(const float4* p) {
  float4 v;
  if (H == kStream)
    asm volatile("ld.global.cs.v4.f32 {%0,%1,%2,%3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
  else if (H == kNoAlloc)
    asm volatile("ld.global.nc.L1::no_allocate.v4.f32 {%0,%1,%2,%3}, [%4];"
                 : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
  else if (H == kNc)
    asm volatile("ld.global.nc.v4.f32 {%0,%1,%2,%3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
  else if (H == kEvictFirst)
    asm volatile("ld.global.L2::cache_hint.v4.f32 {%0,%1,%2,%3}, [%4], %5;"
                 : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p), "l"(evict_first_policy()));
  else if (H == kPrefetch256)
    asm volatile("ld.global.L2::256B.v4.f32 {%0,%1,%2,%3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
  else
    asm volatile("ld.global.v4.f32 {%0,%1,%2,%3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
  return v;
}
template <Hint H>
__device__ __forceinline__ void st4(float4* p, float4 v) {
  if (H == kStream)
    asm volatile("st.global.cs.v4.f32 [%0], {%1,%2,%3,%4};" ::"l"(p), "f"(v.x), "f"(v.y), "f"(v.z), "f"(v.w) : "memory");
  else if (H == kEvictFirst)
    asm volatile("st.global.L2::cache_hint.v4.f32 [%0], {%1,%2,%3,%4}, %5;" ::"l"(p), "f"(v.x), "f"(v.y), "f"(v.z), "f"(v.w),
                 "l"(evict_first_policy()) : "memory");
  else
    asm volatile("st.global.v4.f32 [%0], {%1,%2,%3,%4};" ::"l"(p), "f"(v.x), "f"(v.y), "f"(v.z), "f"(v.w) : "memory");
}

// One block per chunk of U x B float4s (membw.cu's one-shot grid); triad when TRIAD.
template <Hint H, int U, int B, bool TRIAD>
__global__ void __launch_bounds__(B) kern(const float4* a, const float4* b, float4* o, long n4) {
  const long base = long(blockIdx.x) * U * B + threadIdx.x;
  float4 x[U], z[U];
#pragma unroll
  for (int u = 0; u < U; ++u) {
    const long e = base + long(u) * B;
    if (e < n4) {
      x[u] = ld4<H>(a + e);
      if (TRIAD) z[u] = ld4<H>(b + e);
    }
  }
#pragma unroll
  for (int u = 0; u < U; ++u) {
    const long e = base + long(u) * B;
    if (e < n4) {
      float4 y = x[u];
      if (TRIAD) y = make_float4(fmaf(3.f, z[u].x, y.x), fmaf(3.f, z[u].y, y.y), fmaf(3.f, z[u].z, y.z), fmaf(3.f, z[u].w, y.w));
      st4<H>(o + e, y);
    }
  }
}

// A persistent grid: block b streams its own contiguous slab, U x B float4s per step, the next step's
// loads issued before this step's stores (copy only).
template <int U, int B>
__global__ void __launch_bounds__(B) slab(const float4* a, float4* o, long n4) {
  const long per = (n4 + gridDim.x - 1) / gridDim.x, lo = long(blockIdx.x) * per, hi = min(n4, lo + per);
  float4 x[U], y[U];
  long e = lo + threadIdx.x;
#pragma unroll
  for (int u = 0; u < U; ++u)
    if (e + long(u) * B < hi) x[u] = ld4<kPlain>(a + e + long(u) * B);
  for (; e < hi; e += long(U) * B) {
    const long f = e + long(U) * B;
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (f + long(u) * B < hi) y[u] = ld4<kPlain>(a + f + long(u) * B);
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (e + long(u) * B < hi) st4<kPlain>(o + e + long(u) * B, x[u]);
#pragma unroll
    for (int u = 0; u < U; ++u) x[u] = y[u];
  }
}

template <typename F>
float median_ms(F launch, int iters) {
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  for (int i = 0; i < 5; ++i) launch();
  std::vector<float> t;
  for (int i = 0; i < iters; ++i) {
    CK(cudaEventRecord(e0));
    launch();
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    float ms;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    t.push_back(ms);
  }
  CK(cudaGetLastError());
  std::sort(t.begin(), t.end());
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  return t[t.size() / 2];
}

template <Hint H, int U, int B>
void row(float4* a, float4* b, float4* o, long n4, double bytes, int iters) {
  const unsigned grid = unsigned((n4 + long(U) * B - 1) / (long(U) * B));
  const float c = median_ms([&] { kern<H, U, B, false><<<grid, B>>>(a, b, o, n4); }, iters);
  const float t = median_ms([&] { kern<H, U, B, true><<<grid, B>>>(a, b, o, n4); }, iters);
  std::printf("| %s | %d | %d | %.0f | %.0f |\n", hint_name[H], U, B, 2 * bytes / c / 1e6, 3 * bytes / t / 1e6);
}

template <int U, int B>
void slab_row(float4* a, float4* o, long n4, double bytes, int iters, int sms, int per_sm) {
  const float c = median_ms([&] { slab<U, B><<<sms * per_sm, B>>>(a, o, n4); }, iters);
  std::printf("| contiguous slab per block, next loads before stores, %d blocks/SM | %d | %d | %.0f | |\n", per_sm, U, B,
              2 * bytes / c / 1e6);
}

int main(int argc, char** argv) {
  const double gib = argc > 1 ? std::atof(argv[1]) : 1.0;
  const int iters = argc > 2 ? std::atoi(argv[2]) : 30;
  const long n4 = long(gib * (1L << 30)) / 16;
  const double bytes = double(n4) * 16;
  float4 *a, *b, *o;
  CK(cudaMalloc(&a, n4 * 16));
  CK(cudaMalloc(&b, n4 * 16));
  CK(cudaMalloc(&o, n4 * 16));
  CK(cudaMemset(a, 0x3c, n4 * 16));  // operands' values do not change the traffic
  CK(cudaMemset(b, 0x3c, n4 * 16));
  cudaDeviceProp p;
  CK(cudaGetDeviceProperties(&p, 0));
  std::printf("%s, %.2f GiB per array, median of %d launches, GB/s (bytes read + written)\n\n", p.name, gib, iters);
  const float m = median_ms([&] { CK(cudaMemcpyAsync(o, a, n4 * 16, cudaMemcpyDeviceToDevice)); }, iters);
  std::printf("cudaMemcpyAsync D2D: %.0f GB/s\n\n", 2 * bytes / m / 1e6);
  std::printf("| hints | accesses in flight per thread | block | copy | triad |\n|---|---:|---:|---:|---:|\n");
  row<kPlain, 4, 256>(a, b, o, n4, bytes, iters);  // membw.cu's kernel until the fourth session
  row<kPlain, 8, 256>(a, b, o, n4, bytes, iters);
  row<kPlain, 2, 256>(a, b, o, n4, bytes, iters);
  row<kPlain, 4, 128>(a, b, o, n4, bytes, iters);
  row<kPlain, 4, 512>(a, b, o, n4, bytes, iters);
  row<kStream, 4, 256>(a, b, o, n4, bytes, iters);
  row<kStream, 8, 256>(a, b, o, n4, bytes, iters);
  row<kNoAlloc, 4, 256>(a, b, o, n4, bytes, iters);
  row<kPrefetch256, 4, 256>(a, b, o, n4, bytes, iters);
  row<kPrefetch256, 8, 256>(a, b, o, n4, bytes, iters);
  row<kNc, 4, 256>(a, b, o, n4, bytes, iters);
  row<kEvictFirst, 4, 256>(a, b, o, n4, bytes, iters);
  row<kEvictFirst, 8, 256>(a, b, o, n4, bytes, iters);
  row<kPlain, 4, 1024>(a, b, o, n4, bytes, iters);
  row<kPlain, 16, 256>(a, b, o, n4, bytes, iters);
  row<kPlain, 8, 128>(a, b, o, n4, bytes, iters);
  row<kPlain, 1, 1024>(a, b, o, n4, bytes, iters);  // membw.cu's kernel since the fifth session
  row<kPlain, 1, 512>(a, b, o, n4, bytes, iters);
  row<kPlain, 1, 256>(a, b, o, n4, bytes, iters);
  row<kPlain, 2, 512>(a, b, o, n4, bytes, iters);
  row<kPlain, 2, 1024>(a, b, o, n4, bytes, iters);
  row<kStream, 1, 1024>(a, b, o, n4, bytes, iters);
  row<kStream, 8, 512>(a, b, o, n4, bytes, iters);
  slab_row<4, 256>(a, o, n4, bytes, iters, p.multiProcessorCount, 4);
  slab_row<4, 256>(a, o, n4, bytes, iters, p.multiProcessorCount, 8);
  slab_row<2, 512>(a, o, n4, bytes, iters, p.multiProcessorCount, 4);
  slab_row<4, 1024>(a, o, n4, bytes, iters, p.multiProcessorCount, 2);
  std::printf("\ncudaMemcpyAsync D2D again: %.0f GB/s\n",
              2 * bytes / median_ms([&] { CK(cudaMemcpyAsync(o, a, n4 * 16, cudaMemcpyDeviceToDevice)); }, iters) / 1e6);
  return 0;
}
