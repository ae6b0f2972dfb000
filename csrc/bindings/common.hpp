// Conversions shared by the binding modules: Python exceptions for the native
// error types, timing options from a dict, results to dicts. No logic.
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <type_traits>

#include "common/errors.hpp"
#include "common/run_result.hpp"
#include "timing/measure.hpp"

namespace am::bind {
namespace nb = nanobind;

inline void raise_py(const char* cls_name, const char* msg, const char* status = nullptr) {
  nb::object cls = nb::module_::import_("aimatrix.errors").attr(cls_name);
  nb::object exc = status ? cls(msg, status) : cls(msg);
  PyErr_SetObject(cls.ptr(), exc.ptr());
}

inline void register_errors() {
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const am::CudaError& e) {
      raise_py("CudaError", e.what(), e.status.c_str());
    } catch (const am::OutOfMemoryError& e) {
      raise_py("OutOfMemoryError", e.what());
    } catch (const am::UnsupportedError& e) {
      raise_py("UnsupportedError", e.what());
    } catch (const am::VerificationError& e) { raise_py("VerificationError", e.what()); }
  });
}

// A timing option's value as T, or a ValueError naming it (not nanobind's bare std::bad_cast).
template <class T>
T option(const std::string& key, nb::handle value) {
  T out{};
  if (!nb::try_cast(value, out))
    throw std::invalid_argument(key + "=" + nb::cast<std::string>(nb::repr(value)) + " is not allowed: it must be " +
                                (std::is_same_v<T, bool>       ? "True or False"
                                 : std::is_same_v<T, uint64_t> ? "an integer in 0..2^64 - 1"
                                 : std::is_integral_v<T>       ? "an integer in -2^31..2^31 - 1"
                                                               : "a number"));
  return out;
}

// A StopRule from aimatrix.timing's options (names and fields: StopRule::each_option).
inline StopRule stop_rule(const nb::dict& d) {
  StopRule r;
  for (auto [key, value] : d) {
    const std::string k = nb::cast<std::string>(key);
    bool known = false;
    StopRule::each_option(r, [&](const char* name, auto& field) {
      using T = std::decay_t<decltype(field)>;
      if (known || k != name) return;
      known = true;
      if constexpr (std::is_same_v<T, std::string>) field = nb::cast<std::string>(value);
      else field = option<T>(k, value);
    });
    if (!known) throw std::invalid_argument("unknown timing option '" + k + "'");
  }
  return r;
}

// The options' defaults by name: aimatrix.timing.DEFAULTS.
inline nb::dict stop_rule_defaults() {
  nb::dict d;
  const StopRule r;
  StopRule::each_option(r, [&](const char* name, const auto& field) { d[name] = field; });
  return d;
}

inline nb::dict to_dict(const Measurement& m) {
  nb::dict s;
  s["n"] = m.stats.n;
  s["median_ms"] = m.stats.median;
  s["mean_ms"] = m.stats.mean;
  s["min_ms"] = m.stats.min;
  s["max_ms"] = m.stats.max;
  s["stdev_ms"] = m.stats.stdev;
  s["p10_ms"] = m.stats.p10;
  s["p90_ms"] = m.stats.p90;
  s["ci_lo_ms"] = m.stats.ci_lo;
  s["ci_hi_ms"] = m.stats.ci_hi;
  s["rel_ci"] = m.stats.rel_ci;
  s["converged"] = m.converged;
  s["repeat"] = m.repeat;
  s["warmup_samples"] = m.warmup_samples;
  s["warmup_s"] = m.warmup_wall_s;
  s["settled"] = m.settled;
  s["wall_s"] = m.wall_s;
  s["timer"] = m.timer;
  s["timer_requested"] = m.timer_requested;
  if (!m.timer_note.empty()) s["timer_note"] = m.timer_note;
  if (m.pause_s > 0) s["pause_s"] = m.pause_s;
  if (!m.event_samples_ms.empty()) {  // CUPTI ran: the event time stays visible beside it
    const Stats ev = compute_stats(m.event_samples_ms);
    s["event_median_ms"] = ev.median;
    s["event_rel_ci"] = ev.rel_ci;
  }
  if (m.keep_samples) {
    s["samples_ms"] = m.samples_ms;
    if (!m.event_samples_ms.empty()) s["event_samples_ms"] = m.event_samples_ms;
  }
  nb::dict d;
  d["stats"] = s;
  d["samples_ms"] = m.samples_ms;
  if (!m.sample_t0_s.empty()) {
    d["sample_t0_s"] = m.sample_t0_s;
    d["sample_t1_s"] = m.sample_t1_s;
  }
  return d;
}

inline nb::dict to_dict(const RunResult& r) {
  nb::dict d = to_dict(r.measurement);
  nb::dict v;
  v["rel_error"] = r.verify.rel_error;
  v["tolerance"] = r.verify.tolerance;
  v["checked"] = r.verify.checked;
  v["nonfinite"] = r.verify.nonfinite;
  v["passed"] = r.verify.passed();
  d["verify"] = v;
  d["backend"] = r.backend;
  d["extra"] = r.extra;
  return d;
}

}  // namespace am::bind
