// One check macro per library status type: each failing status becomes the
// matching C++ error (bindings turn them into aimatrix.* exceptions).
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "common/errors.hpp"

namespace am::cuda {

[[noreturn]] void throw_cuda(cudaError_t e, const char* expr, const char* file, int line);

inline void check_cuda(cudaError_t e, const char* expr, const char* file, int line) {
  if (e != cudaSuccess) throw_cuda(e, expr, file, line);
}

}  // namespace am::cuda

#define AM_CUDA_CHECK(expr) ::am::cuda::check_cuda((expr), #expr, __FILE__, __LINE__)
// After a kernel launch: configuration errors now, faults at the next sync.
#define AM_CUDA_CHECK_LAUNCH() AM_CUDA_CHECK(cudaGetLastError())
