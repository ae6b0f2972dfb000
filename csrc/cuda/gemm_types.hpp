// How each aimatrix dtype maps onto cuBLAS data and compute types.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>

#include "common/dtype.hpp"

namespace am::cuda {

struct BlasTypes {
  cudaDataType_t a, c;  // input (A and B) and output data types
  cublasComputeType_t compute;
  cudaDataType_t scale;  // type of alpha/beta
  bool integer;          // alpha/beta are int32
};

inline BlasTypes blas_types(DType d) {
  switch (d) {
    case DType::f32: return {CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUDA_R_32F, false};
    case DType::tf32: return {CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_32F, false};
    case DType::f16: return {CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F, false};
    case DType::bf16: return {CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F, false};
    case DType::fp8: return {CUDA_R_8F_E4M3, CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F, false};
    case DType::int8: return {CUDA_R_8I, CUDA_R_32I, CUBLAS_COMPUTE_32I, CUDA_R_32I, true};
  }
  return {CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUDA_R_32F, false};
}

// alpha = 1, beta = 0 in the scale type, kept alive by the plan.
struct Scalars {
  float f_one = 1.0f, f_zero = 0.0f;
  int32_t i_one = 1, i_zero = 0;
  const void* one(bool integer) const { return integer ? static_cast<const void*>(&i_one) : &f_one; }
  const void* zero(bool integer) const { return integer ? static_cast<const void*>(&i_zero) : &f_zero; }
};

}  // namespace am::cuda
