// A sampler that hands back scripted per-launch times and is its own clock, advanced by the time it
// "ran": the stopping rule driven by numbers, without a wall clock (aimatrix._core.measure_scripted).
#pragma once
#include <stdexcept>
#include <utility>
#include <vector>

#include "timing/measure.hpp"

namespace am {

class ScriptedSampler : public Sampler, public Clock {
 public:
  explicit ScriptedSampler(std::vector<double> ms) : ms_(std::move(ms)) {
    if (ms_.empty()) throw std::invalid_argument("samples_ms=[] is not allowed: give at least one time");
    for (double t : ms_)
      if (!(t > 0)) throw std::invalid_argument("samples_ms holds " + std::to_string(t) + ": times must be > 0 ms");
  }
  void take(int count, int repeat, std::vector<double>& out_ms) override {
    for (int i = 0; i < count; ++i) {
      const double t = ms_[taken_++ % ms_.size()];  // the script repeats when it runs out
      out_ms.push_back(t);
      now_s_ += t * repeat / 1e3;
    }
  }
  double now_s() override { return now_s_; }
  size_t taken() const { return taken_; }

 private:
  std::vector<double> ms_;
  size_t taken_ = 0;
  double now_s_ = 0;
};

}  // namespace am
