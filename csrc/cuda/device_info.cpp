#include "cuda/device_info.hpp"

#include "cuda/context.hpp"
#include "cuda/event_timer.hpp"

namespace am::cuda {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

Measurement measure_callable(int device, long long stream, bool cold, std::function<void()> fn, const StopRule& rule) {
  Context& ctx = Context::get(device);
  auto st = reinterpret_cast<cudaStream_t>(stream);
  // The callable's own launches are not capturable in general: no graph.
  EventSampler sampler(ctx, st, [&](cudaStream_t) { fn(); }, cold, /*graph=*/false);
  Measurement m = run_measurement(sampler, rule);
  m.timer = sampler.timer_name();
  return m;
}

}  // namespace am::cuda
