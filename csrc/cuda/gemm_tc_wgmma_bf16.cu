// Tensor-core GEMM, Hopper TMA + wgmma path: the bf16 instantiations.
#define AM_TC_WG_TYPE Bf16
#include "cuda/gemm_tc_wgmma_impl.cuh"
