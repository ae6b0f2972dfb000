#include "synth/ga.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
// GCC 12's AVX-512 headers start masked builtins from _mm512_undefined_*(): false -W(maybe-)uninitialized
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <limits>
#include <numeric>
#include <string>

#include "common/errors.hpp"
#include "common/rng.hpp"
#include "cpu/host_memory.hpp"

namespace am::synth {

namespace {

bool has_avx512();

constexpr uint64_t kGenStep = 0x632BE59BD9B4E019ull;
constexpr int kSlotBits = 16;
// From this many genes per generation, threads always pay (population fitness, the GA's generations).
constexpr int64_t kParallelMin = int64_t(1) << 17;
// From this many, the GA times a generation with and without threads and keeps the faster (see run_ga).
constexpr int64_t kParallelTry = int64_t(1) << 14;

inline uint64_t gen_key(uint64_t seed, int64_t g) { return splitmix64(seed + kGenStep * uint64_t(g + 1)); }
inline uint64_t draw(uint64_t gkey, int64_t i, uint32_t slot) {
  return splitmix64(gkey ^ ((uint64_t(i) << kSlotBits) | uint64_t(slot)));
}

std::string num(double v) { return std::to_string(v); }

// Gene j (bits [j*bits, (j+1)*bits)) of a packed chromosome.
inline uint32_t gene_at(const uint64_t* w, int64_t t, int bits, uint64_t mask) {
  const int64_t q = t >> 6;
  const int s = int(t & 63);
  uint64_t v = w[q] >> s;
  if (s + bits > 64) v |= w[q + 1] << (64 - s);
  return uint32_t(v & mask);
}

// skip(u) of ga.hpp: thresholds thr[0..B] and a 4096-bucket index over the top 12 bits of u (the scan from a
// bucket's start then takes well under one step on average).
struct Skipper {
  std::vector<uint64_t> thr;
  std::vector<int32_t> start;
  int64_t B = 0;
  Skipper(double p, int64_t nbits) : B(nbits) {
    const uint64_t q = uint64_t((1.0 - p) * 4294967296.0 + 0.5);
    thr.resize(B + 2);
    thr[0] = uint64_t(1) << 32;
    for (int64_t k = 1; k <= B + 1; ++k) thr[k] = uint64_t((unsigned __int128)thr[k - 1] * q >> 32);
    // start[b] = the largest k with u < thr[k] for the bucket's largest u: it grows as b falls (thr decreases)
    start.resize(4096);
    int64_t s = 0;
    for (int b = 4095; b >= 0; --b) {
      const uint64_t u = (uint64_t(b + 1) << 20) - 1;
      while (s < B && u < thr[s + 1]) ++s;
      start[b] = int32_t(s);
    }
  }
  inline int64_t operator()(uint32_t u) const {
    int64_t s = start[u >> 20];
    while (s < B && uint64_t(u) < thr[s + 1]) ++s;
    return s;
  }
};

}  // namespace

void Problem::validate() const {
  if (bits < 1 || bits > 20) invalid("bits=" + std::to_string(bits) + " is not allowed: gene length must be 1..20");
  if (layers.empty()) invalid("a synthetic group needs at least one layer");
  if (layers.size() > 1000) invalid("too many synthetic layers in one group (" + std::to_string(layers.size()) + ")");
  if (batch < 1 || h < 1 || w < 1) invalid("batch, h and w must be >= 1");
  if (cin0 < 1) invalid("cin0=" + std::to_string(cin0) + " is not allowed: it must be >= 1");
  if (min_filters < 1 || min_filters > max_filters())
    invalid("min_filters=" + std::to_string(min_filters) + " is not allowed: it must be in 1.." +
            std::to_string(max_filters()));
  for (const auto& l : layers) {
    const auto& m = l.wm;
    if (m.tm < 1 || m.tn < 1 || m.wpt < 1 || m.ctas < 1 || m.kc < 1)
      invalid("warp model tm, tn, wpt, ctas, kc must be >= 1");
    if (m.reduce < 0 || m.reduce > 2 || m.bias < 0 || m.bias > 1)
      invalid("warp model reduce must be 0..2 and bias 0..1");
  }
  if (!(macs_real > 0.0)) invalid("macs_real=" + num(macs_real) + " is not allowed: a group needs MACs > 0");
  if (!(warps_real > 0.0)) invalid("warps_real=" + num(warps_real) + " is not allowed: a group needs warps > 0");
  if (cin0_max < 0 || cin0_max > max_filters() || (cin0_max > 0 && cin0_max < min_filters))
    invalid("cin0_max=" + std::to_string(cin0_max) + " is not allowed: it must be 0 or in min_filters.." +
            std::to_string(max_filters()));
  if (last_fixed < 0 || last_fixed > max_filters())
    invalid("last_fixed=" + std::to_string(last_fixed) + " is not allowed: it must be in 0.." +
            std::to_string(max_filters()));
  if (cin0 > (int64_t(1) << 20)) invalid("cin0=" + std::to_string(cin0) + " is too large");
  if (free_positions().empty()) invalid("the group has no free filter count to optimise");
  if (int64_t(free_positions().size()) * bits > 60000) invalid("the chromosome is too long (genes * bits > 60000)");
  int64_t kmax = 1;
  for (const auto& l : layers) {
    if (l.kh < 1 || l.kw < 1) invalid("filter sizes must be >= 1");
    if (l.stride < 1 || l.stride > 64)
      invalid("stride=" + std::to_string(l.stride) + " is not allowed: it must be in 1..64");
    kmax = std::max(kmax, l.kh * l.kw);
  }
  // Overflow guard: the largest layer's MACs (and warps) must fit in int64 with room for the sum.
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
  for (int pos : free_positions()) c[pos] = int32_t(std::min(std::max(value, min_filters), upper(pos)));
  return c;
}

Folded::Folded(const Problem& p) : macs_real(p.macs_real), warps_real(p.warps_real) {
  const int64_t nf = std::max<int64_t>(p.max_filters(), p.last_fixed) + 1;
  const int64_t nc = std::max<int64_t>(nf, p.cin0 + 1);
  const size_t nl = p.layers.size();
  entries.resize(nl * nf);
  kchs.resize(nl * nc);
  layers.resize(nl);
  for (size_t i = 0; i < nl; ++i) {
    const SynthLayer& sl = p.layers[i];
    const WarpModel& m = sl.wm;
    const int64_t M = p.batch * p.hout(sl) * p.wout(sl);
    L& l = layers[i];
    l.coef = M * sl.kh * sl.kw;
    l.reduce = m.reduce;
    l.M = M;
    Entry* e = &entries[i * nf];
    int32_t* kch = &kchs[i * nc];
    const int64_t mt = ceil_div(M, m.tm);
    for (int64_t f = 0; f < nf; ++f) {
      const int64_t tiles = mt * ceil_div(f, m.tn);
      e[f].tw = int32_t(tiles * m.wpt);
      e[f].smax = int32_t(std::max<int64_t>(1, tiles > 0 ? ceil_div(m.ctas, tiles) : 1));
      e[f].extra = int32_t(m.bias ? 4 * ceil_div(M * f, 512) : 0);
      e[f].red = int32_t(m.reduce == 1 ? 4 * ceil_div(M * f, 512) : 0);
    }
    for (int64_t c = 0; c < nc; ++c) kch[c] = int32_t(std::max<int64_t>(1, ceil_div(c * sl.kh * sl.kw, m.kc)));
    l.e = e;
    l.kch = kch;
  }
}

void evaluate_population(const Problem& p, const int32_t* chains, int64_t count, double* out) {
  const int64_t n = int64_t(p.layers.size()) + 1;
  const Folded f(p);
#pragma omp parallel for schedule(static) if (count * n >= kParallelMin)
  for (int64_t i = 0; i < count; ++i) out[i] = f.fitness(chains + i * n);
}

bool ga_vectorized() { return has_avx512(); }

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
      if (vj < p.lower() || vj > p.upper(j)) return;
      if (k >= 0 && (vk < p.lower() || vk > p.upper(k))) return;
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

namespace {

// Decoding: gene j sits at bit t = j * bits, in word t >> 6 (and the next one when it straddles).
struct GeneSlot {
  int32_t pos, word, shift, up;
};

// What the GA's fitness pass needs: the folded problem and where each chain entry comes from.
struct Decoder {
  const Folded* folded;
  const GeneSlot* slots;
  int64_t n;  // genes
  int bits;
  uint64_t mask;
  int32_t lo;
  std::vector<int32_t> gene_of;  // per chain position: the gene, or -1 (fixed: base)
  std::vector<int32_t> base;     // the chain with its fixed entries

