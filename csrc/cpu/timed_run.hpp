// The end of every CPU runner: time a verified host kernel with the steady clock,
// evicting the caches before each sample in cold mode.
#pragma once
#include <functional>
#include <string>

#include "common/run_result.hpp"
#include "cpu/cache_flush.hpp"
#include "timing/cpu_timer.hpp"

namespace am::cpu {

inline RunResult time_verified(const std::function<void()>& fn, const StopRule& rule, bool cold, const Verification& v,
                               const std::string& info_key, const std::string& info,
                               const std::string& backend = "cpu") {
  CpuSampler sampler(fn);
  CacheFlusher flush;
  if (cold) sampler.set_before_each([&] { flush(); });
  RunResult r;
  r.measurement = run_measurement(sampler, rule);
  r.measurement.timer = "steady-clock";
  r.verify = v;
  r.backend = backend;
  r.extra[info_key] = info;
  return r;
}

}  // namespace am::cpu
