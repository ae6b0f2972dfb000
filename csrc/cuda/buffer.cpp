#include "cuda/buffer.hpp"

#include <sstream>

#include "cuda/check.hpp"

namespace am::cuda {

DeviceBuffer::DeviceBuffer(size_t bytes) : n_(bytes) {
  if (bytes == 0) return;
  const cudaError_t e = cudaMalloc(&p_, bytes);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear, so the device stays usable
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    std::ostringstream os;
    os.precision(3);
    os << "out of GPU memory: asked for " << double(bytes) / (1 << 30) << " GiB, " << double(free_b) / (1 << 30)
       << " GiB free of " << double(total_b) / (1 << 30) << " GiB";
    p_ = nullptr;
    throw OutOfMemoryError(os.str());
  }
  AM_CUDA_CHECK(e);
}

DeviceBuffer::~DeviceBuffer() {
  if (p_) cudaFree(p_);
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (p_) cudaFree(p_);
    p_ = o.p_;
    n_ = o.n_;
    o.p_ = nullptr;
    o.n_ = 0;
  }
  return *this;
}

}  // namespace am::cuda
