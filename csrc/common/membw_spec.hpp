// Memory-bandwidth benchmark kinds (the STREAM kernels, a pure read and a pure
// write, and host/device transfers) and their reference check, shared by the
// CPU and CUDA back ends. Three arrays a, b, c of `n` fp32 elements; q = 3.
//   read   sum(a)            (one partial sum per block/thread: nothing is dead code)
//   write  a = q
//   copy   c = a
//   scale  b = q * c
//   add    c = a + b
//   triad  a = b + q * c
//   dot    sum(a * b)
//   h2d, d2h, d2d, p2p: one buffer copied between host and device, within a
//   device (cudaMemcpyAsync), or between two devices (peer copy).
// Bytes moved per pass = n * 4 * (arrays read + arrays written).
#pragma once
#include <cstdint>
#include <string>

namespace am {

enum class MembwKind : int { read = 0, write, copy, scale, add, triad, dot, h2d, d2h, d2d, p2p };

struct MembwInfo {
  const char* name;
  int reads, writes;   // arrays read and written per pass
  bool reduces;        // writes partial sums instead of an array
  bool transfer;       // a copy engine transfer, not a kernel
  int flops_per_elem;  // arithmetic per element (add/mul = 1, fma = 2)
  // Which arrays (bit 0 = a, 1 = b, 2 = c) are inputs; the output array, or -1.
  int in_mask, out;
};

MembwKind parse_membw_kind(const std::string& name);  // throws std::invalid_argument
const MembwInfo& membw_info(MembwKind k);

constexpr float kMembwScalar = 3.0f;
// The most sweeps one launch makes (aimatrix.micro.membw.MAX_PASSES): more only lengthen a launch.
constexpr int kMembwMaxPasses = 1 << 16;

struct MembwSpec {
  MembwKind kind = MembwKind::copy;
  int64_t n = 0;               // fp32 elements per array
  int passes = 1;              // sweeps over the arrays per launch (small arrays: the caches, not the launch)
  bool pinned = true;          // h2d/d2h: page-locked host buffer, else pageable
  int peer = -1;               // p2p: the other device
  bool p2p_kernel = false;     // p2p: an SM copy kernel writes into the peer's memory (else the copy engine)
  bool bidirectional = false;  // p2p: both directions at once (the bytes of both counted)
  // Device kernels: "ldst" (each thread's 16-byte loads and stores), "tma" (Hopper's bulk asynchronous copies
  // between global and shared memory; copy, scale, add and triad in one pass) or "auto" (the faster where measured).
  std::string kernel = "auto";
  uint64_t seed = 0;
  double bytes() const;  // moved per launch: n * 4 * (reads + writes) * passes (x2 both ways)
  void validate() const;
  bool tma_capable() const;  // a kind and pass count the "tma" kernels run
};

// Relative error allowed: elementwise kinds are exact up to a fused multiply-add's
// rounding; sums are compared with sum(|terms|) as the scale.
constexpr double kMembwElemTol = 1e-6, kMembwSumTol = 1e-5;

// sqrt(sum (out - want)^2 / sum want^2) over probed elements; the input arrays'
// probed elements (nullptr for arrays the kind does not read).
double membw_probe_error(MembwKind k, const float* a, const float* b, const float* c, const float* out, size_t count);

// The value element i of the output should hold, from the inputs' element i.
inline double membw_expected(MembwKind k, double a, double b, double c) {
  switch (k) {
    case MembwKind::write: return kMembwScalar;
    case MembwKind::copy: return a;
    case MembwKind::scale: return double(kMembwScalar) * c;
    case MembwKind::add: return a + b;
    case MembwKind::triad: return b + double(kMembwScalar) * c;
    default: return a;  // transfers copy their one buffer
  }
}

}  // namespace am
