// The StatsNet genetic algorithm: a binary chromosome of `bits`-bit genes (one
// per free chain entry: the synthetic layers' filter counts, and the group's
// input channels when they are free), packed into 64-bit words; tournament
// selection, word-wide uniform crossover, per-bit mutation by geometric
// skipping, elitism; then a deterministic local refinement on the integer
// filter counts.
//
// Reproducibility: every random word is splitmix64 of a key built from
// (seed, generation, individual, slot), so the result depends on the seed only,
// never on the thread count or the evaluation order. The numpy reference
// (aimatrix/synth/reference.py) draws the same words and gets the same result.
//
//   gkey(g)          = splitmix64(seed + 0x632BE59BD9B4E019 * (g + 1))   (g = -1: initial population)
//   word(g, i, k)    = splitmix64(gkey(g) ^ ((i << 16) | k))             (k < 2^16)
//   lo(r), hi(r)     = r & 0xFFFFFFFF, r >> 32  (two 32-bit uniforms per word)
// Chromosome: n genes of B = bits bits each, gene j in logical bits [j*bits, (j+1)*bits)
//   of the little-endian bit string of W = ceil(n*bits / 64) words (bit t: word t >> 6, bit t & 63);
//   the bits above n*bits stay 0. Gene j's value v decodes to min(max(v, min_filters), upper bound).
//   initial word w of individual i: word(-1, i, w), masked above n*bits.
// Child i of generation g (i >= elite), with T = tournament size:
//   picks h = 0 .. 2T-1: u = (h even ? lo : hi)(word(g, i, h >> 1)); pick = (u * P) >> 32
//     parent a = best of picks 0..T-1, parent b = best of picks T..2T-1 (lowest fitness, ties to the lower index)
//   control word c = word(g, i, T): crossover iff lo(c) < floor(crossover * 2^32)
//     crossover: child word w = (a_w & m_w) | (b_w & ~m_w), m_w = word(g, i, T + 1 + w); else child = a
//   mutation (per-bit probability p = mutation / bits): pos = skip(hi(c)); while pos < n*bits:
//     flip logical bit pos; pos += 1 + skip(u) with u the next of lo, hi of word(g, i, T + 1 + W), then of
//     word(g, i, T + 2 + W), ...
//     skip(u) = the number of k in 1 .. n*bits with u < thr[k] (the geometric number of unmutated bits),
//     thr[0] = 2^32, thr[k] = (thr[k-1] * q) >> 32, q = floor((1 - p) * 2^32 + 0.5)  (integers only)
//   elitism: the `elite` best of generation g (by fitness, then index) are copied first, unchanged.
// Speed (5000 x 50 is ~250k children per group): below 2^17 genes per generation the GA runs on one thread
// (a fork/join per generation costs more than it saves on a shared 2-core machine); each generation makes
// three passes over the children (tournaments, crossover + mutation, decoding + fitness), the first and last
// of them, and the crossover, eight children at a time with AVX-512 where the CPU has it. Integer arithmetic
// and the fitness' double operations are the same, in the same order, so every path gives the same bits.
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
  double mutation = -1.0;  // probability per gene (a gene's bits mutate with mutation / bits each); < 0: 1 / genes
  int elite = -1;          // < 0: max(1, population / 100)
  bool refine = true;
  int refine_radius = 3;  // pair moves try every (dj, dk) in [-r, r]^2
  int refine_max_steps = 10000;
  bool vectorize = true;  // AVX-512 passes where the CPU has them (the same results as the scalar code)
};

struct GaResult {
  std::vector<int32_t> chain;     // the best individual's chain (input channels + filters), after refinement
  std::vector<int32_t> ga_chain;  // the GA's best before refinement
  double fitness = 0.0, ga_fitness = 0.0;
  int64_t macs = 0, warps = 0;
  std::vector<double> history;  // best fitness after each generation (index 0: initial population)
  int64_t evaluations = 0;
  int refine_steps = 0;
};

// Whether run_ga's passes can run eight children at a time (AVX-512 F + DQ on this CPU).
bool ga_vectorized();

// The GA's keyed random word (exposed for the reference tests).
uint64_t ga_random(uint64_t seed, int64_t generation, int64_t individual, uint32_t slot);

GaResult run_ga(const Problem& problem, const GaOptions& options);

// Improve the free entries of `chain` in place by best-improvement local search
// (single moves of +-1, +-2, +-4, ...; pair moves in [-radius, radius]^2); returns the accepted moves.
int refine(const Problem& p, std::vector<int32_t>& chain, double& fit, int radius, int max_steps, int64_t& evaluations);

}  // namespace am::synth
