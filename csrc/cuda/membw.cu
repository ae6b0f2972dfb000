// Memory bandwidth on the GPU: STREAM-style kernels (16-byte accesses, 16 KB per
// block and pass, a grid that fills the device) and copy-engine transfers.
// A launch makes `passes` sweeps: the grid walks passes x n elements modulo n,
// so small arrays are read by every SM over and over (L1, then L2 as they grow).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/rng.hpp"
#include "common/verify.hpp"
#include "cuda/buffer.hpp"
#include "cuda/check.hpp"
#include "cuda/event_timer.hpp"
#include "cuda/fill.hpp"
#include "cuda/membw_kernels.hpp"
#include "cuda/micro.hpp"

namespace am::cuda {
namespace {

// A block moves a chunk of 16 KB (1024 float4s) per input and pass. Kinds that store run fastest with
// 1024 threads of one 16-byte access each: on the H100 copy 2997-3033 GB/s against 2932-2975 with 256
// threads of four (the driver's copy: 2990-2993; bench/own_membw, bench/CHANGELOG.md). Reading alone
// needs four loads in flight per thread to cover HBM's latency (2333 GB/s with one, 3063 with four).
constexpr int64_t kChunk = 1024;  // float4s per block and pass
constexpr int unroll_of(MembwKind k) { return k == MembwKind::read ? 4 : 1; }
constexpr int block_of(MembwKind k) { return int(kChunk) / unroll_of(k); }

// Volatile accesses: the compiler may neither merge the passes' repeated loads
// nor drop their repeated stores.
__device__ __forceinline__ float4 ld4(const float4* p) {
  float4 v;
  asm volatile("ld.global.v4.f32 {%0,%1,%2,%3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
  return v;
}
__device__ __forceinline__ void st4(float4* p, float4 v) {
  asm volatile("st.global.v4.f32 [%0], {%1,%2,%3,%4};" ::"l"(p), "f"(v.x), "f"(v.y), "f"(v.z), "f"(v.w) : "memory");
}
__device__ __forceinline__ float ld1(const float* p) {
  float v;
  asm volatile("ld.global.f32 %0, [%1];" : "=f"(v) : "l"(p));
  return v;
}
__device__ __forceinline__ void st1(float* p, float v) {
  asm volatile("st.global.f32 [%0], %1;" ::"l"(p), "f"(v) : "memory");
}

// Per kind: its input arrays (in0, in1), its output, and the arithmetic.
template <MembwKind K>
struct Op {
  static constexpr int nin = K == MembwKind::write                                                   ? 0
                             : (K == MembwKind::add || K == MembwKind::triad || K == MembwKind::dot) ? 2
                                                                                                     : 1;
  static constexpr bool out = K != MembwKind::read && K != MembwKind::dot;
  __device__ static float apply(float x, float z, float& acc) {
    const float q = kMembwScalar;
    switch (K) {
      case MembwKind::read: acc += x; return 0.f;
      case MembwKind::write: return q;
      case MembwKind::copy: return x;
      case MembwKind::scale: return q * x;
      case MembwKind::add: return x + z;
      case MembwKind::triad: return fmaf(q, z, x);
      case MembwKind::dot: acc = fmaf(x, z, acc); return 0.f;
      default: return 0.f;
    }
  }
  __device__ static float4 apply4(float4 x, float4 z, float& acc) {
    return make_float4(apply(x.x, z.x, acc), apply(x.y, z.y, acc), apply(x.z, z.z, acc), apply(x.w, z.w, acc));
  }
};

// Work is cut into chunks of kChunk float4s; block b takes chunks b, b + grid, ...
// (modulo the array's chunk count, passes times over), so each block streams
// through contiguous 16 KB pieces and each thread has kUnroll 16-byte accesses
// per input in flight.
template <MembwKind K>
__global__ void __launch_bounds__(block_of(K))
    stream_kernel(const float* in0, const float* in1, float* out, int64_t n, int passes, float* partials) {
  using O = Op<K>;
  constexpr int kUnroll = unroll_of(K), kBlock = block_of(K);
  constexpr int64_t CH = kChunk;
  const int64_t n4 = n / 4, nchunks = (n4 + CH - 1) / CH, total = nchunks * passes;
  const auto* a4 = reinterpret_cast<const float4*>(in0);
  const auto* b4 = reinterpret_cast<const float4*>(in1);
  auto* o4 = reinterpret_cast<float4*>(out);
  float acc = 0.f;
  // A one-pass grid (a block per chunk) never divides: beside one 16-byte access per thread, a 64-bit
  // modulo is not free. Blocks that go around find their step once.
  if (n4 > 0 && blockIdx.x < total) {
    int64_t chunk = blockIdx.x < nchunks ? int64_t(blockIdx.x) : int64_t(blockIdx.x) % nchunks, step = -1;
    for (int64_t v = blockIdx.x;;) {
      const int64_t base = chunk * CH + threadIdx.x;
      float4 x[kUnroll], z[kUnroll];
      if (base + (kUnroll - 1) * kBlock < n4) {  // a whole chunk: no bounds checks
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {  // every load issued before the first use
          if (O::nin >= 1) x[u] = ld4(a4 + base + u * kBlock);
          if (O::nin >= 2) z[u] = ld4(b4 + base + u * kBlock);
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          const float4 y = O::apply4(x[u], z[u], acc);
          if (O::out) st4(o4 + base + u * kBlock, y);
        }
      } else {
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          const int64_t e = base + u * kBlock;
          if (e >= n4) continue;
          const float4 xx = O::nin >= 1 ? ld4(a4 + e) : float4{}, zz = O::nin >= 2 ? ld4(b4 + e) : float4{};
          const float4 y = O::apply4(xx, zz, acc);
          if (O::out) st4(o4 + e, y);
        }
      }
      v += gridDim.x;
      if (v >= total) break;
      if (step < 0) step = int64_t(gridDim.x) % nchunks;
      chunk += step;
      if (chunk >= nchunks) chunk -= nchunks;
    }
  }
  const int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  // The n % 4 trailing elements: one thread each, every pass.
  const int64_t t = n4 * 4 + tid;
  if (t < n)
    for (int p = 0; p < passes; ++p) {
      const float x = O::nin >= 1 ? ld1(in0 + t) : 0.f, z = O::nin >= 2 ? ld1(in1 + t) : 0.f;
      const float y = O::apply(x, z, acc);
      if (O::out) st1(out + t, y);
    }
  if (!O::out) {  // a partial sum per block: the loads are not dead code, and the sum is checked
    __shared__ float warp_sums[kBlock / 32];
    for (int off = 16; off; off >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, off);
    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
      float s = 0.f;
      for (int i = 0; i < kBlock / 32; ++i) s += warp_sums[i];
      partials[blockIdx.x] = s;
    }
  }
}

// The "tma" kernels (sm_90+): Hopper's bulk asynchronous copies move whole chunks between global and
// shared memory, so no thread issues a load or store of the stream. Per block, kTmaStages chunks are in
// flight: one thread waits for a chunk's inputs (an mbarrier counts their bytes), the block applies the
// arithmetic in shared memory (not for copy), and the thread stores the chunk with one bulk copy, then
// refills that stage once the store has read it. Block b takes chunks b, b + grid, ... of one pass.
constexpr int kTmaStages = 4, kTmaThreads = 256;
constexpr uint32_t kTmaChunk = 16384;  // bytes per input per stage

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return uint32_t(__cvta_generic_to_shared(p)); }

