#include "timing/measure.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/errors.hpp"

namespace am {

void StopRule::validate() const {
  auto bad = [](const std::string& field, double v, const std::string& allowed) {
    std::ostringstream os;
    os << field << "=" << v << " is not allowed: " << allowed;
    throw std::invalid_argument(os.str());
  };
  // NaN and infinity refused by name (an infinite warm-up or budget never ends).
  const std::pair<const char*, double> numbers[] = {
      {"target", target_rel_ci},    {"min_time", min_time_s}, {"max_time", max_time_s},        {"warmup", warmup_s},
      {"warmup_max", warmup_max_s}, {"settle", settle_tol},   {"min_sample_ms", min_sample_ms}};
  for (auto [name, v] : numbers)
    if (!std::isfinite(v)) bad(name, v, "it must be a finite number");
  if (!(target_rel_ci > 0 && target_rel_ci < 1)) bad("target", target_rel_ci, "it must be in (0, 1)");
  if (min_samples < 1) bad("min_samples", min_samples, "it must be >= 1");
  if (max_samples < min_samples) bad("max_samples", max_samples, "it must be >= min_samples");
  if (!(min_time_s >= 0)) bad("min_time", min_time_s, "it must be >= 0 seconds");
  if (!(max_time_s > 0) || max_time_s < min_time_s) bad("max_time", max_time_s, "it must be > 0 and >= min_time");
  if (!(warmup_s >= 0)) bad("warmup", warmup_s, "it must be >= 0 seconds");
  if (!(warmup_max_s >= warmup_s)) bad("warmup_max", warmup_max_s, "it must be >= warmup");
  if (!(settle_tol > 0) || !(settle_window_s > 0)) bad("settle", settle_tol, "it must be > 0");
  if (warmup_min < 1) bad("min_warmup_samples", warmup_min, "it must be >= 1");
  if (warmup_max < warmup_min) bad("warmup_max", warmup_max, "it must be >= min_warmup_samples");
  if (repeat < 0 || repeat > max_repeat)
    bad("repeat", repeat, "it must be 0 (auto) or 1.." + std::to_string(max_repeat));
  if (!(min_sample_ms > 0)) bad("min_sample_ms", min_sample_ms, "it must be > 0");
  if (timer != "events" && timer != "cupti" && timer != "auto")
    throw std::invalid_argument("timer='" + timer + "' is not allowed: expected one of events, cupti, auto");
  if (!(pause_s >= 0)) bad("pause", pause_s, "it must be >= 0 seconds");
}

void Sampler::choose_timer(const StopRule& rule, double /*est_ms*/) {
  if (rule.timer == "cupti")
    throw UnsupportedError(
        "timer='cupti' times GPU kernels: this benchmark is timed on the host clock "
        "(a CPU device, or launch overhead); use timer='events' or 'auto'");
}

namespace {
class SteadyClock : public Clock {
 public:
  double now_s() override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
};
}  // namespace

Measurement run_measurement(Sampler& sampler, const StopRule& rule) {
  SteadyClock clock;
  return run_measurement(sampler, rule, clock);
}

Measurement run_measurement(Sampler& sampler, const StopRule& rule, Clock& clock) {
  auto since = [&clock](double t0) { return clock.now_s() - t0; };
  rule.validate();
  Measurement m;
  m.timer_requested = rule.timer;
  m.keep_samples = rule.keep_samples;
  m.pause_s = rule.pause_s;
  if (rule.pause_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(rule.pause_s));
  std::vector<double> buf;

  // Warm-up with one launch per sample: module loading, handle creation and
  // clock ramp-up stay out of the numbers; it also gives a first estimate.
  double t0 = clock.now_s();
  double window_t0 = t0;
  size_t window_begin = 0;
  double prev_window = -1;
  while (m.warmup_samples < rule.warmup_max) {
    sampler.take(1, 1, buf);
    ++m.warmup_samples;
    const double elapsed = since(t0);
    if (m.warmup_samples < rule.warmup_min) continue;
    if (elapsed >= rule.warmup_max_s) break;
    if (since(window_t0) < rule.settle_window_s) continue;
    // A window is complete: compare its median with the previous window's.
    const double cur = compute_stats(std::vector<double>(buf.begin() + long(window_begin), buf.end())).median;
    if (elapsed >= rule.warmup_s && prev_window > 0 && std::abs(cur - prev_window) <= rule.settle_tol * prev_window) {
      m.settled = true;
      break;
    }
    prev_window = cur;
    window_begin = buf.size();
    window_t0 = clock.now_s();
  }
  m.warmup_wall_s = since(t0);
  // The estimate comes from the end of the warm-up, where the clocks are.
  if (buf.size() > 8) buf.erase(buf.begin(), buf.end() - long(std::max<size_t>(8, buf.size() / 4)));
  const double est_ms = buf.empty() ? rule.min_sample_ms : compute_stats(buf).median;

  // Tiny kernels: several launches per sample so each sample is long enough
  // for the timer's resolution; the per-launch time is reported.
  m.repeat = rule.repeat;
  if (m.repeat == 0) {
    m.repeat = 1;
    if (sampler.can_repeat() && est_ms < rule.min_sample_ms)
      m.repeat = int(std::min<double>(rule.max_repeat, std::ceil(rule.min_sample_ms / std::max(est_ms, 1e-6))));
  } else if (!sampler.can_repeat()) {
    m.repeat = 1;
  }
  sampler.choose_timer(rule, est_ms);
  sampler.prepare(m.repeat);

  t0 = clock.now_s();
  double sample_s = std::max(est_ms * m.repeat, 1e-6) / 1e3;
  while (true) {
    const double elapsed = since(t0);
    const int n = int(m.samples_ms.size());
    if (n >= rule.min_samples && elapsed >= rule.min_time_s) {
      m.stats = compute_stats(m.samples_ms);
      if (m.stats.rel_ci <= rule.target_rel_ci) {
        m.converged = true;
        break;
      }
    }
    if (n >= rule.max_samples || (elapsed >= rule.max_time_s && n >= 1)) break;
    // Chunks of about 20 ms amortise the host synchronisation per chunk.
    const int chunk = int(std::clamp<double>(0.02 / sample_s, 1, 256));
    const int count = std::min(chunk, rule.max_samples - n);
    const double c0 = clock.now_s();
    sampler.take(count, m.repeat, m.samples_ms);
    const double c1 = clock.now_s();
    sample_s = std::max((c1 - c0) / count, 1e-7);
    if (rule.sample_windows) {  // a chunk's samples share its window: the host sees only the chunk
      m.sample_t0_s.resize(m.samples_ms.size(), c0);
      m.sample_t1_s.resize(m.samples_ms.size(), c1);
    }
  }
  m.wall_s = since(t0);
  m.timer_note = sampler.timer_note();
  m.event_samples_ms = sampler.event_samples_ms();
  m.stats = compute_stats(m.samples_ms);
  m.converged = m.stats.rel_ci <= rule.target_rel_ci;
  return m;
}

}  // namespace am
