#include "synth/ga.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "common/errors.hpp"
#include "common/rng.hpp"

namespace am::synth {

namespace {

constexpr uint64_t kGenStep = 0x632BE59BD9B4E019ull;
constexpr uint32_t kSlotCross = 0x1000, kSlotMut = 0x2000;
// Below this many genes per generation, a generation (~0.5 ms at 5000 x 5) is too short for OpenMP's
// fork/join: on a shared 2-core machine the barriers alone cost more than the whole GA.
constexpr int64_t kParallelMin = int64_t(1) << 17;

inline uint64_t gen_key(uint64_t seed, int64_t g) { return splitmix64(seed + kGenStep * uint64_t(g + 1)); }
inline uint64_t draw(uint64_t gkey, int64_t i, uint32_t slot) {
  return splitmix64(gkey ^ ((uint64_t(i) << 20) | uint64_t(slot)));
}
inline double uniform(uint64_t r) { return double(r >> 11) * 0x1.0p-53; }
// floor(r * n / 2^64) for n < 2^32, without a 128-bit product or a division.
inline int64_t below(uint64_t r, uint64_t n) {
  return int64_t(((r >> 32) * n + (((r & 0xFFFFFFFFull) * n) >> 32)) >> 32);
}

std::string num(double v) {
  std::string s = std::to_string(v);
  return s;
}

}  // namespace

void Problem::validate() const {
  if (bits < 1 || bits > 20) invalid("bits=" + std::to_string(bits) + " is not allowed: gene length must be 1..20");
  if (layers.empty()) invalid("a synthetic group needs at least one layer");
  if (layers.size() >= kSlotCross - 1) invalid("too many synthetic layers in one group (" + std::to_string(layers.size()) + ")");
  if (batch < 1 || h < 1 || w < 1) invalid("batch, h and w must be >= 1");
  if (cin0 < 1) invalid("cin0=" + std::to_string(cin0) + " is not allowed: it must be >= 1");
  if (wm.tm < 1 || wm.tn < 1 || wm.wpt < 1) invalid("warp model tm, tn, wpt must be >= 1");
  if (!(macs_real > 0.0)) invalid("macs_real=" + num(macs_real) + " is not allowed: a group needs MACs > 0");
  if (!(warps_real > 0.0)) invalid("warps_real=" + num(warps_real) + " is not allowed: a group needs warps > 0");
  if (cin0_max < 0 || cin0_max > max_filters())
    invalid("cin0_max=" + std::to_string(cin0_max) + " is not allowed: it must be in 0.." + std::to_string(max_filters()));
  if (last_fixed < 0 || last_fixed > max_filters())
    invalid("last_fixed=" + std::to_string(last_fixed) + " is not allowed: it must be in 0.." + std::to_string(max_filters()));
  if (free_positions().empty()) invalid("the group has no free filter count to optimise");
  int64_t kmax = 1;
  for (const auto& l : layers) {
    if (l.kh < 1 || l.kw < 1) invalid("filter sizes must be >= 1");
    kmax = std::max(kmax, l.kh * l.kw);
  }
  // Overflow guard: the largest layer's MACs must fit in int64 with room for the sum.
  const double worst = double(batch) * double(h) * double(w) * double(kmax) *
                       double(std::max<int64_t>(max_filters(), cin0)) * double(max_filters()) * double(layers.size());
  if (worst > 4.0e18) invalid("the group is too large for 64-bit MAC counts (batch * H * W * K * F^2 too big)");
}

std::vector<int> Problem::free_positions() const {
  std::vector<int> pos;
  const int n = int(layers.size());
  if (cin0_max > 0) pos.push_back(0);
  for (int i = 1; i <= n; ++i)
    if (i < n || last_fixed == 0) pos.push_back(i);
  return pos;
}

std::vector<int32_t> Problem::chain_at(int64_t value) const {
  std::vector<int32_t> c(layers.size() + 1);
  c[0] = int32_t(cin0);
  c.back() = int32_t(last_fixed);
  for (int pos : free_positions()) c[pos] = int32_t(std::min(value, upper(pos)));
  return c;
}

void evaluate_population(const Problem& p, const int32_t* chains, int64_t count, double* out) {
  const int64_t n = int64_t(p.layers.size()) + 1;
  const Folded f(p);
#pragma omp parallel for schedule(static) if (count * n >= kParallelMin)
  for (int64_t i = 0; i < count; ++i) out[i] = f.fitness(chains + i * n);
}

uint64_t ga_random(uint64_t seed, int64_t generation, int64_t individual, uint32_t slot) {
  return draw(gen_key(seed, generation), individual, slot);
}

int refine(const Problem& p, std::vector<int32_t>& cur, double& fit, int radius, int max_steps, int64_t& evals) {
  const std::vector<int> pos = p.free_positions();
  const int n = int(pos.size());
  const Folded folded(p);
  std::vector<int32_t> cand(cur);
  int steps = 0;
  while (steps < max_steps) {
    double best = fit;
    int bj = -1, bk = -1, bdj = 0, bdk = 0;
    auto consider = [&](int jj, int dj, int kk, int dk) {
      const int j = pos[jj], k = kk >= 0 ? pos[kk] : -1;
      const int32_t vj = cur[j] + dj, vk = k >= 0 ? cur[k] + dk : 0;
      if (vj < 1 || vj > p.upper(j)) return;
      if (k >= 0 && (vk < 1 || vk > p.upper(k))) return;
      cand[j] = vj;
      if (k >= 0) cand[k] = vk;
      const double f = folded.fitness(cand.data());
      ++evals;
      cand[j] = cur[j];
      if (k >= 0) cand[k] = cur[k];
      if (f < best) best = f, bj = j, bk = k, bdj = dj, bdk = dk;
      (void)jj;
    };
    // Single moves: +-1, +-2, +-4, ... up to the gene range.
    for (int j = 0; j < n; ++j)
      for (int32_t d = 1; d <= int32_t(p.max_filters()); d *= 2) {
        consider(j, d, -1, 0);
        consider(j, -d, -1, 0);
      }
    // Pair moves: every (dj, dk) in [-r, r]^2 except the zero move.
    for (int j = 0; j < n; ++j)
      for (int k = j + 1; k < n; ++k)
        for (int dj = -radius; dj <= radius; ++dj)
          for (int dk = -radius; dk <= radius; ++dk)
            if (dj != 0 && dk != 0) consider(j, dj, k, dk);
    if (bj < 0) break;
    cur[bj] += bdj;
    if (bk >= 0) cur[bk] += bdk;
    cand = cur;
    fit = best;
    ++steps;
  }
  return steps;
}

GaResult run_ga(const Problem& p, const GaOptions& o) {
  p.validate();
  if (o.population > (1 << 30)) invalid("population=" + std::to_string(o.population) + " is not allowed: it must be <= 2^30");
  if (o.population < 2) invalid("population=" + std::to_string(o.population) + " is not allowed: it must be >= 2");
  if (o.generations < 0) invalid("generations=" + std::to_string(o.generations) + " is not allowed: it must be >= 0");
  if (o.tournament < 1) invalid("tournament=" + std::to_string(o.tournament) + " is not allowed: it must be >= 1");
  if (!(o.crossover >= 0.0 && o.crossover <= 1.0)) invalid("crossover=" + num(o.crossover) + " is not allowed: it must be in [0, 1]");
  if (o.mutation > 1.0) invalid("mutation=" + num(o.mutation) + " is not allowed: it must be in [0, 1]");
  if (o.elite >= o.population) invalid("elite=" + std::to_string(o.elite) + " is not allowed: it must be < population");
  if (o.refine_radius < 0) invalid("refine_radius must be >= 0");

  const std::vector<int> pos = p.free_positions();
  const int64_t P = o.population, n = int64_t(pos.size()), c = int64_t(p.layers.size()) + 1;
  const uint32_t mask = uint32_t(p.max_filters());
  const int bits = p.bits;
  const double pmut = o.mutation < 0.0 ? 1.0 / double(n) : o.mutation;
  const int64_t elite = o.elite < 0 ? std::max<int64_t>(1, P / 100) : o.elite;
  const int t = o.tournament;
  const std::vector<int32_t> base = p.chain_at(1);  // fixed entries in place
  const Folded folded(p);
  std::vector<int64_t> upper(n);
  for (int64_t j = 0; j < n; ++j) upper[j] = p.upper(pos[j]);

  std::vector<uint32_t> genes(P * n), next(P * n);
  std::vector<int32_t> chains(P * c);
  for (int64_t i = 0; i < P; ++i) std::copy(base.begin(), base.end(), &chains[i * c]);
  std::vector<double> fit(P), next_fit(P);
  std::vector<int64_t> order(P);
  GaResult res;

  {
    const uint64_t k0 = gen_key(o.seed, -1);
#pragma omp parallel for schedule(static) if (P * n >= kParallelMin)
    for (int64_t i = 0; i < P; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const uint32_t gene = uint32_t(draw(k0, i, uint32_t(j))) & mask;
        genes[i * n + j] = gene;
        chains[i * c + pos[j]] = decode(gene, upper[j]);
      }
  }
  evaluate_population(p, chains.data(), P, fit.data());
  res.evaluations += P;

  auto best_of = [&](const std::vector<double>& f) {
    int64_t b = 0;
    for (int64_t i = 1; i < P; ++i)
      if (f[i] < f[b]) b = i;
    return b;
  };
  res.history.push_back(fit[best_of(fit)]);

  for (int g = 0; g < o.generations; ++g) {
    std::iota(order.begin(), order.end(), int64_t(0));
    auto by_fit = [&](int64_t a, int64_t b) { return fit[a] < fit[b] || (fit[a] == fit[b] && a < b); };
    std::nth_element(order.begin(), order.begin() + (elite - 1), order.end(), by_fit);  // a strict total order:
    std::sort(order.begin(), order.begin() + elite, by_fit);                             // same as a partial sort
    for (int64_t e = 0; e < elite; ++e) {
      std::copy_n(&genes[order[e] * n], n, &next[e * n]);
      next_fit[e] = fit[order[e]];
    }
    const uint64_t gk = gen_key(o.seed, g);
#pragma omp parallel for schedule(static) if (P * n >= kParallelMin)
    for (int64_t i = elite; i < P; ++i) {
      auto tour = [&](uint32_t slot0) {
        int64_t best = -1;
        for (int k = 0; k < t; ++k) {
          const int64_t cand = below(draw(gk, i, slot0 + uint32_t(k)), uint64_t(P));
          if (best < 0 || fit[cand] < fit[best] || (fit[cand] == fit[best] && cand < best)) best = cand;
        }
        return best;
      };
      const int64_t a = tour(0), b = tour(uint32_t(t));
      const uint32_t* ga = &genes[a * n];
      const uint32_t* gb = &genes[b * n];
      uint32_t* child = &next[i * n];
      const bool cross = uniform(draw(gk, i, kSlotCross)) < o.crossover;
      for (int64_t j = 0; j < n; ++j) {
        uint32_t gene = ga[j];
        if (cross) {
          const uint32_t m = uint32_t(draw(gk, i, kSlotCross + 1 + uint32_t(j))) & mask;
          gene = (ga[j] & m) | (gb[j] & ~m & mask);
        }
        const uint64_t r = draw(gk, i, kSlotMut + uint32_t(j));
        if (uniform(r) < pmut) gene ^= uint32_t(1) << ((r & 0x7FF) % uint64_t(bits));
        child[j] = gene;
        chains[i * c + pos[j]] = decode(gene, upper[j]);
      }
      next_fit[i] = folded.fitness(&chains[i * c]);
    }
    res.evaluations += P - elite;
    genes.swap(next);
    fit.swap(next_fit);
    res.history.push_back(fit[best_of(fit)]);
  }

  const int64_t b = best_of(fit);
  res.ga_chain = base;
  for (int64_t j = 0; j < n; ++j) res.ga_chain[pos[j]] = decode(genes[b * n + j], upper[j]);
  res.ga_fitness = fit[b];
  res.chain = res.ga_chain;
  res.fitness = res.ga_fitness;
  if (o.refine) res.refine_steps = refine(p, res.chain, res.fitness, o.refine_radius, o.refine_max_steps, res.evaluations);
  totals(p, res.chain.data(), res.macs, res.warps);
  return res;
}

}  // namespace am::synth
