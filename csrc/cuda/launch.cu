// Launch latency: the host-side cost of an empty kernel launch, of a CUDA-graph
// launch, and of a launch + synchronize round trip, timed with a steady clock.
// Between samples the stream is synchronised (untimed), so launches never wait
// for a full queue: what is timed is the launch call itself.
#include <chrono>
#include <string>

#include "cuda/check.hpp"
#include "cuda/micro.hpp"
#include "timing/measure.hpp"

namespace am::cuda {
namespace {

__global__ void empty_kernel() {}

enum class LaunchKind { empty, graph, sync };

class LaunchSampler : public Sampler {
 public:
  LaunchSampler(cudaStream_t st, LaunchKind k) : st_(st), kind_(k) {
    if (kind_ == LaunchKind::graph) {
      AM_CUDA_CHECK(cudaStreamBeginCapture(st_, cudaStreamCaptureModeThreadLocal));
      empty_kernel<<<1, 1, 0, st_>>>();
      cudaGraph_t g = nullptr;
      AM_CUDA_CHECK(cudaStreamEndCapture(st_, &g));
      graph_ = g;
      AM_CUDA_CHECK(cudaGraphInstantiate(&exec_, graph_, 0));
      AM_CUDA_CHECK(cudaGraphUpload(exec_, st_));
    }
  }
  ~LaunchSampler() override {
    if (exec_) cudaGraphExecDestroy(exec_);
    if (graph_) cudaGraphDestroy(graph_);
  }
  LaunchSampler(const LaunchSampler&) = delete;
  LaunchSampler& operator=(const LaunchSampler&) = delete;

  void take(int count, int repeat, std::vector<double>& out) override {
    for (int s = 0; s < count; ++s) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < repeat; ++r) one();
      const auto t1 = std::chrono::steady_clock::now();
      AM_CUDA_CHECK_LAUNCH();
      AM_CUDA_CHECK(cudaStreamSynchronize(st_));
      out.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count() / repeat);
    }
  }

 private:
  void one() {
    switch (kind_) {
      case LaunchKind::empty: empty_kernel<<<1, 1, 0, st_>>>(); break;
      case LaunchKind::graph: cudaGraphLaunch(exec_, st_); break;
      case LaunchKind::sync:
        empty_kernel<<<1, 1, 0, st_>>>();
        cudaStreamSynchronize(st_);
        break;
    }
  }
  cudaStream_t st_;
  LaunchKind kind_;
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace

RunResult run_launch(int device, const std::string& kind, const StopRule& rule) {
  rule.validate();
  const LaunchKind k =
      kind == "empty"   ? LaunchKind::empty
      : kind == "graph" ? LaunchKind::graph
      : kind == "sync"
          ? LaunchKind::sync
          : throw std::invalid_argument("kind='" + kind + "' is not allowed: expected one of empty, graph, sync");
  Context& ctx = Context::get(device);
  LaunchSampler sampler(ctx.stream(), k);
  RunResult r;
  r.measurement = run_measurement(sampler, rule);
  r.measurement.timer = "steady-clock";
  r.verify.checked = 0;  // nothing to check: the kernel does nothing (its launch errors are checked)
  r.backend = "cuda";
  r.extra["kernel"] = kind == "graph" ? "cudaGraphLaunch(1 empty kernel)" : "empty_kernel<<<1,1>>>";
  return r;
}

}  // namespace am::cuda