  // Fitness of one packed chromosome (chain: scratch of base.size() entries holding base's fixed entries).
  double operator()(const uint64_t* g, int32_t* chain) const {
    for (int64_t j = 0; j < n; ++j) {
      const GeneSlot q = slots[j];
      uint64_t v = g[q.word] >> q.shift;
      if (q.shift + bits > 64) v |= g[q.word + 1] << (64 - q.shift);
      int32_t x = int32_t(v & mask);
      x = x < lo ? lo : x;
      chain[q.pos] = x > q.up ? q.up : x;
    }
    return folded->fitness(chain);
  }
};

constexpr int64_t kMaxVectorWords = 16;  // chromosomes of up to 1024 bits take the vector path

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define AM_SYNTH_AVX512 1
// Eight chromosomes at a time with AVX-512 (F + DQ: 64-bit multiplies and int64 -> double): gathers from the
// per-layer tables, the same integer arithmetic as Folded::totals and the same double operations, in the same
// order, as fitness_of -- so the same bits as the scalar path. rows: the chromosomes (W words each) of 8 children.
#define AM_AVX512 __attribute__((target("avx512f,avx512dq")))

// Gathers with an explicit zero source (the plain forms trip GCC 12's -Wmaybe-uninitialized in its headers).
AM_AVX512 inline __m512i gather64(__m512i idx, const void* base, int) {
  return _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), __mmask8(0xFF), idx, base, 8);
}
AM_AVX512 inline __m256i gather32(__m512i idx, const void* base, int) {
  return _mm512_mask_i64gather_epi32(_mm256_setzero_si256(), __mmask8(0xFF), idx, base, 4);
}

