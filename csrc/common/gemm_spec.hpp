// GEMM problem description shared by every backend, and the reference check.
// Convention: row-major C[m,n] = op(A)[m,k] * op(B)[k,n], `batch` independent
// problems stored back to back. A is stored [m,k] (or [k,m] when trans_a),
// B is stored [k,n] (or [n,k] when trans_b).
#pragma once
#include <cstdint>
#include <vector>

#include "common/dtype.hpp"

namespace am {

struct GemmSpec {
  int64_t m = 0, n = 0, k = 0, batch = 1;
  bool trans_a = false, trans_b = false;
  DType dtype = DType::f32;
  uint64_t seed = 0;

  int64_t a_elems() const { return m * k; }  // per batch
  int64_t b_elems() const { return k * n; }
  int64_t c_elems() const { return m * n; }
  // Offsets of op(A)(b,i,t) and op(B)(b,t,j) in elements.
  int64_t a_index(int64_t b, int64_t i, int64_t t) const { return b * a_elems() + (trans_a ? t * m + i : i * k + t); }
  int64_t b_index(int64_t b, int64_t t, int64_t j) const { return b * b_elems() + (trans_b ? j * k + t : t * n + j); }
  double flops() const { return 2.0 * double(m) * double(n) * double(k) * double(batch); }
  double bytes() const;   // inputs read once + output written once
  void validate() const;  // throws std::invalid_argument naming the bad value
};

// The output elements a check compares: a few batches x rows x columns.
struct GemmProbe {
  std::vector<int64_t> batches, rows, cols;
  int64_t count() const { return int64_t(batches.size() * rows.size() * cols.size()); }
};
GemmProbe make_gemm_probe(const GemmSpec& s, int max_rows = 32, int max_cols = 32);

// Gathered data for a probe, in the stored formats:
//   a_rows [nb][R][k] (input storage), b_cols [nb][C][k] (input storage),
//   c [nb][R][C] (output storage).
// Returns ||c - ref|| / ||ref|| with the reference computed in float64.
double gemm_probe_error(const GemmSpec& s, const GemmProbe& p, const std::vector<uint8_t>& a_rows,
                        const std::vector<uint8_t>& b_cols, const std::vector<uint8_t>& c);

}  // namespace am