template <MembwKind K>
__global__ void __launch_bounds__(kTmaThreads) tma_stream_kernel(const float* in0, const float* in1, float* out,
                                                                 int64_t n, int /*passes: one*/, float* /*partials*/) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  using O = Op<K>;
  extern __shared__ __align__(128) unsigned char stage_mem[];  // kTmaStages x nin x kTmaChunk
  __shared__ __align__(8) uint64_t bar[kTmaStages];
  const int64_t nbytes = n / 4 * 16;  // the float4 part: bulk copies move multiples of 16 bytes
  const int64_t nchunks = (nbytes + kTmaChunk - 1) / kTmaChunk;
  const int64_t mine = int64_t(blockIdx.x) < nchunks ? (nchunks - 1 - blockIdx.x) / gridDim.x + 1 : 0;
  const bool leader = threadIdx.x == 0;
  auto buf = [&](int64_t i, int j) { return stage_mem + (size_t(i % kTmaStages) * O::nin + j) * kTmaChunk; };
  auto offset = [&](int64_t i) { return (int64_t(blockIdx.x) + i * gridDim.x) * int64_t(kTmaChunk); };
  auto length = [&](int64_t i) { return uint32_t(min(int64_t(kTmaChunk), nbytes - offset(i))); };
  auto load = [&](int64_t i) {  // the leader: chunk i's inputs into its stage, counted by its mbarrier
    const uint32_t b = smem_addr(&bar[i % kTmaStages]), len = length(i);
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(b), "r"(len * O::nin) : "memory");
    const float* src[2] = {in0, in1};
    for (int j = 0; j < O::nin; ++j)
      asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                       smem_addr(buf(i, j))),
                   "l"(reinterpret_cast<const char*>(src[j]) + offset(i)), "r"(len), "r"(b)
                   : "memory");
  };
  if (leader) {
    for (int s = 0; s < kTmaStages; ++s)
      asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(smem_addr(&bar[s])));
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    for (int64_t i = 0; i < min(int64_t(kTmaStages), mine); ++i) load(i);
  }
  __syncthreads();
  for (int64_t i = 0; i < mine; ++i) {
    // copy: only the leader waits; otherwise every thread, and a __syncthreads keeps them within one phase
    if (leader || K != MembwKind::copy) {
      const uint32_t b = smem_addr(&bar[i % kTmaStages]), parity = uint32_t(i / kTmaStages) & 1;
      asm volatile(
          "{\n .reg .pred P1;\n LAB_WAIT:\n mbarrier.try_wait.parity.shared::cta.b64 P1, [%0], %1;\n"
          " @!P1 bra LAB_WAIT;\n}" ::"r"(b),
          "r"(parity)
          : "memory");
    }
    if (K != MembwKind::copy) {
      float4* x = reinterpret_cast<float4*>(buf(i, 0));
      const float4* z = reinterpret_cast<const float4*>(buf(i, O::nin - 1));
      float acc = 0.f;
      for (uint32_t e = threadIdx.x; e < length(i) / 16; e += kTmaThreads) x[e] = O::apply4(x[e], z[e], acc);
      asm volatile("fence.proxy.async.shared::cta;" ::: "memory");  // the results, visible to the bulk store
      __syncthreads();
    }
    if (leader) {
      asm volatile(
          "cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;" ::"l"(reinterpret_cast<char*>(out) + offset(i)),
          "r"(smem_addr(buf(i, 0))), "r"(length(i))
          : "memory");
      asm volatile("cp.async.bulk.commit_group;" ::: "memory");
      if (i + kTmaStages < mine) {
        asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory");  // the store has read the stage
        load(i + kTmaStages);
      }
    }
  }
  if (leader) asm volatile("cp.async.bulk.wait_group 0;" ::: "memory");
  // The n % 4 trailing elements: block 0's first threads.
  const int64_t t = n / 4 * 4 + threadIdx.x;
  if (blockIdx.x == 0 && t < n) {
    float acc = 0.f;
    out[t] = O::apply(in0[t], O::nin >= 2 ? in1[t] : 0.f, acc);
  }
