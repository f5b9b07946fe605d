"""The vectorised numpy engine: one skip-gram update over a batch of positions.

A `Batch` is a run of token positions. Each center position i sees the
contexts within its drawn radius in the same sentence, and (negative sampling)
K negatives that it shares across its window, so its loss is exactly
`losses.skipgram(t_i, contexts, W, C, negatives=[neg_i] * n_i)`.

The work is done in position space: gather each position's vectors once
(W[t], C[t]: (N, d)), then for each offset 1..m take dot products between
shifted views, so no per-pair arrays are built; then one scatter-add per
gradient row. Every gradient is computed from the same parameter snapshot
(a synchronous batch step), and a word that occurs several times gets the sum
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


def _pairs_grad(Vc: Array, Uo: Array, mask: Array, gV: Array, gU: Array) -> float:
    """Positive-pair terms for aligned rows; adds into the gradient views gV, gU."""
    z = np.einsum("nd,nd->n", Vc, Uo)
    g = (_sigmoid(z) - 1.0) * mask  # (n,)
    gV += g[:, None] * Uo
    gU += g[:, None] * Vc
    return -float(_log_sigmoid(z) @ mask)


def neg_grads(W: Array, C: Array, batch: Batch, window: int):
    """Negative-sampling loss and position-space gradients.

    Returns (loss, pairs, gV (N, d) for W[t], gU (N, d) for C[t], gN (N, K, d) for C[neg]).
    """
    t, neg = batch.tokens, batch.negatives
    V_, U_ = W[t], C[t]  # (N, d) each
    gV, gU = np.zeros_like(V_), np.zeros_like(U_)
    n_ctx = np.zeros(t.size, V_.dtype)  # contexts per center
    loss = 0.0
    for off, fwd, bwd in offset_masks(batch, window):
        loss += _pairs_grad(V_[:-off], U_[off:], fwd, gV[:-off], gU[off:])
        loss += _pairs_grad(V_[off:], U_[:-off], bwd, gV[off:], gU[:-off])
        n_ctx[:-off] += fwd
        n_ctx[off:] += bwd
    Un = C[neg]  # (N, K, d)
    z = np.einsum("nd,nkd->nk", V_, Un)
    loss -= float((n_ctx[:, None] * _log_sigmoid(-z)).sum())
    g = n_ctx[:, None] * _sigmoid(z)  # (N, K)
    gV += np.einsum("nk,nkd->nd", g, Un)
    gN = g[:, :, None] * V_[:, None, :]
    return loss, int(n_ctx.sum()), gV, gU, gN


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
