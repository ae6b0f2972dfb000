// Error types shared by the CPU and CUDA code. The bindings translate each to
// its Python class in aimatrix.errors; std::invalid_argument becomes ValueError.
#pragma once
#include <stdexcept>
#include <string>

namespace am {

// A backend, dtype or device cannot run the requested spec.
struct UnsupportedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A device allocation failed; every buffer allocated before it is released.
struct OutOfMemoryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The output did not match the reference within the dtype's tolerance.
struct VerificationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A CUDA / cuBLAS / cuDNN call returned an error status.
struct CudaError : std::runtime_error {
  std::string status;  // the library's status name, e.g. CUBLAS_STATUS_INVALID_VALUE
  CudaError(std::string status_name, const std::string& what)
      : std::runtime_error(what), status(std::move(status_name)) {}
};

[[noreturn]] inline void invalid(const std::string& msg) { throw std::invalid_argument(msg); }

}  // namespace am
