"""The vectorised numpy engine: one skip-gram update over a batch of positions.

A `Batch` is a run of token positions. Each center position i sees the
contexts j within its drawn radius in the same sentence.
- Negative sampling (word2vec.c's orientation, pWord2Vec's shared negatives):
  each context's input vector W[t_j] scores the center's output vector C[t_i]
  and K negatives neg_i drawn once for position i, so the loss of center i is
  sum_j `losses.neg_sampling_loss_and_gradient(W[t_j], t_i, C, neg_i)`.
- Softmax: the center's input vector predicts each context word,
  sum_j `losses.softmax_loss_and_gradient(W[t_i], t_j, C)`.

The work is done in position space: gather each position's vectors once
(W[t], C[t]: (N, d); C[neg]: (N, K, d)), then for each offset 1..m score the
aligned rows of shifted views; then one scatter-add per gradient row. Every
gradient is computed from the same parameter snapshot (a synchronous batch
step), and a word that occurs several times gets the sum
of its contributions. `batch_loss_and_grads` is the code the trainer runs;
`gradcheck` checks it against finite differences and against `losses.py`.

Positions with `centers[i] == False` are context-only margins, so windows
across batch boundaries are trained exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass
class Batch:
    """Positions to train on; every array is indexed by position."""

    tokens: Array  # (N,) word ids
    sentence: Array  # (N,) sentence number: windows never cross sentences
    radius: Array  # (N,) dynamic window radius, 1..window
    centers: Array  # (N,) bool, positions that act as centers
    negatives: Array | None = None  # (N, K) noise words shared by a center's window


def _sigmoid(z: Array) -> Array:
    """Stable sigmoid in the dtype of `z` (float32 in training)."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _log_sigmoid(z: Array) -> Array:
    return -np.logaddexp(0.0, -z)


def offset_masks(batch: Batch, window: int):
    """Yield (off, fwd, bwd): fwd[i] = pair (center i, context i+off) is trained,
    bwd[i] = pair (center i+off, context i) is trained."""
    s, r, c = batch.sentence, batch.radius, batch.centers
    for off in range(1, min(window, s.size - 1) + 1):
        same = s[:-off] == s[off:]
        yield off, same & (r[:-off] >= off) & c[:-off], same & (r[off:] >= off) & c[off:]


def _pairs_grad(Vin, Uc, Un, mask, gVin, gUc, gUn) -> float:
    """Pairs (context input row Vin[p], center output row Uc[p] and its negatives Un[p]).

    Rows are aligned position views; only rows where `mask` is set are trained.
    Adds into the gradient views gVin, gUc, gUn; returns the loss.
    """
    idx = np.flatnonzero(mask)
    v, u, un = Vin[idx], Uc[idx], Un[idx]  # (n, d), (n, d), (n, K, d)
    z = np.einsum("nd,nd->n", v, u)
    zk = np.einsum("nd,nkd->nk", v, un)
    g = _sigmoid(z) - 1.0  # (n,)
    gk = _sigmoid(zk)  # (n, K)
    gVin[idx] += g[:, None] * u + np.einsum("nk,nkd->nd", gk, un)
    gUc[idx] += g[:, None] * v
    gUn[idx] += gk[:, :, None] * v[:, None, :]
    return -float(_log_sigmoid(z).sum() + _log_sigmoid(-zk).sum())


def neg_grads(W: Array, C: Array, batch: Batch, window: int):
    """Negative-sampling loss and position-space gradients.

    Returns (loss, pairs, gV (N, d) for W[t], gU (N, d) for C[t], gN (N, K, d) for C[neg]).
    """
    t, neg = batch.tokens, batch.negatives
    V_, U_, Un = W[t], C[t], C[neg]  # (N, d), (N, d), (N, K, d)
    gV, gU, gN = np.zeros_like(V_), np.zeros_like(U_), np.zeros_like(Un)
    loss, pairs = 0.0, 0
    for off, fwd, bwd in offset_masks(batch, window):
        # fwd: center i, context i+off; bwd: center i+off, context i
        loss += _pairs_grad(V_[off:], U_[:-off], Un[:-off], fwd, gV[off:], gU[:-off], gN[:-off])
        loss += _pairs_grad(V_[:-off], U_[off:], Un[off:], bwd, gV[:-off], gU[off:], gN[off:])
        pairs += int(fwd.sum() + bwd.sum())
    return loss, pairs, gV, gU, gN