#endif
}

// Reference of the sums: sum(terms) and sum(|terms|) in float64.
__global__ void sum_f64_kernel(const float* a, const float* b, int64_t n, double* out) {
  double s = 0, sa = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const double t = b ? double(a[i]) * double(b[i]) : double(a[i]);
    s += t;
    sa += fabs(t);
  }
  atomicAdd(out, s);
  atomicAdd(out + 1, sa);
}

using KernelFn = void (*)(const float*, const float*, float*, int64_t, int, float*);

// One block per chunk of one pass over n floats.
int64_t chunk_blocks(int64_t n, int passes) { return std::max<int64_t>(1, (n / 4 + kChunk - 1) / kChunk * passes); }

KernelFn kernel_of(MembwKind k) {
  switch (k) {
    case MembwKind::read: return stream_kernel<MembwKind::read>;
    case MembwKind::write: return stream_kernel<MembwKind::write>;
    case MembwKind::copy: return stream_kernel<MembwKind::copy>;
    case MembwKind::scale: return stream_kernel<MembwKind::scale>;
    case MembwKind::add: return stream_kernel<MembwKind::add>;
    case MembwKind::triad: return stream_kernel<MembwKind::triad>;
    case MembwKind::dot: return stream_kernel<MembwKind::dot>;
    default: return nullptr;
  }
}

KernelFn tma_kernel_of(MembwKind k) {
  switch (k) {
    case MembwKind::copy: return tma_stream_kernel<MembwKind::copy>;
    case MembwKind::scale: return tma_stream_kernel<MembwKind::scale>;
    case MembwKind::add: return tma_stream_kernel<MembwKind::add>;
    case MembwKind::triad: return tma_stream_kernel<MembwKind::triad>;
    default: return nullptr;
  }
}

