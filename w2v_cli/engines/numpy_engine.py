"""The numpy engine: batches of `batch_words` centers, one vectorised update each.

The gradients come from `numpy_math` (see there). Every score of a batch comes
from one parameter snapshot (a synchronous step), so a row that takes part in
many scores (a frequent noise word gets hundreds per batch) would receive the
sum of many stale steps at once and overshoot where sequential SGD corrects
itself after each one. `apply_rows` therefore divides a row's summed step by
max(1, lr * h), where h = sum sigmoid'(s) |x|^2 over the scores s = row . x it
took part in: h bounds the curvature of the batch loss along that row, and
lr * h <= 1 means plain SGD cannot overshoot. Rows with lr * h <= 1 (every row
of a small batch) get exactly -lr * gradient. With N workers, N steps may land
on a row at once, each from the same stale view, and they add up. For
skip-gram with negative sampling the bound is lr * h * N / 2: N such steps sum
to at most 2/h, and gradient descent along curvature h is stable below 2/h (2
workers need no more than one). Where every center of a batch steps the same
rows (the top of the Huffman tree; CBOW's context rows through h) the bound
stays lr * h * N: with N / 2, 2 workers diverged with skip-gram HS and failed
to learn the planted relations with CBOW HS in the tests.
CBOW (and CBOW HS) steps each context row by the full dJ/dh, so the mean h moves
by that step: a context row's h is the curvature along h, m^2 times its own.

Several workers run as forked processes where possible (`processes`): a step
holds the GIL for a sixth of its time, so threads would wait on each other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from w2v_cli import sampling
from w2v_cli.config import worker_count
from w2v_cli.engines.base import LOSS_EVERY, Batch, Engine, Job, tree_arrays
from w2v_cli.engines.numpy_math import (
    RowGrads,
    cbow_grads,
    cbow_softmax_grads,
    hs_grads,
    neg_grads,
    scatter_add,
    softmax_grads,
)

Array = np.ndarray
SOFTMAX_CELLS = 4_000_000  # the (batch, V) softmax matrix stays under this many floats
_scratch = threading.local()  # per thread: the (V,) slot array of `group_rows`


class NumpyEngine(Engine):
    """Vectorised numpy updates over batches of `batch_words` center positions."""

    processes = True
    main_thread_steps = True

    def __init__(self, cfg, vocab_size: int, noise: tuple[Array, Array], counts=None) -> None:
        self.window, self.negative, self.loss, self.model = cfg.window, cfg.negative, cfg.loss, cfg.model
        self.noise = noise  # alias table (prob, alias) of the noise distribution
        self.batch = cfg.batch_words
        self.tree = tree_arrays(counts) if cfg.loss == "hs" else None  # C is then theta (V - 1, d)
        self.concurrent = worker_count(cfg)  # workers stepping the same rows at once
        if cfg.loss == "softmax":
            self.batch = max(16, min(self.batch, SOFTMAX_CELLS // max(vocab_size, 1)))

    @classmethod
    def scratch_bytes(cls, cfg, vocab_size: int) -> int:
        """A batch's gathered rows and gradients (float64 included), or its softmax matrix, and the (V,) slots."""
        pairs = (cfg.batch_words + 2 * cfg.window) * 2 * cfg.window
        rows = pairs * (cfg.negative + 2) * cfg.dim * 8
        if cfg.loss == "hs":  # an entry per (input, path node): 4 float32 (E, d) arrays, paths of up to ~20 nodes
            rows = pairs * 20 * cfg.dim * 4 * 4
        if cfg.loss == "softmax":
            rows = max(rows, 3 * 8 * SOFTMAX_CELLS)
        return rows + 16 * vocab_size + (16 << 20)

    def make_jobs(self, tokens, sentence, radius, rng) -> Iterator[tuple[Batch, int]]:
        """Batches with context margins of `window` positions on each side."""
        n, m, k = tokens.size, self.window, self.negative
        for s in range(0, n, self.batch):
            e = min(n, s + self.batch)
            lo, hi = max(0, s - m), min(n, e + m)
            centers = np.zeros(hi - lo, bool)
            centers[s - lo : e - lo] = True
            neg = sampling.draw_negatives(rng, self.noise, (hi - lo, k)) if self.loss == "neg" else None
            yield Batch(tokens[lo:hi], sentence[lo:hi], radius[lo:hi], centers, neg), e - s

    def run(self, W, C, job: Job) -> tuple[float, int]:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported by the pipeline
            args = (self.window, job.lr, self.loss, LOSS_EVERY, self.model, self.tree, self.concurrent)
            return step(W, C, job.payload, *args)


def _slots(size: int) -> Array:
    """This thread's scratch array of at least `size` ints (contents undefined)."""
    slots = getattr(_scratch, "slots", None)
    if slots is None or slots.size < size:
        slots = _scratch.slots = np.empty(size, np.intp)
    return slots


