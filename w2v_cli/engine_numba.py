"""The compiled engine: a numba kernel that walks positions one center at a time.

Same algorithm as `engine_numpy` (center vector v_c, the contexts' output
vectors, K negatives shared across the center's window and weighted by its
number of contexts), but sequential: each center's gradient is computed from
the current parameters, then applied, as in word2vec.c. All of one center's
dot products are taken before any of its updates, so a step for one center is
exactly -lr times `losses.skipgram`'s gradient (checked by `gradcheck`).

Jobs run on Python threads; the kernel releases the GIL (`nogil`), and threads
update W and C without locks (Hogwild, as word2vec.c). Negatives are drawn in
the kernel from the shared noise CDF with a per-job xorshift generator seeded
from the run's numpy Generator, so one worker is bit-reproducible.

Importing this module compiles nothing; the first call compiles once and
caches the machine code on disk (numba `cache=True`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from w2v_cli import sampling
from w2v_cli.engine_numpy import Batch

JOB_TOKENS = 50_000  # tokens per job: enough to amortise the call, small enough to share


@njit(inline="always")
def _next(state):
    """xorshift64*: returns (new state, uniform float in [0, 1))."""
    state ^= state >> np.uint64(12)
    state ^= state << np.uint64(25)
    state ^= state >> np.uint64(27)
    x = state * np.uint64(2685821657736338717)
    return state, (x >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(inline="always")
def _draw(prob, alias, u):
    """A word from the noise distribution by its alias table (`sampling.alias_table`)."""
    x = u * prob.size
    i = min(int(x), prob.size - 1)
    return i if x - i < prob[i] else alias[i]


@njit(nogil=True, fastmath=True, cache=True)
def train_positions(W, C, tokens, sentence, radius, centers, negatives, prob, alias, K, lr0, lr1, seed):
    """Skip-gram negative-sampling updates for every center position, in order.

    W, C (V, d); tokens, sentence, radius, centers (N,); negatives (N, K) or
    (0, K) to draw them here from the alias table (prob, alias). lr moves
    linearly from lr0 to lr1.
    Inner loops run in the dtype of W (float32 in training, so they vectorise;
    float64 in gradcheck). Returns (loss, pairs trained).
    """
    n, d = tokens.size, W.shape[1]
    ctx = np.empty(2 * 64 + 1, np.int64)
    neg = np.empty(K, np.int64)
    g = np.empty(2 * 64 + 1 + K, W.dtype)
    gv = np.empty(d, W.dtype)
    sc = np.empty(2, W.dtype)  # casts a float64 scalar to W's dtype
    state = np.uint64(seed) | np.uint64(1)
    loss, pairs = 0.0, 0
    for i in range(n):
        if not centers[i]:
            continue
        c, r, m = tokens[i], radius[i], 0
        for j in range(max(0, i - r), min(n, i + r + 1)):
            if j != i and sentence[j] == sentence[i]:
                ctx[m] = tokens[j]
                m += 1
        if m == 0:
            continue
        for k in range(K):
            if negatives.shape[0] > 0:
                neg[k] = negatives[i, k]
            else:
                state, u = _next(state)
                neg[k] = _draw(prob, alias, u)
        for t in range(m + K):  # all dot products from the same snapshot
            o = ctx[t] if t < m else neg[t - m]
            sc[0] = 0.0
            z = sc[0]
            for e in range(d):
                z += W[c, e] * C[o, e]
            x = np.float64(z)
            ex = np.exp(-x)  # s(x) = 1/(1+ex); -log s(x) = log1p(ex); -log s(-x) = x + log1p(ex)
            if t < m:
                g[t] = 1.0 / (1.0 + ex) - 1.0
                loss += np.log1p(ex)
            else:
                g[t] = m / (1.0 + ex)
                loss += m * (x + np.log1p(ex))
        sc[1] = lr0 + (lr1 - lr0) * (i / n)
        lr = sc[1]
        gv[:] = 0.0
        for t in range(m + K):  # dJ/dv_c from the snapshot of C ...
            o = ctx[t] if t < m else neg[t - m]
            gt = g[t]
            for e in range(d):
                gv[e] += gt * C[o, e]
        for t in range(m + K):  # ... before any row of C moves
            o = ctx[t] if t < m else neg[t - m]
            step = lr * g[t]
            for e in range(d):
                C[o, e] -= step * W[c, e]
        for e in range(d):
            W[c, e] -= lr * gv[e]
        pairs += m
    return loss, pairs


def kernel_step_delta(W, C, batch: Batch, window: int, lr: float):
    """Sum over centers of one kernel step from the same (W, C): (dW, dC).

    Equals -lr times the batch gradient of `losses.skipgram`; used by gradcheck.
    """
    dW, dC = np.zeros_like(W), np.zeros_like(C)
    radius = np.minimum(batch.radius, window).astype(np.int64)
    prob, alias = np.ones(1), np.zeros(1, np.int64)
    for i in np.flatnonzero(batch.centers):
        W1, C1 = W.copy(), C.copy()
        only = np.zeros(batch.tokens.size, np.bool_)
        only[i] = True
        train_positions(
            W1,
            C1,
            batch.tokens.astype(np.int64),
            batch.sentence,
            radius,
            only,
            batch.negatives.astype(np.int64),
            prob,
            alias,
            batch.negatives.shape[1],
            lr,
            lr,
            1,
        )
        dW += W1 - W
        dC += C1 - C
    return dW, dC


class NumbaEngine:
    """Jobs of about JOB_TOKENS positions, cut at sentence ends; kernel draws the negatives."""

    name = "numba"

    def __init__(self, cfg, vocab_size: int) -> None:
        if cfg.window > 64:
            from w2v_cli.errors import W2VError

            raise W2VError("engine 'numba' supports window <= 64; use --engine numpy")
        self.cfg = cfg
        self.no_negatives = np.zeros((0, cfg.negative), np.int64)
        self.alias: tuple[np.ndarray, np.ndarray] | None = None

    def make_jobs(self, tokens, sentence, radius, rng, cdf):
        if self.alias is None or self.alias[0].size != cdf.size:
            self.alias = sampling.alias_table(cdf)
        n = tokens.size
        if n == 0:
            return
        starts = np.flatnonzero(np.diff(sentence)) + 1  # where a new sentence begins
        cuts = [0]
        for target in range(JOB_TOKENS, n, JOB_TOKENS):
            k = np.searchsorted(starts, target)  # first sentence start at or after target
            if k < starts.size and starts[k] > cuts[-1]:
                cuts.append(int(starts[k]))
        cuts.append(n)
        for a, b in zip(cuts[:-1], cuts[1:]):
            seed = int(rng.integers(1, 2**63))
            yield (tokens[a:b].astype(np.int64), sentence[a:b], radius[a:b].astype(np.int64), seed), b - a

    def run(self, W, C, job) -> tuple[float, int]:
        tokens, sentence, radius, seed = job.payload
        centers = np.ones(tokens.size, np.bool_)
        prob, alias = self.alias
        negs = self.no_negatives
        K = self.cfg.negative
        return train_positions(W, C, tokens, sentence, radius, centers, negs, prob, alias, K, job.lr, job.lr_end, seed)
