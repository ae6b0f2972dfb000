#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include "common/rng.hpp"
#include "cuda/buffer.hpp"
#include "cuda/check.hpp"
#include "cuda/fill.hpp"

namespace am::cuda {
namespace {

template <class T>
__device__ T convert(float v);
template <>
__device__ float convert<float>(float v) {
  return v;
}
template <>
__device__ __half convert<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __nv_bfloat16 convert<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <>
__device__ __nv_fp8_e4m3 convert<__nv_fp8_e4m3>(float v) {
  return __nv_fp8_e4m3(v);
}

template <class T>
__global__ void fill_kernel(T* p, size_t n, uint64_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    p[i] = convert<T>(uniform_pm1(seed, i));
}

__global__ void fill_i8_kernel(int8_t* p, size_t n, uint64_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    p[i] = uniform_i8(seed, i);
}

template <class T>
__device__ bool finite(T v) {
  return isfinite(float(v));
}

template <class T>
__global__ void nonfinite_kernel(const T* p, size_t n, unsigned long long* count) {
  unsigned long long local = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    local += !finite(p[i]);
  if (local) atomicAdd(count, local);
}

__global__ void gather_kernel(const uint8_t* src, size_t elem, const int64_t* offs, size_t n, uint8_t* dst) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    for (size_t b = 0; b < elem; ++b) dst[i * elem + b] = src[size_t(offs[i]) * elem + b];
}

unsigned grid_for(size_t n) { return unsigned(std::min<size_t>((n + 255) / 256, 65535 * 4)); }

}  // namespace

void fill_random(void* p, Storage s, size_t n, uint64_t seed, cudaStream_t st) {
  if (n == 0) return;
  const unsigned g = grid_for(n);
  switch (s) {
    case Storage::f32: fill_kernel<<<g, 256, 0, st>>>(static_cast<float*>(p), n, seed); break;
    case Storage::f16: fill_kernel<<<g, 256, 0, st>>>(static_cast<__half*>(p), n, seed); break;
    case Storage::bf16: fill_kernel<<<g, 256, 0, st>>>(static_cast<__nv_bfloat16*>(p), n, seed); break;
    case Storage::fp8e4m3: fill_kernel<<<g, 256, 0, st>>>(static_cast<__nv_fp8_e4m3*>(p), n, seed); break;
    case Storage::i8: fill_i8_kernel<<<g, 256, 0, st>>>(static_cast<int8_t*>(p), n, seed); break;
    case Storage::i32: throw UnsupportedError("fill_random: int32 storage is an output type only");
  }
  AM_CUDA_CHECK_LAUNCH();
}

void poison(void* p, size_t bytes, cudaStream_t st) { AM_CUDA_CHECK(cudaMemsetAsync(p, 0xff, bytes, st)); }

int64_t count_nonfinite(const void* p, Storage s, size_t n, cudaStream_t st) {
  if (s == Storage::i8 || s == Storage::i32 || n == 0) return 0;
  DeviceBuffer cnt(sizeof(unsigned long long));
  AM_CUDA_CHECK(cudaMemsetAsync(cnt.get(), 0, sizeof(unsigned long long), st));
  const unsigned g = grid_for(n);
  auto* c = cnt.as<unsigned long long>();
  switch (s) {
    case Storage::f32: nonfinite_kernel<<<g, 256, 0, st>>>(static_cast<const float*>(p), n, c); break;
    case Storage::f16: nonfinite_kernel<<<g, 256, 0, st>>>(static_cast<const __half*>(p), n, c); break;
    case Storage::bf16: nonfinite_kernel<<<g, 256, 0, st>>>(static_cast<const __nv_bfloat16*>(p), n, c); break;
    case Storage::fp8e4m3: nonfinite_kernel<<<g, 256, 0, st>>>(static_cast<const __nv_fp8_e4m3*>(p), n, c); break;
    default: break;
  }
  AM_CUDA_CHECK_LAUNCH();
  unsigned long long h = 0;
  AM_CUDA_CHECK(cudaMemcpyAsync(&h, c, sizeof h, cudaMemcpyDeviceToHost, st));
  AM_CUDA_CHECK(cudaStreamSynchronize(st));
  return int64_t(h);
}

std::vector<uint8_t> gather(const void* p, size_t elem, const std::vector<int64_t>& offsets, cudaStream_t st) {
  std::vector<uint8_t> out(offsets.size() * elem);
  if (offsets.empty()) return out;
  DeviceBuffer d_off(offsets.size() * sizeof(int64_t)), d_out(out.size());
  AM_CUDA_CHECK(cudaMemcpyAsync(d_off.get(), offsets.data(), d_off.bytes(), cudaMemcpyHostToDevice, st));
  gather_kernel<<<grid_for(offsets.size()), 256, 0, st>>>(static_cast<const uint8_t*>(p), elem, d_off.as<int64_t>(),
                                                          offsets.size(), d_out.as<uint8_t>());
  AM_CUDA_CHECK_LAUNCH();
  AM_CUDA_CHECK(cudaMemcpyAsync(out.data(), d_out.get(), out.size(), cudaMemcpyDeviceToHost, st));
  AM_CUDA_CHECK(cudaStreamSynchronize(st));
  return out;
}

}  // namespace am::cuda