def group_rows(idx: Array, size: int) -> tuple[Array, Array, Array]:
    """Group rows by id without sorting: (words, kept, inv) for ids in [0, size).

    words (U,) are the distinct ids, kept (R,) marks one row of each id (the one that
    carries it) and inv (R,) gives each row's place in words: words[inv] == idx.
    Each row writes its number into its id's slot and reads back the winner, so
    this is O(R) where `np.unique` sorts. Example:
    `group_rows(np.array([5, 2, 5]), 8)` -> words [2, 5], inv [1, 0, 1], and kept
    marks row 1 and one of rows 0 and 2.
    """
    pos = np.arange(idx.size)
    slots = _slots(size)
    slots[idx] = pos  # one write per id survives
    rep = slots[idx]  # (R,) the row that carries each row's id
    kept = rep == pos
    inv = (np.cumsum(kept) - 1)[rep]
    return idx[kept], kept, inv


def apply_rows(M: Array, rows: RowGrads, lr: float, spread: float = 1.0) -> None:
    """M[w] -= lr * g_w / max(1, lr * h_w * spread) for each word w, g_w and h_w summed over its rows.

    `spread`: how many bounded steps may add up on one row (`step_spread`), as
    workers step the same rows at once, each from what it read before the others' steps.
    Example: one row, grad [[2.0]], curv [0.5], lr 0.1 -> M[w] -= 0.2 (plain SGD);
    curv [50.0] -> lr * h = 5, so M[w] -= 0.2 / 5; with spread 2, 0.2 / 10.
    """
    d = M.shape[1]
    words, kept, inv = group_rows(rows.idx, M.shape[0])
    h = np.bincount(inv, weights=rows.curv, minlength=words.size)
    scale = (-lr / np.maximum(1.0, lr * h * spread)).astype(M.dtype)  # (U,)
    total = rows.grad[kept].astype(M.dtype, copy=False)  # (U, d): one row of each word ...
    rest = np.flatnonzero(~kept)
    if rest.size:  # ... plus the others
        flat = (inv[rest][:, None] * d + np.arange(d)).ravel()
        np.add.at(total.reshape(-1), flat, np.take(rows.grad, rest, axis=0).ravel())
    total *= scale[:, None]
    total += np.take(M, words, axis=0)
    M[words] = total


def step(
    W: Array, C: Array, batch: Batch, window: int, lr: float, loss: str = "neg", loss_every: int = 1,
    model: str = "skipgram", tree: tuple | None = None, concurrent: int = 1,
) -> tuple[float, int]:  # fmt: skip
    """One update of W and C in place, rows bounded as the module docstring says. Returns (loss, pairs).

    CBOW's context rows step by m dJ/dW[o] = dJ/dh, word2vec.c's update (as the C engine's).
    For loss "hs", C is theta (V - 1, d) and `tree` the vocabulary's `base.tree_arrays`.
    `concurrent`: the workers stepping W and C at the same time (see `step_spread`).
    """
    spread = step_spread(model, loss, concurrent)
    if loss == "hs" or model == "cbow":
        value, count, rows_W, rows_C, m = _scaled_grads(W, C, batch, window, loss, model, tree, loss_every)
        if count:
            apply_rows(W, rows_W, lr, spread)
            apply_rows(C, rows_C, lr, spread)
        return value, count
    if loss == "softmax":
        value, pairs, gV, gC = softmax_grads(W, C, batch, window)
        C -= np.asarray(lr * gC, C.dtype)
        scatter_add(W, batch.tokens, gV, -lr)
        return value, pairs
    value, pairs, rows_W, rows_C = neg_grads(W, C, batch, window, loss_every)
    if pairs:
        apply_rows(W, rows_W, lr, spread)
        apply_rows(C, rows_C, lr, spread)
    return value, pairs


def step_spread(model: str, loss: str, workers: int) -> float:
    """How many bounded steps may add up on one row with `workers` stepping at once (module docstring).

    Example: `step_spread("skipgram", "neg", 2)` -> 1.0; `step_spread("skipgram", "hs", 2)` -> 2.0.
    """
    return max(1.0, workers / 2) if (model, loss) == ("skipgram", "neg") else float(workers)


def _scaled_grads(W, C, batch, window, loss, model, tree, loss_every):
    """HS or CBOW gradient rows, each W row scaled by its m (1 for skip-gram HS): (loss, count, W rows, C rows, m)."""
    if loss == "hs":
        value, count, rows_W, rows_C, m = hs_grads(W, C, batch, window, tree, model)
    elif loss == "softmax":
        value, count, rows_W, rows_C, m = cbow_softmax_grads(W, C, batch, window)
    else:
        value, count, rows_W, rows_C, m = cbow_grads(W, C, batch, window, loss_every)
    rows_W.grad *= m[:, None]
    rows_W.curv *= m * m  # all of a center's context rows move h together: bound h's step
    return value, count, rows_W, rows_C, m
