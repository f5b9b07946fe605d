"""The compiled engine: a C kernel (`csrc/kernel.c`) that walks positions one center at a time.

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

Jobs run on Python threads; ctypes releases the GIL for each kernel call, and
threads update W and C without locks (Hogwild, as word2vec.c). Negatives are
drawn in the kernel from the shared noise alias table with a per-job
xorshift64* generator seeded from the run's numpy Generator, so one worker is
bit-reproducible. A job's arrays are views of its segment: no copies.
"""

from __future__ import annotations

import numpy as np

from w2v_cli import ckernel
from w2v_cli.engine_numpy import LOSS_EVERY, Batch

JOB_TOKENS = 50_000  # tokens per job: enough to amortise the call, small enough to share


def kernel_step_delta(W, C, batch: Batch, window: int, lr: float):
    """Sum over centers of one kernel step from the same (W, C): (dW, dC, loss).

    Equals -lr times the reference batch gradient (`gradcheck.reference_batch`).
    """
    dW, dC, loss = np.zeros_like(W), np.zeros_like(C), 0.0
    tokens, sentence = (np.ascontiguousarray(a, np.int32) for a in (batch.tokens, batch.sentence))
    radius = np.minimum(batch.radius, window).astype(np.int32)
    noise = (np.ones(1), np.zeros(1, np.int64))  # unused: the negatives are given
    K = batch.negatives.shape[1]
    for i in np.flatnonzero(batch.centers):
        W1, C1 = W.copy(), C.copy()
        only = np.zeros(tokens.size, np.bool_)
        only[i] = True
        value, _, _ = ckernel.train_positions(
            W1, C1, tokens, sentence, radius, only, batch.negatives, noise, K, lr, lr, 1, 1
        )
        dW += W1 - W
        dC += C1 - C
        loss += value
    return dW, dC, loss


class CEngine:
    """Jobs of about JOB_TOKENS positions, cut at sentence ends; the kernel draws the negatives."""

    name = "c"

    def __init__(self, cfg, vocab_size: int, noise: tuple[np.ndarray, np.ndarray]) -> None:
        if cfg.window > 64:
            from w2v_cli.errors import W2VError

            raise W2VError("engine 'c' supports window <= 64; use --engine numpy")
        self.cfg = cfg
        self.noise = noise  # alias table (prob, alias): the kernel draws negatives from it

    def make_jobs(self, tokens, sentence, radius, rng):
        """Views of the segment's int32 arrays, cut at sentence starts; yields (job, positions)."""
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
            yield (tokens[a:b], sentence[a:b], radius[a:b], seed), b - a

    def run(self, W, C, job) -> tuple[float, int]:
        tokens, sentence, radius, seed = job.payload
        centers = np.ones(tokens.size, np.bool_)
        K = self.cfg.negative
        loss, measured, pairs = ckernel.train_positions(
            W, C, tokens, sentence, radius, centers, None, self.noise, K, job.lr, job.lr_end, seed, LOSS_EVERY
        )
        return (loss * pairs / measured if measured else 0.0), pairs  # measured > 0 whenever pairs > 0
