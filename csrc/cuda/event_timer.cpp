#include "cuda/event_timer.hpp"

#include "cuda/check.hpp"

namespace am::cuda {

EventSampler::EventSampler(Context& ctx, cudaStream_t stream, Launch launch, bool cold, bool graph)
    : ctx_(ctx), stream_(stream), launch_(std::move(launch)), cold_(cold), graph_(graph) {}

EventSampler::~EventSampler() {
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
  for (int s = 0; s < count; ++s) {
    if (cold_) ctx_.flush_l2(stream_);
    AM_CUDA_CHECK(cudaEventRecord(start_[s], stream_));
    if (use_graph) {
      AM_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
    } else {
      for (int r = 0; r < repeat; ++r) launch_(stream_);
    }
    AM_CUDA_CHECK(cudaEventRecord(stop_[s], stream_));
  }
  AM_CUDA_CHECK(cudaEventSynchronize(stop_[count - 1]));
  for (int s = 0; s < count; ++s) {
    float ms = 0;
    AM_CUDA_CHECK(cudaEventElapsedTime(&ms, start_[s], stop_[s]));
    out.push_back(double(ms) / repeat);
  }
}

}  // namespace am::cuda