// Chain entry p of 8 children, from their chromosome words (words[w]: word w of the 8 rows).
AM_AVX512 inline __m512i chain_values(const Decoder& d, size_t p, const __m512i* words) {
  const int32_t j = d.gene_of[p];
  if (j < 0) return _mm512_set1_epi64(d.base[p]);
  const GeneSlot q = d.slots[j];
  __m512i v = _mm512_srli_epi64(words[q.word], unsigned(q.shift));
  if (q.shift + d.bits > 64) v = _mm512_or_si512(v, _mm512_slli_epi64(words[q.word + 1], unsigned(64 - q.shift)));
  v = _mm512_and_si512(v, _mm512_set1_epi64(int64_t(d.mask)));
  v = _mm512_max_epi64(v, _mm512_set1_epi64(d.lo));
  return _mm512_min_epi64(v, _mm512_set1_epi64(q.up));
}

AM_AVX512 void fitness8_avx512(const Decoder& d, const uint64_t* genes, int64_t W, int64_t i0, double* out) {
  const Folded& fo = *d.folded;
  const __m512i row = _mm512_mullo_epi64(
      _mm512_add_epi64(_mm512_set1_epi64(i0), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0)), _mm512_set1_epi64(W));
  __m512i words[kMaxVectorWords];
  for (int64_t k = 0; k < W; ++k) words[k] = gather64(_mm512_add_epi64(row, _mm512_set1_epi64(k)), genes, 8);
  __m512i m = _mm512_setzero_si512(), w = _mm512_setzero_si512();
  __m512i c = chain_values(d, 0, words);
  const __m512i one = _mm512_set1_epi64(1), lo32 = _mm512_set1_epi64(0xFFFFFFFFll);
  for (size_t i = 0; i < fo.layers.size(); ++i) {
    const Folded::L& l = fo.layers[i];
    const __m512i f = chain_values(d, i + 1, words);
    m = _mm512_add_epi64(m, _mm512_mullo_epi64(_mm512_mullo_epi64(_mm512_set1_epi64(l.coef), c), f));
    // Entry f as two 64-bit words: tw | smax << 32, extra | red << 32
    const __m512i f2 = _mm512_slli_epi64(f, 1);
    const __m512i e0 = gather64(f2, l.e, 8);
    const __m512i e1 = gather64(_mm512_add_epi64(f2, one), l.e, 8);
    const __m512i kch = _mm512_cvtepi32_epi64(gather32(c, l.kch, 4));
    const __m512i s = _mm512_min_epi64(_mm512_srli_epi64(e0, 32), kch);
    const __m512i tw = _mm512_and_si512(e0, lo32);
    const __m512i extra = _mm512_and_si512(e1, lo32);
    w = _mm512_add_epi64(w, _mm512_add_epi64(_mm512_mullo_epi64(tw, s), extra));
    const __mmask8 split = _mm512_cmpgt_epi64_mask(s, one);
    if (l.reduce == 1) {
      w = _mm512_mask_add_epi64(w, split, w, _mm512_srli_epi64(e1, 32));
    } else if (l.reduce == 2) {  // 4 * ceil(M * f * s / 512)
      const __m512i x = _mm512_mullo_epi64(_mm512_mullo_epi64(_mm512_set1_epi64(l.M), f), s);
      const __m512i r = _mm512_slli_epi64(_mm512_srli_epi64(_mm512_add_epi64(x, _mm512_set1_epi64(511)), 9), 2);
      w = _mm512_mask_add_epi64(w, split, w, r);
    }
    c = f;
  }
  const __m512d half = _mm512_set1_pd(0.5);
  const __m512d mr = _mm512_set1_pd(fo.macs_real), wr = _mm512_set1_pd(fo.warps_real);
  const __m512d em = _mm512_abs_pd(_mm512_sub_pd(_mm512_cvtepi64_pd(m), mr));
  const __m512d ew = _mm512_abs_pd(_mm512_sub_pd(_mm512_cvtepi64_pd(w), wr));
  _mm512_storeu_pd(
      out, _mm512_add_pd(_mm512_div_pd(_mm512_mul_pd(half, em), mr), _mm512_div_pd(_mm512_mul_pd(half, ew), wr)));
}

