// Peer-to-peer copies between two GPUs (membw kind "p2p"): by the copy engine
// (cudaMemcpyPeerAsync) or by an SM kernel on the sending GPU that writes into
// the receiver's memory, one way or both ways at once. Both ways: the reverse
// copy runs on the peer's stream, forked from and joined back into the timed
// stream with events, so one sample spans both.
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/rng.hpp"
#include "cuda/buffer.hpp"
#include "cuda/check.hpp"
#include "cuda/fill.hpp"
#include "cuda/membw_kernels.hpp"

namespace am::cuda {
namespace {

// Makes a device current for the scope, then restores the previous one.
class DeviceScope {
 public:
  explicit DeviceScope(int d) {
    AM_CUDA_CHECK(cudaGetDevice(&prev_));
    AM_CUDA_CHECK(cudaSetDevice(d));
  }
  ~DeviceScope() { cudaSetDevice(prev_); }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int prev_ = 0;
};

// An event without timing, created on (and destroyed with) a device.
class SyncEvent {
 public:
  explicit SyncEvent(int device) {
    DeviceScope g(device);
    AM_CUDA_CHECK(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming));
  }
  ~SyncEvent() { cudaEventDestroy(e_); }
  SyncEvent(const SyncEvent&) = delete;
  SyncEvent& operator=(const SyncEvent&) = delete;
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

// Lets `from` address `to`'s memory; false where the pair has no peer access.
bool enable_peer_access(int from, int to) {
  int can = 0;
  AM_CUDA_CHECK(cudaDeviceCanAccessPeer(&can, from, to));
  if (!can) return false;
  DeviceScope g(from);
  const cudaError_t e = cudaDeviceEnablePeerAccess(to, 0);
  if (e == cudaErrorPeerAccessAlreadyEnabled) cudaGetLastError();
  else AM_CUDA_CHECK(e);
  return true;
}

// One direction: a random source on `from`, a poisoned destination on `to`, and
// the stream of `from` that carries the copy.
struct Leg {
  int from, to;
  uint64_t seed;
  DeviceBuffer src, dst;
  cudaStream_t stream;
};

Leg make_leg(int from, int to, int64_t n, uint64_t seed) {
  const size_t bytes = size_t(n) * 4;
  Leg l{from, to, seed, {}, {}, nullptr};
  {
    DeviceScope g(from);
    l.stream = Context::get(from).stream();
    l.src = DeviceBuffer(bytes);
    fill_random(l.src.get(), Storage::f32, size_t(n), seed, l.stream);
    AM_CUDA_CHECK(cudaStreamSynchronize(l.stream));
  }
  DeviceScope g(to);
  l.dst = DeviceBuffer(bytes);
  AM_CUDA_CHECK(cudaMemset(l.dst.get(), 0xff, bytes));
  // cudaMemset may return before it is done, and the copies run on streams that do not wait for it.
  AM_CUDA_CHECK(cudaDeviceSynchronize());
  return l;
}

void enqueue(const Leg& l, int64_t n, bool kernel) {
  DeviceScope g(l.from);  // a kernel goes to a stream of the current device
  if (kernel) launch_copy_kernel(l.src.as<float>(), l.dst.as<float>(), n, l.stream);
  else AM_CUDA_CHECK(cudaMemcpyPeerAsync(l.dst.get(), l.to, l.src.get(), l.from, size_t(n) * 4, l.stream));
}

// The destination's probed elements against the source's values.
Verification check(const Leg& l, int64_t n, uint64_t probe_seed) {
  const std::vector<int64_t> off = probe_offsets(n, probe_seed);
  std::vector<float> all(static_cast<size_t>(n)), got(off.size());
  AM_CUDA_CHECK(cudaMemcpy(all.data(), l.dst.get(), size_t(n) * 4, cudaMemcpyDefault));
  for (size_t i = 0; i < off.size(); ++i) got[i] = all[size_t(off[i])];
  return check_copied(l.seed, off, got);
}

}  // namespace

RunResult run_p2p(Context& ctx, int device, const MembwSpec& s, const StopRule& rule, bool cold) {
  int count = 0;
  AM_CUDA_CHECK(cudaGetDeviceCount(&count));
  const int peer = s.peer;
  if (peer < 0 || peer >= count || peer == device)
    throw UnsupportedError("membw kind 'p2p' needs two CUDA devices (peer " + std::to_string(peer) + ")");
  const bool there = enable_peer_access(device, peer), back = enable_peer_access(peer, device);
  const bool kernel = s.p2p_kernel, both = s.bidirectional;
  if (kernel && !(there && (back || !both)))
    throw UnsupportedError(
        "GPUs " + std::to_string(device) + " and " + std::to_string(peer) +
        " have no peer access: an SM kernel cannot write into the other's memory (the copy engine can)");

  const int64_t n = s.n;
  Leg fwd = make_leg(device, peer, n, operand_seed(s.seed, 0));
  Leg rev = both ? make_leg(peer, device, n, operand_seed(s.seed, 1)) : Leg{peer, device, 0, {}, {}, nullptr};
  SyncEvent fork(device), join(peer);
  AM_CUDA_CHECK(cudaSetDevice(device));
  auto launch = [&](cudaStream_t st) {
    if (both) {
      AM_CUDA_CHECK(cudaEventRecord(fork.get(), st));
      AM_CUDA_CHECK(cudaStreamWaitEvent(rev.stream, fork.get(), 0));
      enqueue(rev, n, kernel);
      DeviceScope g(peer);
      AM_CUDA_CHECK(cudaEventRecord(join.get(), rev.stream));
    }
    enqueue(fwd, n, kernel);
    if (both) AM_CUDA_CHECK(cudaStreamWaitEvent(st, join.get(), 0));
  };
  launch(fwd.stream);
  AM_CUDA_CHECK(cudaStreamSynchronize(fwd.stream));

  Verification v = check(fwd, n, s.seed);
  if (both) {
    const Verification r = check(rev, n, s.seed);
    v.nonfinite += r.nonfinite;
    v.checked += r.checked;
    v.rel_error = std::max(v.rel_error, r.rel_error);
  }
  require_passed(v, "membw p2p");

  RunResult r = time_copy(ctx, fwd.stream, launch, cold, rule, v);
  r.extra["kernel"] = kernel ? "stream_copy (SM kernel on the sending GPU)" : "cudaMemcpyPeerAsync";
  r.extra["method"] = kernel ? "kernel" : "copy";
  r.extra["direction"] = both ? "both" : "one";
  r.extra["peer_access"] = there ? "yes" : "no";
  return r;
}

}  // namespace am::cuda
