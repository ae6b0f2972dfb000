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

enum Hint { kPlain, kStream, kNoAlloc, kPrefetch256 };
static const char* hint_name[] = {"plain (ld/st.global)", "streaming (ld.cs / st.cs)",
                                  "ld.nc.L1::no_allocate / st.global", "ld.L2::256B / st.global"};

template <Hint H>
__device__ __forceinline__ float4 ld4(const float4* p) {
  float4 v;
  if (H == kStream)
    asm volatile("ld.global.cs.v4.f32 {%0,%1,%2,%3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
  else if (H == kNoAlloc)
    asm volatile("ld.global.nc.L1::no_allocate.v4.f32 {%0,%1,%2,%3}, [%4];"
                 : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
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
  row<kPlain, 4, 256>(a, b, o, n4, bytes, iters);  // membw.cu's kernel
  row<kPlain, 8, 256>(a, b, o, n4, bytes, iters);
  row<kPlain, 2, 256>(a, b, o, n4, bytes, iters);
  row<kPlain, 4, 128>(a, b, o, n4, bytes, iters);
  row<kPlain, 4, 512>(a, b, o, n4, bytes, iters);
  row<kStream, 4, 256>(a, b, o, n4, bytes, iters);
  row<kStream, 8, 256>(a, b, o, n4, bytes, iters);
  row<kNoAlloc, 4, 256>(a, b, o, n4, bytes, iters);
  row<kPrefetch256, 4, 256>(a, b, o, n4, bytes, iters);
  row<kPrefetch256, 8, 256>(a, b, o, n4, bytes, iters);
  std::printf("\ncudaMemcpyAsync D2D again: %.0f GB/s\n",
              2 * bytes / median_ms([&] { CK(cudaMemcpyAsync(o, a, n4 * 16, cudaMemcpyDeviceToDevice)); }, iters) / 1e6);
  return 0;
}
