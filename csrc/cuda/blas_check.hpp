// cuBLAS / cuBLASLt status -> C++ error (NOT_SUPPORTED is an UnsupportedError,
// ALLOC_FAILED an OutOfMemoryError, the rest CudaError with the status name).
#pragma once
#include <cublas_v2.h>

#include "cuda/check.hpp"

namespace am::cuda {
[[noreturn]] void throw_cublas(cublasStatus_t s, const char* expr, const char* file, int line);
}  // namespace am::cuda

#define AM_CUBLAS_CHECK(expr)                                                                                        \
  ::am::cuda::check_status<cublasStatus_t>((expr), CUBLAS_STATUS_SUCCESS, ::am::cuda::throw_cublas, #expr, __FILE__, \
                                           __LINE__)