// The kernel a spec runs: "tma" where asked for (on sm_90+), else the per-thread loads and stores. "auto" is
// "ldst": the bulk copies were slower on the H100 (0.97 of it at 1 GiB, bench/CHANGELOG.md).
bool use_tma(const Context& ctx, const MembwSpec& s) {
  if (s.kernel != "tma") return false;
  if (ctx.facts().cc_major < 9)
    throw UnsupportedError(
        "membw kernel='tma' needs a GPU of compute capability 9.0 or newer (bulk asynchronous "
        "copies); this one is " +
        std::to_string(ctx.facts().cc_major) + "." + std::to_string(ctx.facts().cc_minor));
  return true;
}

// A launch's shape: grid, block and dynamic shared memory.
struct KernelLaunch {
  KernelFn fn;
  int grid, block;
  size_t smem;
  std::string name;
};

KernelLaunch plan_kernel(const Context& ctx, const MembwSpec& s) {
  const MembwInfo& info = membw_info(s.kind);
  const int64_t resident_sms = ctx.facts().sm_count;
  if (use_tma(ctx, s)) {
    KernelLaunch k{tma_kernel_of(s.kind), 0, s.kind == MembwKind::copy ? 32 : kTmaThreads,
                   size_t(kTmaStages) * size_t(info.reads) * kTmaChunk, std::string("tma_") + info.name};
    AM_CUDA_CHECK(cudaFuncSetAttribute(k.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, int(k.smem)));
    int per_sm = 0;
    AM_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, k.fn, k.block, k.smem));
    const int64_t chunks = std::max<int64_t>(1, (s.n / 4 * 16 + kTmaChunk - 1) / kTmaChunk);
    k.grid = int(std::min(resident_sms * std::max(per_sm, 1), chunks));
    return k;
  }
  KernelLaunch k{kernel_of(s.kind), 0, block_of(s.kind), 0, std::string("stream_") + info.name};
  int per_sm = 0;
  AM_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, k.fn, k.block, 0));
  // One pass: a block per chunk (one-shot, as PyTorch's elementwise kernels; a persistent
  // grid's blocks ended their walks unevenly and left HBM idle at the tail). Several
  // passes over a small array: a persistent grid that fills the device.
  const int64_t work_blocks = chunk_blocks(s.n, s.passes);
  const int64_t resident = resident_sms * std::max(per_sm, 1);
  k.grid = int(s.passes == 1 ? std::min<int64_t>(work_blocks, INT32_MAX) : std::min(resident, work_blocks));
  return k;
}

// Page-locked or pageable host memory.
struct HostBuffer {
  void* p = nullptr;
  bool pinned = false;
  HostBuffer(size_t bytes, bool pin) : pinned(pin) {
    if (pin) {
      const cudaError_t e = cudaMallocHost(&p, bytes);
      if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        throw OutOfMemoryError("out of host memory: could not pin " + std::to_string(double(bytes) / (1 << 30)) +
                               " GiB");
      }
      AM_CUDA_CHECK(e);
    } else {
      p = std::malloc(bytes);
      if (!p)
        throw OutOfMemoryError("out of host memory: could not allocate " + std::to_string(double(bytes) / (1 << 30)) +
                               " GiB");
    }
  }
  ~HostBuffer() {
    if (pinned && p) cudaFreeHost(p);
    else std::free(p);
  }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  float* f() const { return static_cast<float*>(p); }
};