bool has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  return yes;
}
#else
bool has_avx512() { return false; }
#endif

// Fitness of children [begin, end) (rows of W words in genes) into out[begin, end); an orphaned omp for.
void fitness_pass(const Decoder& d, const uint64_t* genes, int64_t W, int64_t begin, int64_t end, double* out,
                  bool vector) {
  std::vector<int32_t> chain(d.base);
  const int64_t nblocks = vector && W <= kMaxVectorWords ? (end - begin) / 8 : 0;
#ifdef AM_SYNTH_AVX512
#pragma omp for schedule(static) nowait
  for (int64_t b = 0; b < nblocks; ++b) fitness8_avx512(d, genes, W, begin + 8 * b, out + begin + 8 * b);
#endif
#pragma omp for schedule(static)
  for (int64_t i = begin + 8 * nblocks; i < end; ++i) out[i] = d(genes + i * W, chain.data());
}

// Parents of children [begin, end): picks h = 0 .. 2t-1 from the halves of words (g, i, h >> 1); parent a is the
// best of picks 0..t-1, b of t..2t-1 (lowest fitness, ties to the lower index). T > 0: t known at compile time.
// Called inside a parallel region (its loop is an orphaned omp for).
// `key` holds the fitness values' bit patterns: for non-negative finite doubles (fitness values are) the
// unsigned order of the bits is the numeric order, and integer masks select without branches (a
// compare-and-select compiles to a branch that mispredicts half the time).
template <int T>
void tournaments(uint64_t gk, int64_t begin, int64_t end, int64_t P, const uint64_t* key, int64_t* pa, int64_t* pb,
                 int t_rt) {
  const int t = T > 0 ? T : t_rt;
#pragma omp for schedule(static)
  for (int64_t i = begin; i < end; ++i) {
    uint64_t words[64];
    for (int k = 0; k < t; ++k) words[k] = draw(gk, i, uint32_t(k));
    int64_t pick[2];
    for (int side = 0; side < 2; ++side) {
      int64_t best = INT64_MAX;
      uint64_t bk = ~uint64_t(0);
      for (int k = 0; k < t; ++k) {
        const int h = side * t + k;
        const uint64_t r = words[h >> 1];
        const uint64_t u = (h & 1) ? r >> 32 : r & 0xFFFFFFFFull;
        const int64_t cand = int64_t((u * uint64_t(P)) >> 32);
        const uint64_t ck = key[cand];
        // select with masks: GCC turns `better ? x : y` here into branches
        const uint64_t m = uint64_t(0) - uint64_t((ck < bk) | ((ck == bk) & (cand < best)));
        best = int64_t((uint64_t(cand) & m) | (uint64_t(best) & ~m));
        bk = (ck & m) | (bk & ~m);
      }
      pick[side] = best;
    }
    pa[i] = pick[0];
    pb[i] = pick[1];
  }
}

#ifdef AM_SYNTH_AVX512
AM_AVX512 inline __m512i splitmix64x8(__m512i x) {
  x = _mm512_add_epi64(x, _mm512_set1_epi64(int64_t(0x9E3779B97F4A7C15ull)));
  x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 30)),
                         _mm512_set1_epi64(int64_t(0xBF58476D1CE4E5B9ull)));
  x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 27)),
                         _mm512_set1_epi64(int64_t(0x94D049BB133111EBull)));
  return _mm512_xor_si512(x, _mm512_srli_epi64(x, 31));
}

