// Tensor-core GEMM, mma.sync path: the bf16 instantiations.
#define AM_TC_MMA_TYPE Bf16
#include "cuda/gemm_tc_mma_impl.cuh"