def softmax_grads(W: Array, C: Array, batch: Batch, window: int):
    """Exact-softmax loss and gradients: (loss, pairs, gV (N, d) for W[t], gC (V, d) dense).

    Costs O(N V d): meant for small vocabularies and for checking.
    """
    t = batch.tokens
    cs, os_ = [], []
    for off, fwd, bwd in offset_masks(batch, window):
        i = np.flatnonzero(fwd)
        j = np.flatnonzero(bwd)
        cs += [i, j + off]
        os_ += [i + off, j]
    ci = np.concatenate(cs) if cs else np.zeros(0, np.int64)
    oi = np.concatenate(os_) if os_ else np.zeros(0, np.int64)
    rows, inv = np.unique(ci, return_inverse=True)  # centers with >= 1 context
    Vc = W[t[rows]]  # (R, d)
    logits = Vc @ C.T  # (R, V)
    logits -= logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(logits).sum(axis=1))
    P = np.exp(logits - lse[:, None])
    loss = float((lse[inv] - logits[inv, t[oi]]).sum())
    n_ctx = np.bincount(inv, minlength=rows.size).astype(W.dtype)
    delta = n_ctx[:, None] * P  # (R, V)
    np.add.at(delta, (inv, t[oi]), -1.0)
    gV = np.zeros_like(W[t])
    gV[rows] = delta @ C
    return loss, int(ci.size), gV, delta.T @ Vc


def scatter_add(M: Array, idx: Array, rows: Array, scale: float) -> None:
    """M[idx[i]] += scale * rows[i] for every i, repeats accumulated.

    Example: M=zeros((2,1)); scatter_add(M, [0, 0], [[1], [2]], 1.0) -> M=[[3], [0]].
    """
    d = M.shape[1]
    flat = (np.asarray(idx, np.int64)[:, None] * d + np.arange(d)).ravel()
    np.add.at(M.reshape(-1), flat, (scale * rows).astype(M.dtype, copy=False).ravel())


def batch_loss_and_grads(W: Array, C: Array, batch: Batch, window: int, loss: str = "neg"):
    """Loss, trained pairs, and dense gradients (dJ/dW, dJ/dC): the trainer's math, for checking."""
    gW, gC = np.zeros_like(W), np.zeros_like(C)
    if loss == "softmax":
        value, pairs, gV, gC_dense = softmax_grads(W, C, batch, window)
        gC += gC_dense
    else:
        value, pairs, gV, gU, gN = neg_grads(W, C, batch, window)
        scatter_add(gC, batch.tokens, gU, 1.0)
        scatter_add(gC, batch.negatives.ravel(), gN.reshape(-1, W.shape[1]), 1.0)
    scatter_add(gW, batch.tokens, gV, 1.0)
    return value, pairs, gW, gC


def step(W: Array, C: Array, batch: Batch, window: int, lr: float, loss: str = "neg"):
    """One SGD step in place: W -= lr dJ/dW, C -= lr dJ/dC. Returns (loss, pairs)."""
    d = W.shape[1]
    if loss == "softmax":
        value, pairs, gV, gC = softmax_grads(W, C, batch, window)
        C -= np.asarray(lr * gC, C.dtype)
    else:
        value, pairs, gV, gU, gN = neg_grads(W, C, batch, window)
        idx = np.concatenate([batch.tokens, batch.negatives.ravel()])
        scatter_add(C, idx, np.concatenate([gU, gN.reshape(-1, d)]), -lr)
    scatter_add(W, batch.tokens, gV, -lr)
    return value, pairs
