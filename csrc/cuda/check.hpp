// One check macro per library status type: each failing status becomes the
// matching C++ error (bindings turn them into aimatrix.* exceptions).
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "common/errors.hpp"

namespace am::cuda {

[[noreturn]] void throw_cuda(cudaError_t e, const char* expr, const char* file, int line);

// Every library's check: a status other than `ok` goes to `fail` (one of the throw_* functions), with the call's
// text and where it was made.
template <typename Status>
inline void check_status(Status s, Status ok, void (*fail)(Status, const char*, const char*, int), const char* expr,
                         const char* file, int line) {
  if (s != ok) fail(s, expr, file, line);
}

}  // namespace am::cuda

#define AM_CUDA_CHECK(expr) \
  ::am::cuda::check_status<cudaError_t>((expr), cudaSuccess, ::am::cuda::throw_cuda, #expr, __FILE__, __LINE__)
// After a kernel launch: configuration errors now, faults at the next sync.
#define AM_CUDA_CHECK_LAUNCH() AM_CUDA_CHECK(cudaGetLastError())
