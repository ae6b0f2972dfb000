// steady_clock sampler for host work.
#pragma once
#include <chrono>
#include <functional>

#include "timing/measure.hpp"

namespace am {

class CpuSampler : public Sampler {
 public:
  explicit CpuSampler(std::function<void()> fn) : fn_(std::move(fn)) {}
  // Work done before each sample, outside the timed region (e.g. a cache flush).
  // A sample then holds one launch, so every launch sees the flushed cache.
  void set_before_each(std::function<void()> fn) { before_ = std::move(fn); }
  bool can_repeat() const override { return !before_; }
  void take(int count, int repeat, std::vector<double>& out) override {
    for (int s = 0; s < count; ++s) {
      if (before_) before_();
      const auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < repeat; ++r) fn_();
      const auto t1 = std::chrono::steady_clock::now();
      out.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count() / repeat);
    }
  }

 private:
  std::function<void()> fn_, before_;
};

}  // namespace am
