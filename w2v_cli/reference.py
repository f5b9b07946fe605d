"""Reference computations that the gradient checks compare the fast code against.

- `window_pairs`: every (center, context) position pair a batch trains.
- `reference_batch`: a batch's loss and gradients summed one pair at a time
  from the pure functions of `losses.py`.
- `kernel_step_delta`: what one step of the compiled kernel changes (skip-gram
  or CBOW), center by center from the same parameters, so it can be compared
  with -lr times the reference gradient (`reference_cbow_step` for CBOW).
- `reference_hs_step` and `kernel_hs_delta`: the same for hierarchical softmax.
- `random_batch`: a small batch with the awkward cases (a repeated word,
  repeated negatives, two sentences, context-only margins).
"""

from __future__ import annotations

import numpy as np

from w2v_cli import losses, native
from w2v_cli.engines.base import Batch


def window_pairs(
    sentence: np.ndarray, radius: np.ndarray, centers: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All (center, context) position pairs: |i-j| <= radius[i], same sentence, i != j.

    `centers` (bool mask) limits which positions act as centers. The reference
    for what the engines train on.
    Example: sentence [0,0,0], radius [1,1,1] -> centers [0,1,1,2], contexts [1,0,2,1].
    """
    n = sentence.size
    window = int(radius.max()) if n else 0
    cs, os_ = [], []
    for off in range(-window, window + 1):
        if off == 0:
            continue
        i = np.arange(max(0, -off), min(n, n - off))
        j = i + off
        ok = (abs(off) <= radius[i]) & (sentence[i] == sentence[j])
        if centers is not None:
            ok &= centers[i]
        cs.append(i[ok])
        os_.append(j[ok])
    if not cs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    c, o = np.concatenate(cs), np.concatenate(os_)
    order = np.lexsort((o, c))
    return c[order], o[order]


def random_batch(s, rng: np.random.Generator, n: int = 12, loss: str = "neg") -> Batch:
    """A small batch with two sentences, context-only margins and (for neg) repeated negatives."""
    tokens = rng.integers(0, s.vocab, n)
    tokens[1] = tokens[0]  # a word twice in the batch: its updates must add up
    sentence = (np.arange(n) >= n // 2 + 1).astype(np.int64)
    radius = rng.integers(1, s.window + 1, n)
    centers = np.ones(n, bool)
    centers[[0, -1]] = False
    negatives = rng.integers(0, s.vocab, (n, s.negative)) if loss == "neg" else None
    if negatives is not None:
        negatives[:, 0] = negatives[:, 1]
    return Batch(tokens, sentence, radius, centers, negatives)


def reference_batch(W, U, batch: Batch, window: int, loss: str):
    """The batch loss and gradients summed from `losses.py`, one (center, context) pair at a time.

    Negative sampling: context j's input vector scores center i against neg_i,
    i.e. `losses.skipgram(t_j, [t_i], W, U, negatives=[neg_i])`. Softmax: the
    center's input vector predicts the context, `losses.skipgram(t_i, [t_j], W, U, softmax)`.
    """
    cs, os_ = window_pairs(batch.sentence, np.minimum(batch.radius, window), batch.centers)
    total, g_W, g_U = 0.0, np.zeros_like(W), np.zeros_like(U)
    for i, j in zip(cs.tolist(), os_.tolist()):
        c, o = int(batch.tokens[i]), int(batch.tokens[j])
        if loss == "softmax":
            l, gw, gu = losses.skipgram(c, [o], W, U, losses.softmax_loss_and_gradient)
        else:
            l, gw, gu = losses.skipgram(o, [c], W, U, losses.neg_sampling_loss_and_gradient, [batch.negatives[i]])
        total, g_W, g_U = total + l, g_W + gw, g_U + gu
    return total, g_W, g_U


def reference_mode_batch(W, C, batch: Batch, window: int, model: str, loss: str, tree=None):
    """The batch loss and gradients of CBOW (neg, softmax) or HS (both models), summed center by center.

    Each center's term is the `losses.py` function of its mode; for HS, C is
    theta and tree = (paths, codes) of `losses.huffman_tree`. Returns (loss, dJ/dW, dJ/dC).
    """
    total, g_W, g_C = 0.0, np.zeros_like(W), np.zeros_like(C)
    for i, contexts in _center_contexts(batch, window):
        c = int(batch.tokens[i])
        if loss == "hs":
            fn = losses.cbow_hs if model == "cbow" else losses.skipgram_hs
            l, gw, gc = fn(c, contexts, W, C, *tree)
        elif loss == "softmax":
            l, gw, gc = losses.cbow_softmax_loss_and_gradient(W, C, contexts, c)
        else:
            l, gw, gc = losses.cbow_neg_loss_and_gradient(W, C, contexts, c, batch.negatives[i])
        total, g_W, g_C = total + l, g_W + gw, g_C + gc
    return total, g_W, g_C


def reference_cbow_step(W, C, batch: Batch, window: int, lr: float, mean_step: bool):
    """What one CBOW kernel step should change, summed over centers from the same (W, C): (dW, dC, loss).

    Per center i with contexts o_1..o_m: dC = -lr dJ/dC and dW = -lr s dJ/dW, from
    `losses.cbow_neg_loss_and_gradient`, with s = 1 if `mean_step` (the exact
    gradient) else m (word2vec.c's update: the full dJ/dh to every context row).
    """
    dW, dC, total = np.zeros_like(W), np.zeros_like(C), 0.0
    for i, contexts in _center_contexts(batch, window):
        l, g_W, g_C = losses.cbow_neg_loss_and_gradient(W, C, contexts, int(batch.tokens[i]), batch.negatives[i])
        dW -= lr * (1 if mean_step else len(contexts)) * g_W
        dC -= lr * g_C
        total += l
    return dW, dC, total


def kernel_step_delta(W, C, batch: Batch, window: int, lr: float, model: str = "skipgram", mean_step: bool = False):
    """Sum over centers of one kernel step from the same (W, C): (dW, dC, loss).

    For skip-gram it equals -lr times the reference batch gradient (`reference_batch`),
    for CBOW `reference_cbow_step`.
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
        args = (W1, C1, tokens, sentence, radius, only, batch.negatives, noise, K, lr, lr, 1, 1)
        if model == "cbow":
            value, _, _ = native.train_cbow(*args, mean_step)
        else:
            value, _, _ = native.train_positions(*args)
        dW += W1 - W
        dC += C1 - C
        loss += value
    return dW, dC, loss


def _center_contexts(batch: Batch, window: int):
    """(center position, its context words) for every center of the batch that has a context."""
    cs, os_ = window_pairs(batch.sentence, np.minimum(batch.radius, window), batch.centers)
    return [(i, batch.tokens[os_[cs == i]].tolist()) for i in np.unique(cs).tolist()]


def reference_hs_step(W, theta, batch: Batch, window: int, lr: float, tree: tuple, model: str):
    """What one hierarchical-softmax kernel step should change, summed over centers from the same parameters.

    Skip-gram: -lr times the gradient of `losses.skipgram_hs`. CBOW: theta by
    -lr dJ/dtheta of `losses.cbow_hs`, W by -lr m dJ/dW (word2vec.c's full dJ/dh
    to every context row). Returns (dW, dtheta, loss).
    """
    paths, codes = tree
    dW, dT, total = np.zeros_like(W), np.zeros_like(theta), 0.0
    for i, contexts in _center_contexts(batch, window):
        fn = losses.cbow_hs if model == "cbow" else losses.skipgram_hs
        l, g_W, g_T = fn(int(batch.tokens[i]), contexts, W, theta, paths, codes)
        dW -= lr * (len(contexts) if model == "cbow" else 1) * g_W
        dT -= lr * g_T
        total += l
    return dW, dT, total


def kernel_hs_delta(W, theta, batch: Batch, window: int, lr: float, tree_arrays: tuple, model: str):
    """Sum over centers of one hierarchical-softmax kernel step from the same parameters: (dW, dtheta, loss)."""
    dW, dT, loss = np.zeros_like(W), np.zeros_like(theta), 0.0
    tokens, sentence = (np.ascontiguousarray(a, np.int32) for a in (batch.tokens, batch.sentence))
    radius = np.minimum(batch.radius, window).astype(np.int32)
    for i in np.flatnonzero(batch.centers):
        W1, T1 = W.copy(), theta.copy()
        only = np.zeros(tokens.size, np.bool_)
        only[i] = True
        value, _, _ = native.train_hs(W1, T1, tokens, sentence, radius, only, tree_arrays, lr, lr, 1, model == "cbow")
        dW += W1 - W
        dT += T1 - theta
        loss += value
    return dW, dT, loss
