// Tensor-core GEMM, mma.sync path: the f16 instantiations.
#define AM_TC_MMA_TYPE F16
#include "cuda/gemm_tc_mma_impl.cuh"
