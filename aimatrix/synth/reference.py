"""Pure numpy reference of the synthesizer: fitness, GA and refinement, bit for bit as ``csrc/synth``.

The native code (``aimatrix._core.synth_*``) is what ``synthesize`` uses; this
module exists to test it: the same problem dict, the same splitmix64-keyed
random numbers, the same selection / crossover / mutation / elitism and the same
refinement, so ``run_ga(prob, opts)`` returns what the native GA returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .model import free_positions, upper

_M64 = (1 << 64) - 1
_GEN_STEP = 0x632BE59BD9B4E019
_SLOT_BITS = 16
_LO = np.uint64(0xFFFFFFFF)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """Vectorised splitmix64 on uint64 arrays (wrapping arithmetic)."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _gen_key(seed: int, g: int) -> np.uint64:
    return splitmix64(np.uint64((seed + _GEN_STEP * (g + 1)) & _M64))


def draw(gkey: np.uint64, i: np.ndarray, slot: int) -> np.ndarray:
    """word(g, i, slot) = splitmix64(gkey ^ ((i << 16) | slot))."""
    i = np.asarray(i, dtype=np.uint64)
    return splitmix64(np.uint64(gkey) ^ ((i << np.uint64(_SLOT_BITS)) | np.uint64(slot)))


def ga_random(seed: int, generation: int, individual: int, slot: int) -> int:
    return int(draw(_gen_key(seed, generation), np.array([individual]), slot)[0])


# -- the problem --------------------------------------------------------------------------
def _layer_models(prob: dict) -> list[tuple]:
    wm = prob.get("warp_model", (32, 1, 1))
    many = len(wm) > 0 and isinstance(wm[0], (list, tuple))
    ms = [tuple(x) for x in wm] if many else [tuple(wm)] * len(prob["kernels"])
    return [m if len(m) == 7 else (*m, 1, 1, 0, 0) for m in ms]


