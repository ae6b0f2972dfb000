#if AM_HAVE_CUDNN
#include "cuda/cudnn_util.hpp"

#include <map>
#include <mutex>
#include <sstream>
#include <string>

#include "common/errors.hpp"

namespace am::cuda {

[[noreturn]] void throw_cudnn(cudnnStatus_t s, const char* expr, const char* file, int line) {
  std::ostringstream os;
  os << cudnnGetErrorString(s) << " (in " << expr << " at " << file << ":" << line << ")";
  const int cat = int(s) / 1000 * 1000;
  if (cat == int(CUDNN_STATUS_NOT_SUPPORTED)) throw UnsupportedError(os.str());
  if (s == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
      s == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    throw OutOfMemoryError(os.str());
  throw CudaError(cudnnGetErrorString(s), os.str());
}

cudnnHandle_t cudnn_handle(int device) {
  static std::mutex mu;
  static std::map<int, cudnnHandle_t>& all = *new std::map<int, cudnnHandle_t>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = all.find(device);
  if (it != all.end()) return it->second;
  cudnnHandle_t h = nullptr;
  AM_CUDNN_CHECK(cudnnCreate(&h));
  return all[device] = h;
}

cudnnDataType_t cudnn_data_type(DType d) {
  switch (d) {
    case DType::f32:
    case DType::tf32: return CUDNN_DATA_FLOAT;
    case DType::f16: return CUDNN_DATA_HALF;
    case DType::bf16: return CUDNN_DATA_BFLOAT16;
    default: throw UnsupportedError(std::string("backend 'cudnn' has no ") + dtype_name(d) + " convolution here");
  }
}

}  // namespace am::cuda
#endif
