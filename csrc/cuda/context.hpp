// Per-device state created once and reused by every benchmark on that device:
// facts about the GPU, a non-blocking stream, library handles with their
// workspace, and the buffer that flushes L2 in cold mode.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "cuda/buffer.hpp"

namespace am::cuda {

struct DeviceFacts {
  int index = 0;
  std::string name, uuid, pci_bus_id;
  int cc_major = 0, cc_minor = 0, sm_count = 0;
  int clock_khz = 0, mem_clock_khz = 0, bus_width_bits = 0;
  size_t l2_bytes = 0, total_mem = 0, smem_per_block_optin = 0;
  int driver_version = 0, runtime_version = 0, cublas_version = 0;
  size_t cublaslt_version = 0;
};

class Context {
 public:
  static Context& get(int device);  // makes the device current too
  const DeviceFacts& facts() const { return facts_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t blas();  // created on first use, bound to stream(), with workspace
  cublasLtHandle_t lt();
  void* workspace() const { return workspace_.get(); }
  size_t workspace_bytes() const { return workspace_.bytes(); }
  void flush_l2(cudaStream_t s);  // reads a buffer of max(2 x L2, 256 MB): docs/design.md §4
  ~Context();

 private:
  explicit Context(int device);
  DeviceFacts facts_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  DeviceBuffer workspace_, flush_, sink_;  // sink_: evict_icache's, made on first use
};

}  // namespace am::cuda
