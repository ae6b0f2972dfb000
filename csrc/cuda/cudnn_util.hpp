// What every cuDNN caller shares (conv_cudnn*.cpp): the status check that turns
// a failing cudnnStatus_t into the matching C++ error, one handle per device,
// and aimatrix's dtypes as cuDNN data types. Only with cuDNN (AM_HAVE_CUDNN).
#pragma once
#include <cudnn.h>

#include "common/dtype.hpp"
#include "cuda/check.hpp"

namespace am::cuda {

// NOT_SUPPORTED* -> UnsupportedError, allocation failures -> OutOfMemoryError,
// anything else -> CudaError; the message names the call and where it was made.
[[noreturn]] void throw_cudnn(cudnnStatus_t s, const char* expr, const char* file, int line);

// The device's handle, created on first use and kept for the life of the process.
cudnnHandle_t cudnn_handle(int device);

// fp32 and tf32 -> FLOAT, fp16 -> HALF, bf16 -> BFLOAT16; UnsupportedError otherwise.
cudnnDataType_t cudnn_data_type(DType d);

}  // namespace am::cuda

#define AM_CUDNN_CHECK(expr)                                                                                      \
  ::am::cuda::check_status<cudnnStatus_t>((expr), CUDNN_STATUS_SUCCESS, ::am::cuda::throw_cudnn, #expr, __FILE__, \
                                          __LINE__)
