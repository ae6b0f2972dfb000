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
  // Which clock times a sample: "events" (CUDA events, or the steady clock on the host),
  // "cupti" (the device's start/end of every kernel, memset and memcpy the launch enqueued,
  // summed per sample), "auto" (CUPTI for cold samples shorter than auto_cupti_below_ms when
  // CUPTI can be used, events otherwise).
  std::string timer = "events";
  double auto_cupti_below_ms = 0.05;
  bool keep_samples = false;    // return every timed sample (and the event times under CUPTI)
  bool sample_windows = false;  // return each sample's host-clock window (to drop throttled ones)
  double pause_s = 0;           // idle before the warm-up (a settle pause between cases)

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
  // Called after the warm-up with its per-launch estimate: pick the clock (rule.timer).
  // This default (host samplers) refuses "cupti" and keeps its own clock otherwise.
  virtual void choose_timer(const StopRule& rule, double est_ms);
  // Why the requested timer is not the one that ran ("" when it is).
  virtual std::string timer_note() const { return ""; }
  // Under CUPTI: the CUDA-event time of each timed sample, per launch (else empty).
  virtual std::vector<double> event_samples_ms() const { return {}; }
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
  std::string timer;        // "cuda-event", "cuda-graph", "cupti", "steady-clock"
  std::string timer_requested = "events";
  std::string timer_note;   // why the requested timer did not run
  std::vector<double> event_samples_ms;  // under CUPTI: the event time of each sample
  std::vector<double> sample_t0_s, sample_t1_s;  // steady-clock window of each sample (sample_windows)
  bool keep_samples = false;
  double pause_s = 0;
};

Measurement run_measurement(Sampler& sampler, const StopRule& rule);

}  // namespace am