std::vector<float> gather_f32(const float* p, const std::vector<int64_t>& off, cudaStream_t st) {
  const std::vector<uint8_t> bytes = gather(p, 4, off, st);
  std::vector<float> out(off.size());
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

RunResult run_kernel(Context& ctx, const MembwSpec& s, const StopRule& rule, bool cold) {
  const MembwInfo& info = membw_info(s.kind);
  cudaStream_t st = ctx.stream();
  const size_t bytes = size_t(s.n) * 4;
  DeviceBuffer arr[3];
  for (int j = 0; j < 3; ++j)
    if ((info.in_mask & (1 << j)) || info.out == j) {
      arr[j] = DeviceBuffer(bytes);
      if (info.in_mask & (1 << j)) fill_random(arr[j].get(), Storage::f32, size_t(s.n), operand_seed(s.seed, j), st);
      else poison(arr[j].get(), bytes, st);
    }
  // Inputs in the order the kernel reads them (see Op): read/copy/dot/add a(,b); scale c; triad b, c.
  const float* in0 = s.kind == MembwKind::scale   ? arr[2].as<float>()
                     : s.kind == MembwKind::triad ? arr[1].as<float>()
                                                  : arr[0].as<float>();
  const float* in1 = s.kind == MembwKind::triad ? arr[2].as<float>() : arr[1].as<float>();
  float* out = info.out >= 0 ? arr[info.out].as<float>() : nullptr;

  const KernelLaunch k = plan_kernel(ctx, s);
  const int grid = k.grid;
  DeviceBuffer partials(size_t(grid) * sizeof(float));
  float* part = partials.as<float>();
  const int64_t n = s.n;
  const int passes = s.passes;
  auto launch = [=](cudaStream_t stream) {
    k.fn<<<k.grid, k.block, k.smem, stream>>>(in0, in1, out, n, passes, part);
    AM_CUDA_CHECK_LAUNCH();
  };
  launch(st);

  Verification v;
  if (info.reduces) {
    std::vector<float> ps(static_cast<size_t>(grid), 0.0f);
    AM_CUDA_CHECK(cudaMemcpyAsync(ps.data(), part, ps.size() * 4, cudaMemcpyDeviceToHost, st));
    DeviceBuffer ref(2 * sizeof(double));
    AM_CUDA_CHECK(cudaMemsetAsync(ref.get(), 0, ref.bytes(), st));
    sum_f64_kernel<<<std::min<int64_t>(1024, (n + 255) / 256), 256, 0, st>>>(
        arr[0].as<float>(), s.kind == MembwKind::dot ? arr[1].as<float>() : nullptr, n, ref.as<double>());
    AM_CUDA_CHECK_LAUNCH();
    double r[2];
    AM_CUDA_CHECK(cudaMemcpyAsync(r, ref.get(), sizeof r, cudaMemcpyDeviceToHost, st));
    AM_CUDA_CHECK(cudaStreamSynchronize(st));
    double got = 0;
    for (float x : ps) got += x;
    v.tolerance = kMembwSumTol;
    v.checked = 1;
    v.nonfinite = !std::isfinite(got);
    v.rel_error = std::abs(got - passes * r[0]) / std::max(passes * r[1], 1e-300);
  } else {
    v.tolerance = kMembwElemTol;
    v.nonfinite = count_nonfinite(out, Storage::f32, size_t(n), st);
    const std::vector<int64_t> off = probe_offsets(n, s.seed);
    std::vector<float> g[3];
    for (int j = 0; j < 3; ++j)
      if (info.in_mask & (1 << j)) g[j] = gather_f32(arr[j].as<float>(), off, st);
    const std::vector<float> o = gather_f32(out, off, st);
    auto ptr = [&](int j) { return g[j].empty() ? nullptr : g[j].data(); };
    v.rel_error = membw_probe_error(s.kind, ptr(0), ptr(1), ptr(2), o.data(), off.size());
    v.checked = int64_t(off.size());
  }
  require_passed(v, std::string("membw ") + info.name);

  EventSampler sampler(ctx, st, launch, cold, /*graph=*/true);
  RunResult r;
  r.measurement = run_measurement(sampler, rule);
  r.measurement.timer = sampler.timer_name();
  r.verify = v;
  r.backend = "cuda";
  r.extra["kernel"] = k.name;
  r.extra["grid"] = std::to_string(grid);
  r.extra["block"] = std::to_string(k.block);
  r.extra["vector_bytes"] = "16";
  if (k.smem) r.extra["bulk_chunk_bytes"] = std::to_string(kTmaChunk);
  return r;
}

RunResult run_transfer(Context& ctx, const MembwSpec& s, const StopRule& rule, bool cold) {
  const MembwInfo& info = membw_info(s.kind);
  cudaStream_t st = ctx.stream();
  const size_t bytes = size_t(s.n) * 4;
  const uint64_t seed = operand_seed(s.seed, 0);
  std::unique_ptr<HostBuffer> host;
  DeviceBuffer src, dst;
  if (s.kind == MembwKind::h2d) {
    host = std::make_unique<HostBuffer>(bytes, s.pinned);
    for (int64_t i = 0; i < s.n; ++i) host->f()[i] = uniform_pm1(seed, uint64_t(i));
    dst = DeviceBuffer(bytes);
    poison(dst.get(), bytes, st);
  } else {
    src = DeviceBuffer(bytes);
    fill_random(src.get(), Storage::f32, size_t(s.n), seed, st);
    if (s.kind == MembwKind::d2h) {
      host = std::make_unique<HostBuffer>(bytes, s.pinned);
      std::memset(host->p, 0xff, bytes);
    } else {  // d2d
      dst = DeviceBuffer(bytes);
      poison(dst.get(), bytes, st);
    }
  }
  void* to = s.kind == MembwKind::d2h ? host->p : dst.get();
  const void* from = s.kind == MembwKind::h2d ? host->p : src.get();
  const cudaMemcpyKind kind = s.kind == MembwKind::h2d   ? cudaMemcpyHostToDevice
                              : s.kind == MembwKind::d2h ? cudaMemcpyDeviceToHost
                                                         : cudaMemcpyDeviceToDevice;
  auto launch = [=](cudaStream_t stream) { AM_CUDA_CHECK(cudaMemcpyAsync(to, from, bytes, kind, stream)); };
  launch(st);
  AM_CUDA_CHECK(cudaStreamSynchronize(st));

  // Check: the destination's probed elements equal the source's.
  const std::vector<int64_t> off = probe_offsets(s.n, s.seed);
  std::vector<float> got(off.size());
  if (s.kind == MembwKind::d2h) {
    for (size_t i = 0; i < off.size(); ++i) got[i] = host->f()[off[i]];
  } else {
    got = gather_f32(dst.as<float>(), off, st);
  }
  const Verification v = check_copied(seed, off, got);
  require_passed(v, std::string("membw ") + info.name);

  RunResult r = time_copy(ctx, st, launch, cold, rule, v);
  r.extra["kernel"] = "cudaMemcpyAsync";
  return r;
}

}  // namespace