// tournaments() for the 8 children i0 .. i0 + 7: the same words, picks and (key, index) minimum.
AM_AVX512 void tournaments8_avx512(uint64_t gk, int64_t i0, int64_t P, const uint64_t* key, int64_t* pa, int64_t* pb,
                                   int t) {
  const __m512i ids = _mm512_add_epi64(_mm512_set1_epi64(i0), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
  const __m512i base = _mm512_xor_si512(_mm512_set1_epi64(int64_t(gk)), _mm512_slli_epi64(ids, kSlotBits));
  const __m512i np = _mm512_set1_epi64(P);
  __m512i words[64];
  for (int k = 0; k < t; ++k) words[k] = splitmix64x8(_mm512_xor_si512(base, _mm512_set1_epi64(k)));
  for (int side = 0; side < 2; ++side) {
    __m512i best = _mm512_set1_epi64(INT64_MAX), bk = _mm512_set1_epi64(-1);
    for (int k = 0; k < t; ++k) {
      const int h = side * t + k;
      const __m512i r = words[h >> 1];
      const __m512i u = (h & 1) ? _mm512_srli_epi64(r, 32) : r;             // mul_epu32 reads the low 32 bits
      const __m512i cand = _mm512_srli_epi64(_mm512_mul_epu32(u, np), 32);  // (u * P) >> 32
      const __m512i ck = gather64(cand, key, 8);
      const __mmask8 better =
          _mm512_cmplt_epu64_mask(ck, bk) | (_mm512_cmpeq_epu64_mask(ck, bk) & _mm512_cmplt_epi64_mask(cand, best));
      best = _mm512_mask_blend_epi64(better, best, cand);
      bk = _mm512_mask_blend_epi64(better, bk, ck);
    }
    _mm512_storeu_si512(side == 0 ? pa + i0 : pb + i0, best);
  }
}

// Crossover of the 8 children i0 .. i0 + 7 into their rows of `next` (the same words as the scalar loop);
// ctl: each child's control word, for its mutation.
AM_AVX512 void crossover8_avx512(uint64_t gk, int64_t i0, const uint64_t* G, int64_t W, const int64_t* pa,
                                 const int64_t* pb, uint64_t* next, uint32_t slot_ctl, uint32_t slot_mask,
                                 uint64_t cthr, uint64_t* ctl) {
  const __m512i ids = _mm512_add_epi64(_mm512_set1_epi64(i0), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
  const __m512i base = _mm512_xor_si512(_mm512_set1_epi64(int64_t(gk)), _mm512_slli_epi64(ids, kSlotBits));
  const __m512i c = splitmix64x8(_mm512_xor_si512(base, _mm512_set1_epi64(slot_ctl)));
  _mm512_storeu_si512(ctl, c);
  const __mmask8 keep =
      _mm512_cmpge_epu64_mask(_mm512_and_si512(c, _mm512_set1_epi64(0xFFFFFFFFll)), _mm512_set1_epi64(int64_t(cthr)));
  const __m512i vw = _mm512_set1_epi64(W);
  const __m512i ra = _mm512_mullo_epi64(_mm512_loadu_si512(pa + i0), vw);
  const __m512i rb = _mm512_mullo_epi64(_mm512_loadu_si512(pb + i0), vw);
  const __m512i rc = _mm512_mullo_epi64(ids, vw);
  for (int64_t w = 0; w < W; ++w) {
    const __m512i vk = _mm512_set1_epi64(w);
    __m512i m = splitmix64x8(_mm512_xor_si512(base, _mm512_set1_epi64(int64_t(slot_mask) + w)));
    m = _mm512_mask_mov_epi64(m, keep, _mm512_set1_epi64(-1));
    const __m512i a = gather64(_mm512_add_epi64(ra, vk), G, 8);
    const __m512i b = gather64(_mm512_add_epi64(rb, vk), G, 8);
    // (m & a) | (~m & b): ternary-logic table 0xCA = m ? a : b
    _mm512_i64scatter_epi64(next, _mm512_add_epi64(rc, vk), _mm512_ternarylogic_epi64(m, a, b, 0xCA), 8);
  }
}
#endif

// Parents of children [begin, P) (an orphaned omp for; eight at a time with AVX-512 when `vector`).
void tournament_pass(uint64_t gk, int64_t begin, int64_t P, const uint64_t* key, int64_t* pa, int64_t* pb, int t,
                     bool vector) {
  const int64_t nblocks = vector ? (P - begin) / 8 : 0;
#ifdef AM_SYNTH_AVX512
#pragma omp for schedule(static) nowait
  for (int64_t b = 0; b < nblocks; ++b) tournaments8_avx512(gk, begin + 8 * b, P, key, pa, pb, t);
#endif
  const int64_t rest = begin + 8 * nblocks;
  if (t == 3) tournaments<3>(gk, rest, P, P, key, pa, pb, 3);
  else if (t == 2) tournaments<2>(gk, rest, P, P, key, pa, pb, 2);
  else tournaments<0>(gk, rest, P, P, key, pa, pb, t);
}

}  // namespace

GaResult run_ga(const Problem& p, const GaOptions& o) {
  p.validate();
  if (o.population > (1 << 30))
    invalid("population=" + std::to_string(o.population) + " is not allowed: it must be <= 2^30");
  if (o.population < 2) invalid("population=" + std::to_string(o.population) + " is not allowed: it must be >= 2");
  if (o.generations < 0) invalid("generations=" + std::to_string(o.generations) + " is not allowed: it must be >= 0");
  if (o.tournament < 1 || o.tournament > 64)
    invalid("tournament=" + std::to_string(o.tournament) + " is not allowed: it must be in 1..64");
  if (!(o.crossover >= 0.0 && o.crossover <= 1.0))
    invalid("crossover=" + num(o.crossover) + " is not allowed: it must be in [0, 1]");
  // mutation < 0 asks for the default, 1 / genes; NaN fails both tests
  if (!(o.mutation < 0.0 || o.mutation <= 1.0))
    invalid("mutation=" + num(o.mutation) + " is not allowed: it must be in [0, 1]");
  if (o.elite >= o.population) invalid("elite=" + std::to_string(o.elite) + " is not allowed: it must be < population");
  if (o.refine_radius < 0) invalid("refine_radius must be >= 0");

  const std::vector<int> pos = p.free_positions();
  const int64_t P = o.population, n = int64_t(pos.size());
  const int bits = p.bits;
  const uint64_t mask = uint64_t(p.max_filters());
  const int64_t B = n * bits, W = (B + 63) >> 6;
  const uint64_t last_mask = (B & 63) ? (uint64_t(1) << (B & 63)) - 1 : ~uint64_t(0);
  // Per individual, the buffers below: genes and next (W words each), two fitness arrays, two parents, the key,
  // the scratch and the elite index (8 bytes each), a flag (aimatrix.synth.synthesize.ga_bytes mirrors this).
  cpu::require_host_memory(double(P) * (16.0 * double(W) + 57.0), "the GA's population=" + std::to_string(P) + " of " +
                                                                      std::to_string(B) + "-bit chromosomes");
  const double pmut = o.mutation < 0.0 ? 1.0 / double(n) : o.mutation;
  const Skipper skip(pmut / double(bits), B);
  const uint64_t cthr = uint64_t(o.crossover * 4294967296.0);
  const int64_t elite = o.elite < 0 ? std::max<int64_t>(1, P / 100) : o.elite;
  const int t = o.tournament;
  const uint32_t slot_ctl = uint32_t(t), slot_mask = uint32_t(t + 1), slot_mut = uint32_t(t + 1 + W);
  if (int64_t(slot_mut) + B / 2 + 2 >= (int64_t(1) << kSlotBits))
    invalid("the chromosome is too long for the random stream");
  const std::vector<int32_t> base = p.chain_at(1);  // fixed entries in place
  const Folded folded(p);
  const int64_t lo = p.lower();
  std::vector<int64_t> upper(n);
  for (int64_t j = 0; j < n; ++j) upper[j] = p.upper(pos[j]);

  std::vector<uint64_t> genes(P * W), next(P * W);
  std::vector<double> fit(P), next_fit(P);
  GaResult res;

  std::vector<GeneSlot> slots(n);
  for (int64_t j = 0; j < n; ++j)
    slots[j] = {int32_t(pos[j]), int32_t((j * bits) >> 6), int32_t((j * bits) & 63), int32_t(upper[j])};
  Decoder dec{&folded, slots.data(), n, bits, mask, int32_t(lo), std::vector<int32_t>(base.size(), -1), base};
  for (int64_t j = 0; j < n; ++j) dec.gene_of[pos[j]] = int32_t(j);
  const bool vector = o.vectorize && has_avx512();
  // A generation of the paper's size (5000 children of <= 23 genes: ~0.2 ms of work) is short enough that a
  // fork/join and its barriers matter: with both cores of a 2-core machine free, two threads ran the paper's
  // group 7 in 6.3 ms instead of 10.9; with one core busy elsewhere, in 17.4 ms (the barriers wait for a
  // descheduled thread). So below kParallelMin, generations 1-2 run on one thread and 3-4 on all, timed, and
  // the faster way runs the rest (the result is the same either way: static schedules, and random numbers drawn
  // by index).
  bool par = P * n >= kParallelMin;
#ifdef _OPENMP
  const bool try_par = !par && P * n >= kParallelTry && omp_get_max_threads() > 1;
#else
  const bool try_par = false;
#endif
  double serial_s = 0, threads_s = 0;
  {
    const uint64_t k0 = gen_key(o.seed, -1);
#pragma omp parallel if (par)
    {
#pragma omp for schedule(static)
      for (int64_t i = 0; i < P; ++i) {
        uint64_t* g = &genes[i * W];
        for (int64_t w = 0; w < W; ++w) g[w] = draw(k0, i, uint32_t(w));
        g[W - 1] &= last_mask;
      }
      fitness_pass(dec, genes.data(), W, 0, P, fit.data(), vector);
    }
  }
  res.evaluations += P;

  auto best_of = [&](const std::vector<double>& f) {
    int64_t b = 0;
    for (int64_t i = 1; i < P; ++i)
      if (f[i] < f[b]) b = i;
    return b;
  };

  // Per generation, in three passes over the children (short loop bodies let the CPU overlap the random
  // loads of many children): tournaments, then crossover and mutation, then decoding and fitness.
  std::vector<int64_t> pa(P), pb(P);
  std::vector<uint8_t> known(P);
  std::vector<uint64_t> key(P);
  std::vector<double> tmp(P);
  std::vector<int64_t> elite_idx;
  elite_idx.reserve(P);
  for (int g = 0; g < o.generations; ++g) {
    if (try_par) par = g == 3 || g == 4 || (g > 4 && threads_s < serial_s);
    const auto gen_start = std::chrono::steady_clock::now();
    // Elite: the first `elite` in (fitness, index) order -- all below the elite-th smallest fitness v, then
    // those equal to v by index.
    elite_idx.clear();
    if (elite == 0) {
      // no elite: every child is bred
    } else if (elite <= 64) {
      // a sorted list of the best so far, scanning by index: a later equal fitness never displaces an earlier one
      double worst = std::numeric_limits<double>::infinity();
      for (int64_t i0 = 0; i0 < P; i0 += 8) {
        const int64_t i1 = std::min(P, i0 + 8);
        if (int64_t(elite_idx.size()) == elite && i1 - i0 == 8) {  // most blocks hold no candidate: one vector test
          bool any = false;
          for (int l = 0; l < 8; ++l) any |= fit[i0 + l] < worst;
          if (!any) continue;
        }
        for (int64_t i = i0; i < i1; ++i) {
          const double f = fit[i];
          if (int64_t(elite_idx.size()) == elite && !(f < worst)) continue;
          if (int64_t(elite_idx.size()) == elite) elite_idx.pop_back();
          auto at =
              std::upper_bound(elite_idx.begin(), elite_idx.end(), f, [&](double x, int64_t j) { return x < fit[j]; });
          elite_idx.insert(at, i);
          if (int64_t(elite_idx.size()) == elite) worst = fit[elite_idx.back()];
        }
      }
    } else {
      std::copy(fit.begin(), fit.end(), tmp.begin());
      std::nth_element(tmp.begin(), tmp.begin() + (elite - 1), tmp.end());
      const double v = tmp[elite - 1];
      for (int64_t i = 0; i < P; ++i)
        if (fit[i] < v) elite_idx.push_back(i);
      for (int64_t i = 0; i < P && int64_t(elite_idx.size()) < elite; ++i)
        if (fit[i] == v) elite_idx.push_back(i);
      std::sort(elite_idx.begin(), elite_idx.end(),
                [&](int64_t x, int64_t y) { return fit[x] < fit[y] || (fit[x] == fit[y] && x < y); });
    }
    // the best of the population entering this generation: the first elite, when there is one
    res.history.push_back(fit[elite > 0 ? elite_idx[0] : best_of(fit)]);
    for (int64_t e = 0; e < elite; ++e) {
      std::copy_n(&genes[elite_idx[e] * W], W, &next[e * W]);
      next_fit[e] = fit[elite_idx[e]];
    }
    const uint64_t gk = gen_key(o.seed, g);
    const uint64_t* G = genes.data();
    const double* F = fit.data();
#pragma omp parallel if (par)
    {
      // 1. tournaments: 2t picks from t words (lo, hi halves); branchless (fitness, index) minimum
#pragma omp for schedule(static)
      for (int64_t i = 0; i < P; ++i) {
        uint64_t k;
        const double f = F[i] + 0.0;  // -0.0 -> +0.0
        std::memcpy(&k, &f, sizeof k);
        key[i] = k;
      }
      tournament_pass(gk, elite, P, key.data(), pa.data(), pb.data(), t, vector);
      // 2. crossover and mutation
      auto mutate = [&](int64_t i, uint64_t ctl) {
        uint64_t* child = &next[i * W];
        int64_t at = skip(uint32_t(ctl >> 32));
        uint32_t slot = slot_mut;
        uint64_t r = 0;
        bool have_hi = false;
        while (at < B) {
          child[at >> 6] ^= uint64_t(1) << (at & 63);
          uint32_t u;
          if (have_hi) {
            u = uint32_t(r >> 32);
            have_hi = false;
          } else {
            r = draw(gk, i, slot++);
            u = uint32_t(r);
            have_hi = true;
          }
          at += 1 + skip(u);
        }
      };
      const int64_t nblocks = vector && W <= kMaxVectorWords ? (P - elite) / 8 : 0;
#ifdef AM_SYNTH_AVX512
#pragma omp for schedule(static) nowait
      for (int64_t blk = 0; blk < nblocks; ++blk) {
        const int64_t i0 = elite + 8 * blk;
        uint64_t ctl[8];
        crossover8_avx512(gk, i0, G, W, pa.data(), pb.data(), next.data(), slot_ctl, slot_mask, cthr, ctl);
        for (int l = 0; l < 8; ++l) mutate(i0 + l, ctl[l]);
      }
#endif
#pragma omp for schedule(static)
      for (int64_t i = elite + 8 * nblocks; i < P; ++i) {
        const uint64_t* a = G + pa[i] * W;
        const uint64_t* b = G + pb[i] * W;
        uint64_t* child = &next[i * W];
        const uint64_t ctl = draw(gk, i, slot_ctl);
        // without crossover the mask is all ones (child = a); branchless, the mask words are drawn either way
        const uint64_t keep = uint64_t(0) - uint64_t((ctl & 0xFFFFFFFFull) >= cthr);
        for (int64_t w = 0; w < W; ++w) {
          const uint64_t m = draw(gk, i, slot_mask + uint32_t(w)) | keep;
          child[w] = (a[w] & m) | (b[w] & ~m);
        }
        mutate(i, ctl);
        if (!vector) {
          // a child equal to a parent (no mutation, and crossover took nothing or the same bits from the other)
          // has the parent's fitness (a pure function of the genes): the scalar fitness pass skips it
          bool same_a = true, same_b = true;
          for (int64_t w = 0; w < W; ++w) {
            same_a &= child[w] == a[w];
            same_b &= child[w] == b[w];
          }
          known[i] = same_a | same_b;
          next_fit[i] = F[same_a ? pa[i] : pb[i]];
        }
      }
      // 3. decoding and fitness (vectorised: every child, the fitness being a pure function of its genes)
      if (vector) {
        fitness_pass(dec, next.data(), W, elite, P, next_fit.data(), true);
      } else {
        std::vector<int32_t> chain(base);
#pragma omp for schedule(static)
        for (int64_t i = elite; i < P; ++i)
          if (!known[i]) next_fit[i] = dec(&next[i * W], chain.data());
      }
    }
    res.evaluations += P - elite;
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - gen_start).count();
    if (g == 1 || g == 2) serial_s += took;
    if (g == 3 || g == 4) threads_s += took;
    genes.swap(next);
    fit.swap(next_fit);
  }

  const int64_t b = best_of(fit);
  res.history.push_back(fit[b]);
  res.ga_chain = base;
  for (int64_t j = 0; j < n; ++j)
    res.ga_chain[pos[j]] = decode(gene_at(&genes[b * W], j * bits, bits, mask), lo, upper[j]);
  res.ga_fitness = fit[b];
  res.chain = res.ga_chain;
  res.fitness = res.ga_fitness;
  if (o.refine)
    res.refine_steps = refine(p, res.chain, res.fitness, o.refine_radius, o.refine_max_steps, res.evaluations);
  totals(p, res.chain.data(), res.macs, res.warps);
  return res;
}

}  // namespace am::synth
