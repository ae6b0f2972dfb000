// CPU backends as the runners see them: our own kernels ("cpu") and the CPU's vendor libraries
// ("openblas": fp32 GEMM; "onednn": fp32 GEMM, bf16 GEMM where the CPU has AVX-512 BF16 or AMX, and
// fp32 convolution in every direction). The vendor
// libraries are opened at run time from the path aimatrix/_vendor.py found, so the module builds,
// imports and runs its own kernels without them.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "common/conv_spec.hpp"
#include "common/gemm_spec.hpp"

namespace am::cpu {

// One GEMM or convolution made ready to run on given host operands: `run` computes the output (what
// is timed), `fetch` copies it to the host output when the backend computes elsewhere (untimed;
// empty when `run` writes the host output itself); `algo` says what runs.
struct Kernel {
  std::function<void()> run, fetch;
  std::string algo;
};

// One GEMM implementation: C = op(A) op(B) for every batch of the spec (row-major), its operands
// stored as the spec's dtype stores them (input_storage / output_storage).
struct GemmBackend {
  std::string name;           // the backend, as the Result names it
  std::string info;           // what ran (kernel, library version, threads)
  std::vector<DType> dtypes;  // the dtypes it runs; run_gemm refuses others before any work
  std::function<Kernel(const GemmSpec&, const void* a, const void* b, void* c)> prepare;
};
// A backend of fp32 only, from its GEMM on float operands.
GemmBackend fp32_gemm(std::string name, std::string info,
                      std::function<void(const GemmSpec&, const float*, const float*, float*)> run);

using ConvFactory = std::function<Kernel(const ConvSpec&, const float* in0, const float* in1, float* out)>;

// `name`: "cpu", "openblas" or "onednn"; `library`: the vendor library's path ("" for cpu).
GemmBackend gemm_backend(const std::string& name, const std::string& library);
ConvFactory conv_backend(const std::string& name, const std::string& library);  // "cpu" or "onednn"
// The vendor library's own account of itself: "OpenBLAS 0.3.30 ...", "oneDNN 3.13.2 ...".
std::string vendor_version(const std::string& name, const std::string& library);

// The vendor implementations (csrc/cpu/openblas.cpp, csrc/cpu/onednn.cpp).
GemmBackend openblas_gemm(const std::string& library);
std::string openblas_version(const std::string& library);
GemmBackend onednn_gemm(const std::string& library);
Kernel onednn_conv(const std::string& library, const ConvSpec& s, const float* in0, const float* in1, float* out);
std::string onednn_version(const std::string& library);

}  // namespace am::cpu
