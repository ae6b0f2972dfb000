#include "cuda/event_timer.hpp"

#include "cuda/check.hpp"
#include "cuda/cupti_timer.hpp"

namespace am::cuda {

EventSampler::EventSampler(Context& ctx, cudaStream_t stream, Launch launch, bool cold, bool graph)
    : ctx_(ctx), stream_(stream), launch_(std::move(launch)), cold_(cold), graph_(graph) {}

EventSampler::~EventSampler() {
  if (cupti_) cupti::stop();
  for (auto e : start_) cudaEventDestroy(e);
  for (auto e : stop_) cudaEventDestroy(e);
  if (exec_) cudaGraphExecDestroy(exec_);
  if (g_) cudaGraphDestroy(g_);
}

void EventSampler::ensure_events(size_t n) {
  while (start_.size() < n) {
    cudaEvent_t a, b;
    AM_CUDA_CHECK(cudaEventCreate(&a));
    start_.push_back(a);
    AM_CUDA_CHECK(cudaEventCreate(&b));
    stop_.push_back(b);
  }
}

void EventSampler::choose_timer(const StopRule& rule, double est_ms) {
  if (rule.timer == "events") return;
  if (rule.timer == "auto" && !(cold_ && est_ms < rule.auto_cupti_below_ms)) return;  // events are exact enough
  const std::string why = cupti::start();
  if (why.empty()) {
    cupti_ = true;
  } else if (rule.timer == "cupti") {
    throw UnsupportedError("timer='cupti' cannot run: " + why);
  } else {
    note_ = "CUPTI unavailable, timed with CUDA events: " + why;
  }
}

void EventSampler::prepare(int repeat) {
  if (!graph_ || repeat <= 1) return;
  AM_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  try {
    for (int r = 0; r < repeat; ++r) launch_(stream_);
  } catch (...) {
    cudaGraph_t g = nullptr;
    cudaStreamEndCapture(stream_, &g);
    if (g) cudaGraphDestroy(g);
    cudaGetLastError();
    throw;
  }
  AM_CUDA_CHECK(cudaStreamEndCapture(stream_, &g_));
  AM_CUDA_CHECK(cudaGraphInstantiate(&exec_, g_, 0));
  graph_repeat_ = repeat;
  // One untimed replay uploads the graph, so the first timed one is not slower.
  AM_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
  AM_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void EventSampler::take(int count, int repeat, std::vector<double>& out) {
  ensure_events(size_t(count));
  const bool use_graph = exec_ && repeat == graph_repeat_;
  ids_.clear();
  for (int s = 0; s < count; ++s) {
    if (cold_) ctx_.flush_l2(stream_);
    AM_CUDA_CHECK(cudaEventRecord(start_[s], stream_));
    if (cupti_) ids_.push_back(cupti::push());  // tags only the launches: not the flush, not the events
    try {
      if (use_graph) {
        AM_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
      } else {
        for (int r = 0; r < repeat; ++r) launch_(stream_);
      }
    } catch (...) {
      if (cupti_) try {
          cupti::pop(ids_.back());
        } catch (...) {  // the launch's own error is the one to report
        }
      throw;
    }
    if (cupti_) cupti::pop(ids_.back());
    AM_CUDA_CHECK(cudaEventRecord(stop_[s], stream_));
  }
  AM_CUDA_CHECK(cudaEventSynchronize(stop_[count - 1]));
  std::vector<double>& event_out = cupti_ ? events_ms_ : out;
  for (int s = 0; s < count; ++s) {
    float ms = 0;
    AM_CUDA_CHECK(cudaEventElapsedTime(&ms, start_[s], stop_[s]));
    event_out.push_back(double(ms) / repeat);
  }
  if (cupti_) {
    AM_CUDA_CHECK(cudaDeviceSynchronize());  // a callable may have launched on other streams too
    for (double ms : cupti::take_ms(ids_)) out.push_back(ms / repeat);
  }
}

}  // namespace am::cuda
