// The StatsNet genetic algorithm: binary chromosome of `bits`-bit genes (one
// per free chain entry: the synthetic layers' filter counts, and the group's
// input channels when they are free), tournament selection, uniform
// bitwise crossover, per-gene bit-flip mutation, elitism; then a deterministic
// local refinement on the integer filter counts.
//
// Reproducibility: every random number is splitmix64 of a key built from
// (seed, generation, individual, slot), so the result depends on the seed only,
// never on the thread count or the evaluation order. The numpy reference
// (aimatrix/synth/reference.py) draws the same numbers and gets the same result.
//
//   gkey(g)            = splitmix64(seed + 0x632BE59BD9B4E019 * (g + 1))   (g = -1: initial population)
//   rand(g, i, slot)   = splitmix64(gkey(g) ^ ((i << 20) | slot))
//   uniform(r)         = (r >> 11) * 2^-53
//   gene j is chain entry free_positions()[j]; value v decodes to min(max(v, 1), upper bound)
//   initial gene j of individual i:  rand(-1, i, j) & (2^bits - 1)
//   child i of generation g (i >= elite):
//     parent a: tournament over below(rand(g, i, k), P), k = 0..t-1; parent b: k = t..2t-1
//               below(r, P) = ((r >> 32) * P + ((r & 0xFFFFFFFF) * P >> 32)) >> 32 = floor(r * P / 2^64)
//               (lowest fitness wins, ties to the lower index)
//     crossover if uniform(rand(g, i, 0x1000)) < crossover:
//               gene j = (a_j & m) | (b_j & ~m), m = rand(g, i, 0x1001 + j) & mask; else gene j = a_j
//     mutation: r = rand(g, i, 0x2000 + j); if uniform(r) < mutation: gene j ^= 1 << ((r & 0x7FF) % bits)
//   elitism: the `elite` best of generation g (by fitness, then index) are copied first, unchanged.
#pragma once
#include <cstdint>
#include <vector>

#include "synth/model.hpp"

namespace am::synth {

struct GaOptions {
  int population = 5000;
  int generations = 50;
  uint64_t seed = 0;
  int tournament = 3;
  double crossover = 0.9;
  double mutation = -1.0;  // probability per gene; < 0: 1 / number of genes
  int elite = -1;          // < 0: max(1, population / 100)
  bool refine = true;
  int refine_radius = 3;   // pair moves try every (dj, dk) in [-r, r]^2
  int refine_max_steps = 10000;
};

struct GaResult {
  std::vector<int32_t> chain;     // the best individual's chain (input channels + filters), after refinement
  std::vector<int32_t> ga_chain;  // the GA's best before refinement
  double fitness = 0.0, ga_fitness = 0.0;
  int64_t macs = 0, warps = 0;
  std::vector<double> history;   // best fitness after each generation (index 0: initial population)
  int64_t evaluations = 0;
  int refine_steps = 0;
};

// Splitmix-keyed random numbers of the GA (exposed for the reference tests).
uint64_t ga_random(uint64_t seed, int64_t generation, int64_t individual, uint32_t slot);

GaResult run_ga(const Problem& problem, const GaOptions& options);

// Improve the free entries of `chain` in place by best-improvement local search
// (single moves of +-1, +-2, +-4, ...; pair moves in [-radius, radius]^2); returns the accepted moves.
int refine(const Problem& p, std::vector<int32_t>& chain, double& fit, int radius, int max_steps,
           int64_t& evaluations);

}  // namespace am::synth
