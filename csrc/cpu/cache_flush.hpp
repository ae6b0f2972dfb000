// Evicts the CPU caches by reading a buffer larger than common last-level caches. A read, not a write: written
// lines would stay dirty in the caches, and the timed work would pay for writing them back as it evicts them
// (the GPU's L2 flush reads for the same reason, csrc/cuda/l2_flush.cu).
#pragma once
#include <cstdint>
#include <vector>

namespace am::cpu {

class CacheFlusher {
 public:
  CacheFlusher() : buf_(size_t(128) << 20 >> 2, 1u) {}  // 128 MiB
  void operator()() {
    uint32_t acc = 0;
    for (size_t i = 0; i < buf_.size(); i += 16) acc ^= buf_[i];  // one read per 64-byte line
    sink_ = acc;                                                  // volatile: the reads cannot be dropped
  }

 private:
  std::vector<uint32_t> buf_;
  volatile uint32_t sink_ = 0;
};

}  // namespace am::cpu
