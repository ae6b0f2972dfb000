// Checks of the standalone harnesses (bench/own_*/harness.cu): a failing CUDA or cuBLAS call prints its error,
// where, and the call, then ends the harness with status 2.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>

[[noreturn]] inline void harness_fail(const std::string& error, const char* file, int line, const char* expr) {
  std::fprintf(stderr, "%s at %s:%d: %s\n", error.c_str(), file, line, expr);
  std::exit(2);
}

#define CK(x)                                                                                                         \
  do {                                                                                                                \
    const cudaError_t e_ = (x);                                                                                       \
    if (e_ != cudaSuccess) harness_fail(std::string("CUDA error ") + cudaGetErrorString(e_), __FILE__, __LINE__, #x); \
  } while (0)

#define CUBLAS_OK(x)                                                                    \
  do {                                                                                  \
    const cublasStatus_t st_ = (x);                                                     \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                   \
      harness_fail("cuBLAS error " + std::to_string(int(st_)), __FILE__, __LINE__, #x); \
  } while (0)
