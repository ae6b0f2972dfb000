// Tensor-core GEMM, Hopper TMA + wgmma path: the f16 instantiations.
#define AM_TC_WG_TYPE F16
#include "cuda/gemm_tc_wgmma_impl.cuh"
