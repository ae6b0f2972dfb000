// The measurement loop shared by every timer: warm up, then take samples in
// chunks until the median's confidence interval is tight enough or a budget
// runs out. Timers (CPU clock, CUDA events) implement Sampler.
#pragma once
#include <string>
#include <vector>

#include "timing/stats.hpp"

namespace am {

// The stopping rule. These defaults are the product's (aimatrix.timing.DEFAULTS reads them through the
// bindings): the one copy of them.
struct StopRule {
  double target_rel_ci = 0.01;  // stop when the 95% CI half-width of the median is below this
  int min_samples = 10;
  int max_samples = 100000;
  // Long on purpose: on an H100 at its 700 W cap a 4096^3 bf16 GEMM's median moved 5% run to run with
  // 0.3 s of warm-up and 0.5 s of samples, 0.2% with 2 s of each, as the clock settles under the cap
  // (bench/stability.py, bench/CHANGELOG.md).
  double min_time_s = 2.0;   // measure at least this long (timed loop only)
  double max_time_s = 10.0;  // and at most this long
  // Warm-up: at least warmup_s, then on until the median of the last settle window
  // is within settle_tol of the window before (a power-capped GPU's clock ramps and
  // sags for a while after work starts), but no longer than warmup_max_s.
  double warmup_s = 2.0;
  double warmup_max_s = 4.0;
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
  // CUPTI can be used, events otherwise: below it the gap the events also time after the L2
  // flush is a visible part of a sample, bench/CHANGELOG.md, issue 3).
  std::string timer = "events";
  double auto_cupti_below_ms = 0.05;
  bool keep_samples = false;    // return every timed sample (and the event times under CUPTI)
  bool sample_windows = false;  // return each sample's host-clock window (to drop throttled ones)
  double pause_s = 0;           // idle before the warm-up (a settle pause between cases)

  void validate() const;  // throws std::invalid_argument naming the bad field

  // Every option a user sets, by its name in aimatrix.timing: f(name, field) for each. The bindings
  // parse options and list the defaults through this, so the names and defaults live here alone.
  template <class Rule, class F>
  static void each_option(Rule& r, F&& f) {
    f("target", r.target_rel_ci);
    f("min_samples", r.min_samples);
    f("max_samples", r.max_samples);
    f("min_time", r.min_time_s);
    f("max_time", r.max_time_s);
    f("warmup", r.warmup_s);
    f("warmup_max", r.warmup_max_s);
    f("min_warmup_samples", r.warmup_min);
    f("settle", r.settle_tol);
    f("repeat", r.repeat);
    f("min_sample_ms", r.min_sample_ms);
    f("timer", r.timer);
    f("auto_cupti_below_ms", r.auto_cupti_below_ms);
    f("keep_samples", r.keep_samples);
    f("discard_throttled", r.sample_windows);  // dropping throttled samples needs each one's window
    f("pause", r.pause_s);
  }
};

// The clock the loop reads, in seconds: the steady clock, or a scripted one in tests.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual double now_s() = 0;
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
  int repeat = 1;  // launches per sample
  int warmup_samples = 0;
  double warmup_wall_s = 0;  // wall time of the warm-up
  bool settled = false;      // the warm-up ended because the times settled (not at warmup_max_s)
  double wall_s = 0;         // wall time of the timed loop
  bool converged = false;    // target_rel_ci was reached
  std::string timer;         // "cuda-event", "cuda-graph", "cupti", "steady-clock"
  std::string timer_requested = "events";
  std::string timer_note;                        // why the requested timer did not run
  std::vector<double> event_samples_ms;          // under CUPTI: the event time of each sample
  std::vector<double> sample_t0_s, sample_t1_s;  // steady-clock window of each sample (sample_windows)
  bool keep_samples = false;
  double pause_s = 0;
};

Measurement run_measurement(Sampler& sampler, const StopRule& rule);  // on the steady clock
Measurement run_measurement(Sampler& sampler, const StopRule& rule, Clock& clock);

}  // namespace am