Verification check_copied(uint64_t seed, const std::vector<int64_t>& off, const std::vector<float>& got) {
  std::vector<float> want(off.size());
  for (size_t i = 0; i < off.size(); ++i) want[i] = uniform_pm1(seed, uint64_t(off[i]));
  Verification v;
  v.tolerance = 0.0;
  v.checked = int64_t(off.size());
  for (float x : got) v.nonfinite += !std::isfinite(x);
  v.rel_error = membw_probe_error(MembwKind::copy, want.data(), nullptr, nullptr, got.data(), off.size());
  return v;
}

RunResult time_copy(Context& ctx, cudaStream_t st, const std::function<void(cudaStream_t)>& launch, bool cold,
                    const StopRule& rule, const Verification& v) {
  EventSampler sampler(ctx, st, launch, cold, /*graph=*/false);
  RunResult r;
  r.measurement = run_measurement(sampler, rule);
  r.measurement.timer = sampler.timer_name();
  r.verify = v;
  r.backend = "cuda";
  return r;
}

// Offsets compared with the reference: first, last and random ones.
std::vector<int64_t> probe_offsets(int64_t n, uint64_t seed, int count) {
  std::vector<int64_t> v;
  if (n <= count) {
    for (int64_t i = 0; i < n; ++i) v.push_back(i);
    return v;
  }
  v.push_back(0);
  v.push_back(n - 1);
  for (int i = 2; i < count; ++i) v.push_back(int64_t(splitmix64(seed ^ (0x5EEDull + uint64_t(i))) % uint64_t(n)));
  return v;
}

void launch_copy_kernel(const float* in, float* out, int64_t n, cudaStream_t st) {
  stream_kernel<MembwKind::copy>
      <<<int(std::min<int64_t>(chunk_blocks(n, 1), INT32_MAX)), block_of(MembwKind::copy), 0, st>>>(in, nullptr, out, n,
                                                                                                    1, nullptr);
  AM_CUDA_CHECK_LAUNCH();
}

RunResult run_membw(int device, const MembwSpec& s, const StopRule& rule, bool cold) {
  s.validate();
  rule.validate();
  Context& ctx = Context::get(device);
  if (s.kind == MembwKind::p2p) return run_p2p(ctx, device, s, rule, cold);
  return membw_info(s.kind).transfer ? run_transfer(ctx, s, rule, cold) : run_kernel(ctx, s, rule, cold);
}

}  // namespace am::cuda
