"""The compiled engine: a numba kernel that walks positions one center at a time.

Same algorithm as `engine_numpy` (see there): each context word's input
vector scores the center word's output vector and K negatives drawn once per
center (word2vec.c's skip-gram with pWord2Vec's window-shared negatives). It is
sequential SGD: each center's m x (K+1) scores come from the current
parameters, then its updates are applied, as in word2vec.c. Because all of a
center's scores are taken before any of its updates, a step for one center is
exactly -lr times the reference gradient (checked by `gradcheck`). A center
touches only m + K + 1 rows, which keeps the memory-bound kernel fast. Steps
are that small, so this engine needs no per-row step bound (the numpy engine's
batch step does: see `engine_numpy`).

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

from w2v_cli.engine_numpy import LOSS_EVERY, Batch

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


@njit(inline="always")
def _window(tokens, sentence, radius, i, ctx):
    """Context words of center i into ctx; returns how many."""
    n, r, m = tokens.size, radius[i], 0
    for j in range(max(0, i - r), min(n, i + r + 1)):
        if j != i and sentence[j] == sentence[i]:
            ctx[m] = tokens[j]
            m += 1
    return m


@njit(inline="always")
def _targets(negatives, i, K, prob, alias, state, out):
    """out[1..K] = the K negatives of center i (given, or drawn); returns the rng state."""
    for k in range(K):
        if negatives.shape[0] > 0:
            out[k + 1] = negatives[i, k]
        else:
            state, u = _next(state)
            out[k + 1] = _draw(prob, alias, u)
    return state


@njit(inline="always")
def _scores(W, C, ctx, m, out, K1, g, zero, with_loss):
    """g[a, b] = dJ/dz for input row ctx[a] and output row out[b] (b=0: the center).

    Returns the loss when `with_loss`, else 0 (the loss costs a log per score).
    Rows are indexed in place, not sliced: views would cost reference counting.
    """
    loss = 0.0
    for a in range(m):
        i = ctx[a]
        for b in range(K1):
            j = out[b]
            z = zero[0]
            for e in range(W.shape[1]):
                z += W[i, e] * C[j, e]
            ex = np.exp(-z)  # s(z) = 1/(1+ex), in W's dtype
            g[a, b] = 1.0 / (1.0 + ex) - (1.0 if b == 0 else 0.0)
            if with_loss:  # -log s(z) = log1p(e^-z); -log s(-z) = z + log1p(e^-z); float64, no overflow
                x = np.float64(z)
                lp = np.log1p(np.exp(-x)) if x > -30.0 else -x
                loss += lp if b == 0 else x + lp
    return loss


@njit(inline="always")
def _apply(W, C, ctx, m, out, K1, g, gW, gC, lr):
    """Both gradients from the snapshot, then W[ctx] -= lr gW and C[out] -= lr gC."""
    d = W.shape[1]
    gW[:m] = 0.0
    gC[:K1] = 0.0
    for a in range(m):
        i = ctx[a]
        for b in range(K1):
            j, gab = out[b], g[a, b]
            for e in range(d):
                gW[a, e] += gab * C[j, e]
            for e in range(d):
                gC[b, e] += gab * W[i, e]
    for b in range(K1):
        j = out[b]
        for e in range(d):
            C[j, e] -= lr * gC[b, e]
    for a in range(m):
        i = ctx[a]
        for e in range(d):
            W[i, e] -= lr * gW[a, e]


# Reassociation lets the dot products vectorise; no nnan/ninf, so a diverging
# run still produces the inf/nan the trainer detects. numpy's error model: a
# float division by zero gives inf instead of raising.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@njit(nogil=True, fastmath=FASTMATH, error_model="numpy", cache=True)
def train_positions(W, C, tokens, sentence, radius, centers, negatives, prob, alias, K, lr0, lr1, seed, loss_every):
    """Skip-gram negative-sampling updates for every center position, in order.

    W, C (V, d); tokens, sentence, radius, centers (N,); negatives (N, K) or
    (0, K) to draw them here from the alias table (prob, alias). lr moves
    linearly from lr0 to lr1. Inner loops run in the dtype of W (float32 in
    training, so they vectorise; float64 in gradcheck). The loss is measured
    on every `loss_every`-th center.
    Returns (loss of the measured centers, their pairs, all pairs trained).
    """
    n, d, K1 = tokens.size, W.shape[1], K + 1
    ctx = np.empty(2 * 64, np.int64)
    out = np.empty(K1, np.int64)  # the center, then its K negatives
    g = np.empty((2 * 64, K1), W.dtype)
    gW = np.empty((2 * 64, d), W.dtype)
    gC = np.empty((K1, d), W.dtype)
    zero = np.zeros(1, W.dtype)
    lr = np.empty(1, W.dtype)  # casts the float64 schedule to W's dtype
    state = np.uint64(seed) | np.uint64(1)
    loss, measured, pairs = 0.0, 0, 0
    for i in range(n):
        if not centers[i]:
            continue
        m = _window(tokens, sentence, radius, i, ctx)
        if m == 0:
            continue
        out[0] = tokens[i]
        state = _targets(negatives, i, K, prob, alias, state, out)
        with_loss = i % loss_every == 0 or measured == 0  # so a job with pairs always has a loss
        loss += _scores(W, C, ctx, m, out, K1, g, zero, with_loss)
        measured += m if with_loss else 0
        lr[0] = lr0 + (lr1 - lr0) * (i / n)
        _apply(W, C, ctx, m, out, K1, g, gW, gC, lr[0])
        pairs += m
    return loss, measured, pairs


def kernel_step_delta(W, C, batch: Batch, window: int, lr: float):
    """Sum over centers of one kernel step from the same (W, C): (dW, dC, loss).

    Equals -lr times the reference batch gradient (`gradcheck.reference_batch`).
    """
    dW, dC, loss = np.zeros_like(W), np.zeros_like(C), 0.0
    radius = np.minimum(batch.radius, window).astype(np.int64)
    prob, alias = np.ones(1), np.zeros(1, np.int64)
    for i in np.flatnonzero(batch.centers):
        W1, C1 = W.copy(), C.copy()
        only = np.zeros(batch.tokens.size, np.bool_)
        only[i] = True
        value, _, _ = train_positions(
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
            1,
        )
        dW += W1 - W
        dC += C1 - C
        loss += value
    return dW, dC, loss


class NumbaEngine:
    """Jobs of about JOB_TOKENS positions, cut at sentence ends; kernel draws the negatives."""

    name = "numba"

    def __init__(self, cfg, vocab_size: int, noise: tuple[np.ndarray, np.ndarray]) -> None:
        if cfg.window > 64:
            from w2v_cli.errors import W2VError

            raise W2VError("engine 'numba' supports window <= 64; use --engine numpy")
        self.cfg = cfg
        self.no_negatives = np.zeros((0, cfg.negative), np.int64)
        self.noise = noise  # alias table (prob, alias): the kernel draws negatives from it

    def make_jobs(self, tokens, sentence, radius, rng):
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
        prob, alias = self.noise
        negs = self.no_negatives
        K = self.cfg.negative
        loss, measured, pairs = train_positions(
            W, C, tokens, sentence, radius, centers, negs, prob, alias, K, job.lr, job.lr_end, seed, LOSS_EVERY
        )
        return (loss * pairs / measured if measured else 0.0), pairs  # measured > 0 whenever pairs > 0
