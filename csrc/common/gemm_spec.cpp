#include "common/gemm_spec.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "common/rng.hpp"
#include "common/verify.hpp"

namespace am {

double GemmSpec::bytes() const {
  const double in = double(storage_bytes(input_storage(dtype)));
  const double out = double(storage_bytes(output_storage(dtype)));
  return double(batch) * (in * double(a_elems() + b_elems()) + out * double(c_elems()));
}

void GemmSpec::validate() const {
  const std::pair<const char*, int64_t> dims[] = {{"m", m}, {"n", n}, {"k", k}, {"batch", batch}};
  for (auto [name, v] : dims)
    if (v < 1)
      throw std::invalid_argument(std::string(name) + "=" + std::to_string(v) +
                                  " is not allowed: it must be a positive integer");
  // Every operand's bytes, batch included, in 64-bit integers (m = k = 2^31 with batch 4 wraps to 0 elements).
  const int64_t in = int64_t(storage_bytes(input_storage(dtype))), out = int64_t(storage_bytes(output_storage(dtype)));
  const struct {
    const char* expr;
    int64_t x, y, size;
  } ops[] = {{"m*k*batch", m, k, in}, {"k*n*batch", k, n, in}, {"m*n*batch", m, n, out}};
  for (const auto& o : ops) {
    int64_t r;
    if (__builtin_mul_overflow(o.x, o.y, &r) || __builtin_mul_overflow(r, batch, &r) ||
        __builtin_mul_overflow(r, o.size, &r))
      throw std::invalid_argument(std::string(o.expr) + "=" + std::to_string(o.x) + "*" + std::to_string(o.y) + "*" +
                                  std::to_string(batch) + " is not allowed: its bytes must fit in 2^63 - 1");
  }
  if (bytes() > 9.2e18) throw std::invalid_argument("gemm operands together are not allowed past 2^63 - 1 bytes");
}

GemmProbe make_gemm_probe(const GemmSpec& s, int max_rows, int max_cols) {
  GemmProbe p;
  p.batches = distinct_picks(s.batch, 3, s.seed + 1, 0xABCDull);
  p.rows = distinct_picks(s.m, max_rows, s.seed + 2, 0xABCDull);
  p.cols = distinct_picks(s.n, max_cols, s.seed + 3, 0xABCDull);
  return p;
}

double gemm_probe_error(const GemmSpec& s, const GemmProbe& p, const std::vector<uint8_t>& a_rows,
                        const std::vector<uint8_t>& b_cols, const std::vector<uint8_t>& c) {
  const Storage in = input_storage(s.dtype), out = output_storage(s.dtype);
  const size_t ib = storage_bytes(in), ob = storage_bytes(out);
  const size_t nb = p.batches.size(), R = p.rows.size(), C = p.cols.size(), K = size_t(s.k);
  if (a_rows.size() != nb * R * K * ib || b_cols.size() != nb * C * K * ib || c.size() != nb * R * C * ob)
    throw std::logic_error("gemm_probe_error: gathered buffers have the wrong size");
  std::vector<double> a(nb * R * K), b(nb * C * K);
  for (size_t i = 0; i < a.size(); ++i) a[i] = load_as_double(in, a_rows.data() + i * ib);
  for (size_t i = 0; i < b.size(); ++i) b[i] = load_as_double(in, b_cols.data() + i * ib);
  RelError e;
  for (size_t bi = 0; bi < nb; ++bi)
    for (size_t r = 0; r < R; ++r)
      for (size_t q = 0; q < C; ++q) {
        const double* ar = &a[(bi * R + r) * K];
        const double* bc = &b[(bi * C + q) * K];
        double ref = 0.0;
        for (size_t t = 0; t < K; ++t) ref += ar[t] * bc[t];
        if (!e.add(load_as_double(out, c.data() + ((bi * R + r) * C + q) * ob), ref)) return INFINITY;
      }
  return e.value();
}

}  // namespace am
