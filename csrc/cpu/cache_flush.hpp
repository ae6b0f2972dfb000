// Evicts the CPU caches by writing a buffer larger than common last-level caches.
#pragma once
#include <vector>

namespace am::cpu {

class CacheFlusher {
 public:
  CacheFlusher() : buf_(size_t(128) << 20 >> 2) {}  // 128 MiB
  void operator()() {
    for (size_t i = 0; i < buf_.size(); i += 16) buf_[i] += 1.0f;  // one write per 64-byte line
  }

 private:
  std::vector<float> buf_;
};

}  // namespace am::cpu
