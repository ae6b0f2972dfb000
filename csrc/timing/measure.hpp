// The measurement loop shared by every timer: warm up, then take samples in
// chunks until the median's confidence interval is tight enough or a budget
// runs out. Timers (CPU clock, CUDA events) implement Sampler.
#pragma once
#include <string>
#include <vector>

#include "timing/stats.hpp"

namespace am {

struct StopRule {
  double target_rel_ci = 0.01;  // stop when the 95% CI half-width of the median is below this
  int min_samples = 10;
  int max_samples = 100000;
  double min_time_s = 0.1;   // measure at least this long (wall clock, timed loop only)
  double max_time_s = 10.0;  // and at most this long
  // Warm-up: at least warmup_s, then on until the median of the last settle window
  // is within settle_tol of the window before (a power-capped GPU's clock ramps and
  // sags for a while after work starts), but no longer than warmup_max_s.
  double warmup_s = 0.2;
  double warmup_max_s = 2.0;
  double settle_window_s = 0.1;
  double settle_tol = 0.01;
  int warmup_min = 2;        // samples at least, whatever the times
  int warmup_max = 1000000;  // samples at most
  int repeat = 0;            // launches per sample; 0 = choose so a sample lasts >= min_sample_ms
  double min_sample_ms = 0.1;
  int max_repeat = 10000;

  void validate() const;  // throws std::invalid_argument naming the bad field
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  // Run `count` samples of `repeat` launches each; append per-launch times in ms.
  virtual void take(int count, int repeat, std::vector<double>& out_ms) = 0;
  // Whether samples may hold several launches (cold mode forbids it: only the
  // first launch after an L2 flush would be cold).
  virtual bool can_repeat() const { return true; }
  // Called once the repeat count is fixed, before timed samples (e.g. to capture a graph).
  virtual void prepare(int /*repeat*/) {}
};

struct Measurement {
  std::vector<double> samples_ms;  // per launch
  Stats stats;
  int repeat = 1;           // launches per sample
  int warmup_samples = 0;
  double warmup_wall_s = 0; // wall time of the warm-up
  bool settled = false;     // the warm-up ended because the times settled (not at warmup_max_s)
  double wall_s = 0;        // wall time of the timed loop
  bool converged = false;   // target_rel_ci was reached
  std::string timer;        // "cuda-event", "cuda-graph", "steady-clock"
};

Measurement run_measurement(Sampler& sampler, const StopRule& rule);

}  // namespace am
