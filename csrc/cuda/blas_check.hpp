// cuBLAS / cuBLASLt status -> C++ error (NOT_SUPPORTED is an UnsupportedError,
// ALLOC_FAILED an OutOfMemoryError, the rest CudaError with the status name).
#pragma once
#include <cublas_v2.h>

namespace am::cuda {
[[noreturn]] void throw_cublas(cublasStatus_t s, const char* expr, const char* file, int line);
inline void check_cublas(cublasStatus_t s, const char* expr, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS) throw_cublas(s, expr, file, line);
}
}  // namespace am::cuda

#define AM_CUBLAS_CHECK(expr) ::am::cuda::check_cublas((expr), #expr, __FILE__, __LINE__)