def _cdiv(a: np.ndarray, b: int) -> np.ndarray:
    return -(-a // b)


def totals_batch(prob: dict, chains: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(MACs, warps) of each row [input channels, filters...] of ``chains`` (int64 arrays)."""
    c = np.asarray(chains, dtype=np.int64)
    strides = prob.get("strides") or [1] * len(prob["kernels"])
    macs = np.zeros(len(c), dtype=np.int64)
    warps = np.zeros(len(c), dtype=np.int64)
    for i, ((kh, kw), (tm, tn, wpt, ctas, kc, reduce, bias)) in enumerate(zip(prob["kernels"], _layer_models(prob))):
        M = prob["batch"] * -(-prob["h"] // strides[i]) * -(-prob["w"] // strides[i])  # SAME: ceil(H / s) x ceil(W / s)
        cin, n = c[:, i], c[:, i + 1]
        macs += M * kh * kw * cin * n
        tiles = _cdiv(M, tm) * _cdiv(n, tn)
        split = np.maximum(1, np.minimum(_cdiv(ctas, np.maximum(tiles, 1)), _cdiv(cin * kh * kw, kc)))
        warps += tiles * split * wpt
        if reduce == 1:
            warps += np.where(split > 1, 4 * _cdiv(M * n, 512), 0)
        elif reduce == 2:
            warps += np.where(split > 1, 4 * _cdiv(M * n * split, 512), 0)
        if bias:
            warps += 4 * _cdiv(M * n, 512)
    return macs, warps


def fitness_batch(prob: dict, chains: np.ndarray) -> np.ndarray:
    """0.5 |MAC - MAC_real| / MAC_real + 0.5 |WP - WP_real| / WP_real per row."""
    macs, warps = totals_batch(prob, chains)
    mr, wr = float(prob["macs_real"]), float(prob["warps_real"])
    return 0.5 * np.abs(macs.astype(np.float64) - mr) / mr + 0.5 * np.abs(warps.astype(np.float64) - wr) / wr


def totals(prob: dict, chain) -> tuple[int, int]:
    m, w = totals_batch(prob, np.asarray([chain]))
    return int(m[0]), int(w[0])


def _fit1(prob: dict, chain) -> float:
    return float(fitness_batch(prob, np.asarray([chain]))[0])


# -- refinement ---------------------------------------------------------------------------
def refine(prob: dict, chain, radius: int = 3, max_steps: int = 10000) -> tuple[list[int], float, int]:
    """Best-improvement local search on the free chain entries (mirrors synth::refine)."""
    pos = free_positions(prob)
    cur = np.array(chain, dtype=np.int64)
    fit = _fit1(prob, cur)
    fmax = (1 << prob["bits"]) - 1
    steps_d = []
    d = 1
    while d <= fmax:
        steps_d.append(d)
        d *= 2
    # candidate moves in the native enumeration order
    moves: list[tuple[int, int, int, int]] = []
    for jj in range(len(pos)):
        for d in steps_d:
            moves.append((pos[jj], d, -1, 0))
            moves.append((pos[jj], -d, -1, 0))
    for jj in range(len(pos)):
        for kk in range(jj + 1, len(pos)):
            for dj in range(-radius, radius + 1):
                for dk in range(-radius, radius + 1):
                    if dj != 0 and dk != 0:
                        moves.append((pos[jj], dj, pos[kk], dk))
    mv = np.array(moves, dtype=np.int64).reshape(-1, 4)
    ups = np.array([upper(prob, p) if p in pos else 0 for p in range(len(cur))], dtype=np.int64)
    steps = 0
    while steps < max_steps and len(mv):
        cand = np.repeat(cur[None, :], len(mv), axis=0)
        rows = np.arange(len(mv))
        cand[rows, mv[:, 0]] += mv[:, 1]
        two = mv[:, 2] >= 0
        cand[rows[two], mv[two, 2]] += mv[two, 3]
        lo = prob.get("min_filters", 1)
        ok = (cand[rows, mv[:, 0]] >= lo) & (cand[rows, mv[:, 0]] <= ups[mv[:, 0]])
        k2 = np.where(two, mv[:, 2], 0)
        ok &= ~two | ((cand[rows, k2] >= lo) & (cand[rows, k2] <= ups[k2]))
        f = np.full(len(mv), np.inf)
        f[ok] = fitness_batch(prob, cand[ok])
        b = int(np.argmin(f))  # first minimum = the native's strict '<' scan
        if not f[b] < fit:
            break
        cur, fit = cand[b], float(f[b])
        steps += 1
    return [int(v) for v in cur], fit, steps


# -- the GA -------------------------------------------------------------------------------
def skip_thresholds(p: float, nbits: int) -> np.ndarray:
    """thr[0..nbits]: thr[0] = 2^32, thr[k] = thr[k-1] * q >> 32, q = floor((1 - p) 2^32 + 0.5) (exact integers)."""
    q = int((1.0 - p) * 4294967296.0 + 0.5)
    thr = [1 << 32]
    for _ in range(nbits):
        thr.append(thr[-1] * q >> 32)
    return np.array(thr, dtype=np.uint64)


def run_ga(prob: dict, options: dict | None = None) -> dict[str, Any]:
    """The GA + refinement of ``csrc/synth/ga.cpp`` in numpy; same result for the same seed (see ga.hpp)."""
    o = {
        "population": 5000,
        "generations": 50,
        "seed": 0,
        "tournament": 3,
        "crossover": 0.9,
        "mutation": -1.0,
        "elite": -1,
        "refine": True,
        "refine_radius": 3,
        "refine_max_steps": 10000,
        **(options or {}),
    }
    bits = prob["bits"]
    if not 1 <= bits <= 20:
        raise ValueError(f"bits={bits!r} is not allowed: gene length must be 1..20")
    P, G, t = int(o["population"]), int(o["generations"]), int(o["tournament"])
    if P < 2:
        raise ValueError(f"population={P} is not allowed: it must be >= 2")
    pos = free_positions(prob)
    n, c = len(pos), len(prob["kernels"]) + 1
    B = n * bits  # chromosome bits
    W = (B + 63) // 64  # 64-bit words
    last_mask = np.uint64((1 << (B % 64)) - 1 if B % 64 else _M64)
    pmut = 1.0 / n if o["mutation"] < 0 else float(o["mutation"])
    thr = skip_thresholds(pmut / bits, B)
    cthr = int(float(o["crossover"]) * 4294967296.0)
    elite = max(1, P // 100) if o["elite"] < 0 else int(o["elite"])
    seed = int(o["seed"]) & _M64
    lo = prob.get("min_filters", 1)
    base = np.zeros(c, dtype=np.int64)
    base[0] = prob["cin0"]
    base[-1] = prob.get("last_fixed", 0)
    ups = np.array([upper(prob, p) for p in pos], dtype=np.int64)
    idx = np.arange(P, dtype=np.uint64)

    def genes_of(words: np.ndarray) -> np.ndarray:
        """Unpack the n bits-bit genes of each row of packed words (little-endian bit string)."""
        bitarr = np.unpackbits(words.astype("<u8").view(np.uint8).reshape(len(words), -1), axis=1, bitorder="little")
        g = bitarr[:, :B].reshape(len(words), n, bits).astype(np.int64)
        return (g << np.arange(bits, dtype=np.int64)).sum(axis=2)

    def chains_of(words: np.ndarray) -> np.ndarray:
        ch = np.repeat(base[None, :], len(words), axis=0)
        ch[:, pos] = np.minimum(np.maximum(genes_of(words), lo), ups)
        return ch

    def skip(u: np.ndarray) -> np.ndarray:
        """The number of k in 1..B with u < thr[k] (thr is decreasing)."""
        return (u[:, None] < thr[None, 1:]).sum(axis=1)

    k0 = _gen_key(seed, -1)
    genes = np.stack([draw(k0, idx, w) for w in range(W)], axis=1)
    genes[:, -1] &= last_mask
    fit = fitness_batch(prob, chains_of(genes))
    evals = P
    history = [float(fit[np.argmin(fit)])]
    for g in range(G):
        order = np.lexsort((np.arange(P), fit))[:elite]
        gk = _gen_key(seed, g)
        kids = idx[elite:]
        words = [draw(gk, kids, k) for k in range(t)]
        picks = []
        for h in range(2 * t):
            u = words[h >> 1] >> np.uint64(32) if h & 1 else words[h >> 1] & _LO
            picks.append(((u * np.uint64(P)) >> np.uint64(32)).astype(np.int64))

        def tour(cands: list) -> np.ndarray:
            best = cands[0]
            for cand in cands[1:]:
                better = (fit[cand] < fit[best]) | ((fit[cand] == fit[best]) & (cand < best))
                best = np.where(better, cand, best)
            return best

        a, b = tour(picks[:t]), tour(picks[t:])
        ctl = draw(gk, kids, t)
        cross = (ctl & _LO) < np.uint64(min(cthr, 1 << 32)) if cthr < (1 << 32) else np.ones(len(kids), bool)
        masks = np.stack([draw(gk, kids, t + 1 + w) for w in range(W)], axis=1)
        child = np.where(cross[:, None], (genes[a] & masks) | (genes[b] & ~masks), genes[a])
        # mutation: geometric skipping over the B bits of each child
        at = skip(ctl >> np.uint64(32))
        k = 0  # index of the next 32-bit uniform of the mutation stream
        live = np.nonzero(at < B)[0]
        while len(live):
            p_ = at[live]
            child[live, p_ >> 6] ^= np.left_shift(np.uint64(1), (p_ & 63).astype(np.uint64))
            r = draw(gk, kids[live], t + 1 + W + (k >> 1))
            u = r >> np.uint64(32) if k & 1 else r & _LO
            at[live] = p_ + 1 + skip(u)
            k += 1
            live = live[at[live] < B]
        new_fit = np.empty(P)
        new_fit[:elite] = fit[order]
        new_fit[elite:] = fitness_batch(prob, chains_of(child))
        evals += P - elite
        genes = np.concatenate([genes[order], child])
        fit = new_fit
        history.append(float(fit[np.argmin(fit)]))
    best = int(np.argmin(fit))
    ga_chain = [int(v) for v in chains_of(genes[best : best + 1])[0]]
    chain, f, steps = ga_chain, float(fit[best]), 0
    if o["refine"]:
        chain, f, steps = refine(prob, ga_chain, int(o["refine_radius"]), int(o["refine_max_steps"]))
    macs, warps = totals(prob, chain)
    return {
        "chain": chain,
        "ga_chain": ga_chain,
        "fitness": f,
        "ga_fitness": float(fit[best]),
        "macs": macs,
        "warps": warps,
        "history": history,
        "evaluations": evals,
        "refine_steps": steps,
    }
