#include "cuda/check.hpp"

#include <sstream>

namespace am::cuda {

[[noreturn]] void throw_cuda(cudaError_t e, const char* expr, const char* file, int line) {
  std::ostringstream os;
  os << cudaGetErrorName(e) << ": " << cudaGetErrorString(e) << " (in " << expr << " at " << file << ":" << line << ")";
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it so the next call works
    throw OutOfMemoryError(os.str());
  }
  throw CudaError(cudaGetErrorName(e), os.str());
}

}  // namespace am::cuda
