// CUDA-event sampler: events recorded on the benchmark's stream around each
// sample; the timed region holds only device work. Several launches per sample
// are captured into one CUDA graph so tiny kernels run back to back instead of
// at the host's launch rate. Cold mode flushes L2 before each sample.
// With the CUPTI timer (StopRule::timer) a sample's time is instead the sum of the
// device durations of what its launches enqueued (cuda/cupti_timer.hpp): the gap
// the events also time after a cold sample's L2 flush is left out; the event times
// are kept beside it.
#pragma once
#include <cuda_runtime.h>

#include <functional>
#include <string>
#include <vector>

#include "cuda/context.hpp"
#include "timing/measure.hpp"

namespace am::cuda {

class EventSampler : public Sampler {
 public:
  using Launch = std::function<void(cudaStream_t)>;
  // graph: capture `repeat` launches into a graph when repeat > 1 (the launch
  // must be capturable: no allocation or host sync inside).
  EventSampler(Context& ctx, cudaStream_t stream, Launch launch, bool cold, bool graph);
  ~EventSampler() override;
  EventSampler(const EventSampler&) = delete;
  EventSampler& operator=(const EventSampler&) = delete;

  void take(int count, int repeat, std::vector<double>& out_ms) override;
  bool can_repeat() const override { return !cold_; }
  void prepare(int repeat) override;
  void choose_timer(const StopRule& rule, double est_ms) override;
  std::string timer_note() const override { return note_; }
  std::vector<double> event_samples_ms() const override { return events_ms_; }
  const char* timer_name() const { return cupti_ ? "cupti" : exec_ ? "cuda-graph" : "cuda-event"; }

 private:
  void ensure_events(size_t n);
  Context& ctx_;
  cudaStream_t stream_;
  Launch launch_;
  bool cold_, graph_;
  std::vector<cudaEvent_t> start_, stop_;
  cudaGraph_t g_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
  int graph_repeat_ = 0;
  bool cupti_ = false;
  std::string note_;
  std::vector<double> events_ms_;  // under CUPTI, the event time of each timed sample
  std::vector<uint64_t> ids_;
};

}  // namespace am::cuda
