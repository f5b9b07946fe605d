"""The numpy engine's math: skip-gram loss and gradient rows for a batch of positions.

A `Batch` is a run of token positions. Each center position i sees the
contexts j within its drawn radius in the same sentence.
- Negative sampling (word2vec.c's orientation, pWord2Vec's shared negatives):
  each context's input vector W[t_j] scores the center's output vector C[t_i]
  and K negatives neg_i drawn once for position i, so the loss of center i is
  sum_j `losses.neg_sampling_loss_and_gradient(W[t_j], t_i, C, neg_i)`.
- Softmax: the center's input vector predicts each context word,
  sum_j `losses.softmax_loss_and_gradient(W[t_i], t_j, C)`.

Negative sampling runs as tiled matrix products. Positions are cut into tiles
of B = 2m centers; a tile's inputs are the B + 2m rows W[t] around it (a strided
view, no copy) and its outputs the B (K+1) rows [C[t_i], C[neg_i]], so one
GEMM scores every (context, center, k) of the tile: (B+2m, d) @ (d, B(K+1)).
Only the band |offset| <= radius is a trained pair; the rest is masked. Two
more GEMMs give dJ/dinputs and dJ/doutputs, and a row gets the sum over its
occurrences. Besides each gradient row, `neg_grads` returns its curvature
h = sum sigmoid'(s) |x|^2 over the scores s = row . x it took part in, which
`numpy_engine.apply_rows` uses to bound the step.

`batch_loss_and_grads` is this math as dense gradients, which `gradcheck`
checks against finite differences and against `losses.py`. Positions with
`centers[i] == False` are context-only margins, so windows across batch
boundaries are trained exactly once. CBOW with negative sampling is
`cbow_grads`, gathered per center rather than tiled; hierarchical softmax
(both models) is `hs_grads`, over the flattened Huffman paths, and CBOW's
exact softmax `cbow_softmax_grads`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from w2v_cli.engines.base import Batch

Array = np.ndarray


@dataclass
class RowGrads:
    """Gradient rows for one matrix: row idx[r] gets grad[r]; repeated ids add up."""

    idx: Array  # (R,) word ids
    grad: Array  # (R, d) dJ/d(row)
    curv: Array  # (R,) sum of sigmoid'(s) |x|^2 over the scores s = row . x


def _sigmoid(z: Array) -> Array:
    """Stable sigmoid in the dtype of `z` (float32 in training)."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def offset_masks(batch: Batch, window: int):
    """Yield (off, fwd, bwd): fwd[i] = pair (center i, context i+off) is trained,
    bwd[i] = pair (center i+off, context i) is trained."""
    s, r, c = batch.sentence, batch.radius, batch.centers
    for off in range(1, min(window, s.size - 1) + 1):
        same = s[:-off] == s[off:]
        yield off, same & (r[:-off] >= off) & c[:-off], same & (r[off:] >= off) & c[off:]


def _offsets(m: int) -> list[int]:
    """Window offsets in column order: `_offsets(2)` -> [-2, -1, 1, 2]."""
    return [o for o in range(-m, m + 1) if o != 0]


def _windows(a: Array, rows: int, step: int, count: int) -> Array:
    """Read-only view (count, rows, ...): window j is a[j*step : j*step + rows].

    Example: `_windows(np.arange(6), 3, 2, 2)` -> [[0, 1, 2], [2, 3, 4]].
    """
    s0 = a.strides[0]
    assert a.flags.c_contiguous and (count - 1) * step + rows <= a.shape[0]
    view = np.ndarray((count, rows) + a.shape[1:], a.dtype, a, 0, (step * s0, s0) + a.strides[1:])
    view.flags.writeable = False
    return view


@lru_cache(maxsize=8)
def _band_index(tiles: int, B: int, m: int, K1: int) -> Array:
    """(tiles*B, 2m, K1) flat indices into the (tiles, B+2m, B, K1) score block of
    each (center, offset, k): center b of tile j with offset o is input row b+m+o."""
    p = np.arange(tiles * B)
    j, b = p // B, p % B
    row = b[:, None] + m + np.array(_offsets(m))[None, :]  # (P, 2m)
    cell = ((j[:, None] * (B + 2 * m) + row) * B + b[:, None]) * K1
    return cell[:, :, None] + np.arange(K1)


def _without_center(a: Array, m: int) -> Array:
    """(P, 2m+1) -> (P, 2m): drop column m. Example: [[1, 2, 3]] with m=1 -> [[1, 3]]."""
    return np.concatenate([a[:, :m], a[:, m + 1 :]], axis=1)


def _pair_mask(batch: Batch, m: int, npad: int) -> Array:
    """(npad, 2m) bool: center p and its context at offset column a form a trained pair."""
    n = batch.tokens.size
    sen = np.full(npad + 2 * m, -1, np.int64)
    sen[m : m + n] = batch.sentence
    rad = np.zeros(npad, np.int64)
    rad[:n] = np.where(batch.centers, batch.radius, 0)
    near = _windows(sen, 2 * m + 1, 1, npad)  # (npad, 2m+1): sentences around each center
    same = _without_center(near == sen[m : m + npad, None], m)  # (npad, 2m)
    return same & (rad[:, None] >= np.abs(_offsets(m)))


def _score_grads(S: Array, mask: Array, loss_every: int) -> tuple[float, Array, Array]:
    """Loss, dJ/dS and sigmoid'(S) for scores S (P, 2m, K1); column k=0 is the true pair.

    The loss is measured on every `loss_every`-th center and scaled to all pairs.
    """
    Z = S.copy()
    Z[..., 0] *= -1.0  # Z = score of the wrong answer
    P = _sigmoid(Z)  # its probability
    G = np.where(mask[..., None], P, 0.0).astype(S.dtype)
    H = G * (1.0 - P)
    G[..., 0] *= -1.0
    sub = mask[::loss_every]
    if not sub.any():  # so a batch with pairs always measures some loss
        sub, loss_every = mask, 1
    loss = float(np.logaddexp(0.0, Z[::loss_every][sub]).sum())
    return loss * mask.sum() / max(sub.sum(), 1), G, H


def _to_positions(dX: Array, B: int, m: int, npad: int) -> Array:
    """Overlap-add per-tile input rows (tiles, B+2m, ...) into padded positions (npad+2m, ...)."""
    tiles = dX.shape[0]
    out = np.zeros((npad + B + 2 * m,) + dX.shape[2:], dX.dtype)
    out[:npad].reshape((tiles, B) + dX.shape[2:])[:] += dX[:, :B]
    out[B : B + npad].reshape((tiles, B) + dX.shape[2:])[:, : 2 * m] += dX[:, B:]
    return out[: npad + 2 * m]


def _from_offsets(vals: Array, m: int) -> Array:
    """Sum per-(center, offset) values (npad, 2m) into padded positions (npad+2m,)."""
    npad = vals.shape[0]
    out = np.zeros(npad + 2 * m, vals.dtype)
    for a, o in enumerate(_offsets(m)):
        out[m + o : m + o + npad] += vals[:, a]
    return out


def neg_grads(W: Array, C: Array, batch: Batch, window: int, loss_every: int = 1):
    """Negative-sampling loss, trained pairs, and gradient rows for W and for C."""
    t, m, d = batch.tokens, window, W.shape[1]
    n, K1 = t.size, batch.negatives.shape[1] + 1
    B = 2 * m  # centers per tile: the fewest `_to_positions` allows; more would score more of the masked band
    tiles = -(-n // B)
    npad, R = tiles * B, B + 2 * m
    mask = _pair_mask(batch, m, npad)  # (npad, 2m)
    Vp = np.zeros((npad + 2 * m, d), W.dtype)  # inputs by padded position
    Vp[m : m + n] = np.take(W, t, axis=0)
    outs = np.zeros((npad, K1), np.int64)
    outs[:n, 0], outs[:n, 1:] = t, batch.negatives
    O = np.take(C, outs, axis=0)  # (npad, K1, d)
    X, Ot = _windows(Vp, R, B, tiles), O.reshape(tiles, B * K1, d)  # (tiles, R, d), (tiles, B K1, d)
    S = np.matmul(X, Ot.transpose(0, 2, 1))  # (tiles, R, B K1)
    band = _band_index(tiles, B, m, K1)
    loss, Gb, Hb = _score_grads(S.reshape(-1)[band], mask, loss_every)
    G = np.zeros(S.size, S.dtype)
    G[band] = Gb
    G = G.reshape(S.shape)
    dV = _to_positions(np.matmul(G, Ot), B, m, npad)[m : m + n]  # (n, d)
    dO = np.matmul(G.transpose(0, 2, 1), X).reshape(npad * K1, d)[: n * K1]
    x2 = _without_center(_windows(np.einsum("pd,pd->p", Vp, Vp), 2 * m + 1, 1, npad), m)  # (npad, 2m)
    hV = _from_offsets(np.einsum("pak,pk->pa", Hb, np.einsum("pkd,pkd->pk", O, O)), m)
    hO = np.einsum("pak,pa->pk", Hb, x2).reshape(-1)[: n * K1]
    grads_W = RowGrads(t, dV, hV[m : m + n])
    return loss, int(mask.sum()), grads_W, RowGrads(outs[:n].reshape(-1), dO, hO)


def softmax_grads(W: Array, C: Array, batch: Batch, window: int):
    """Exact-softmax loss and gradients: (loss, pairs, gV (N, d) for W[t], gC (V, d) dense).

    Costs O(N V d): meant for small vocabularies and for checking.
    """
    t = batch.tokens
    ci, oi = window_positions(batch, window)
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


def cbow_softmax_grads(W: Array, C: Array, batch: Batch, window: int):
    """CBOW exact-softmax loss and gradient rows: (loss, centers, W rows, C rows, m per W row), as `cbow_grads`.

    Center i's context mean h_i predicts it: y_hat = softmax(C h_i), the loss of
    `losses.cbow_softmax_loss_and_gradient`; every context occurrence's row is
    (1/m_i) dJ/dh_i, the exact gradient (the trainer may scale it by m_i), and
    every word's C row gets sum_i (y_hat - y)_w h_i. Curvatures bound the trace of
    each row's Hessian: P_w(1 - P_w) |h_i|^2 for C rows, sum_w P_w |C_w|^2 / m_i^2
    for W rows. O(R V d): meant for small vocabularies.
    """
    t = batch.tokens
    rows, inv, m, H, oi = _context_means(W, batch, window)
    logits = H @ C.T  # (R, V)
    logits -= logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(logits).sum(axis=1))
    P = np.exp(logits - lse[:, None])  # (R, V)
    target, R = t[rows], np.arange(rows.size)
    loss = float((lse - logits[R, target]).sum())
    delta = P.copy()
    delta[R, target] -= 1.0  # y_hat - y
    dH = delta @ C  # (R, d)
    curv_H = P @ np.einsum("vd,vd->v", C, C)  # (R,)
    curv_C = (P * (1 - P)).T @ np.einsum("rd,rd->r", H, H)  # (V,)
    rows_W = RowGrads(t[oi], dH[inv] / m[inv, None], curv_H[inv] / m[inv] ** 2)
    rows_C = RowGrads(np.arange(C.shape[0]), delta.T @ H, curv_C)
    return loss, int(rows.size), rows_W, rows_C, m[inv]


def window_positions(batch: Batch, window: int) -> tuple[Array, Array]:
    """(center, context) position pairs of a batch's trained windows, grouped by nothing in particular."""
    cs, os_ = [], []
    for off, fwd, bwd in offset_masks(batch, window):
        i = np.flatnonzero(fwd)
        j = np.flatnonzero(bwd)
        cs += [i, j + off]
        os_ += [i + off, j]
    empty = np.zeros(0, np.int64)
    return (np.concatenate(cs), np.concatenate(os_)) if cs else (empty, empty)


def cbow_grads(W: Array, C: Array, batch: Batch, window: int, loss_every: int = 1):
    """CBOW negative-sampling loss and gradient rows: (loss, centers, W rows, C rows, m per W row).

    Center i's context mean h_i = (1/m_i) sum_j W[t_j] scores C[t_i] and its K
    negatives, so its loss is `losses.cbow_neg_loss_and_gradient`; every context
    occurrence gets the row (1/m_i) dJ/dh_i (the exact gradient; the trainer may
    scale it by m_i, word2vec.c's update). Curvatures as `neg_grads`: over the
    scores each row takes part in, sigmoid'(s) |x|^2 with x = h_i for C rows and
    C[out] / m_i for W rows.
    """
    t = batch.tokens
    rows, inv, m, H, oi = _context_means(W, batch, window)
    outs = np.concatenate([t[rows][:, None], batch.negatives[rows]], axis=1)  # (R, K1)
    O = np.take(C, outs, axis=0)  # (R, K1, d)
    S = np.einsum("rkd,rd->rk", O, H)
    loss, G, Hs = _score_grads(S[:, None, :], np.ones((rows.size, 1), bool), loss_every)
    G, Hs = G[:, 0], Hs[:, 0]  # (R, K1): dJ/dS and sigmoid'(S)
    dH = np.einsum("rk,rkd->rd", G, O)  # (R, d)
    dO = G[:, :, None] * H[:, None, :]  # (R, K1, d)
    curv_O = Hs * np.einsum("rd,rd->r", H, H)[:, None]
    curv_W = np.einsum("rk,rk->r", Hs, np.einsum("rkd,rkd->rk", O, O)) / m**2
    rows_W = RowGrads(t[oi], dH[inv] / m[inv, None], curv_W[inv])
    rows_C = RowGrads(outs.reshape(-1), dO.reshape(-1, W.shape[1]), curv_O.reshape(-1))
    return loss, int(rows.size), rows_W, rows_C, m[inv]


def _context_means(W: Array, batch: Batch, window: int):
    """CBOW inputs: (rows, inv, m, H) with rows the centers that have contexts, inv each
    (center, context) pair's place in rows, m (R,) their context counts, H (R, d) their means."""
    t = batch.tokens
    ci, oi = window_positions(batch, window)
    rows, inv = np.unique(ci, return_inverse=True)  # centers with >= 1 context
    m = np.bincount(inv, minlength=rows.size).astype(W.dtype)  # (R,)
    H = np.zeros((rows.size, W.shape[1]), W.dtype)
    np.add.at(H, inv, np.take(W, t[oi], axis=0))
    return rows, inv, m, H / m[:, None], oi


def _path_entries(words: Array, tree: tuple) -> tuple[Array, Array, Array, Array]:
    """Every input's Huffman path, flattened: (owner, nodes, bits, starts).

    Entry e is inner node nodes[e] with code bits[e] on the path of words[owner[e]];
    input r's entries are the run starting at starts[r] (every path has >= 1 node).
    Example: words [0, 2] with codelen [1, 2, 2] -> owner [0, 1, 1], starts [0, 1].
    """
    points, codes, codelen = tree
    L = codelen[words].astype(np.int64)
    starts = np.cumsum(L) - L
    owner = np.repeat(np.arange(words.size), L)
    level = np.arange(owner.size) - starts[owner]
    return owner, points[words[owner], level], codes[words[owner], level], starts


def hs_grads(W: Array, T: Array, batch: Batch, window: int, tree: tuple, model: str):
    """Hierarchical-softmax loss and gradient rows: (loss, predictions, W rows, theta rows, m per W row).

    The inputs x_r predict a word's path in the tree (`base.tree_arrays`):
    skip-gram, each (center, context) pair's W[t_context] predicts the center (as
    word2vec.c; `losses.skipgram_hs`); CBOW, each center's context mean h
    predicts it (`losses.cbow_hs`), and each context occurrence gets dJ/dh / m (the
    exact gradient; m per W row is returned for word2vec.c's update). For path
    entry e (node n, code b): s = theta[n] . x, g = s(s) - (1 - b); dJ/dx = sum_e
    g theta[n], dJ/dtheta[n] = g x. Curvatures as `neg_grads`: sigmoid'(s) |x|^2
    for theta rows, sigmoid'(s) |theta[n]|^2 (over m^2 for CBOW) for W rows.
    """
    t = batch.tokens
    if model == "cbow":
        rows, inv, m, X, oi = _context_means(W, batch, window)
        words = t[rows]
    else:
        ci, oi = window_positions(batch, window)
        X, words = np.take(W, t[oi], axis=0), t[ci]
    if words.size == 0:
        empty = RowGrads(np.zeros(0, np.int64), np.zeros((0, W.shape[1]), W.dtype), np.zeros(0, W.dtype))
        return 0.0, 0, empty, empty, np.zeros(0, W.dtype)
    owner, nodes, bits, starts = _path_entries(words, tree)
    Th, Xe = np.take(T, nodes, axis=0), X[owner]  # (E, d) each
    S = np.einsum("ed,ed->e", Th, Xe)
    P = _sigmoid(S)
    G = (P - (1 - bits)).astype(W.dtype)  # dJ/dS
    loss = float(np.logaddexp(0.0, np.where(bits == 1, S, -S)).sum())  # -log s((1 - 2b) s)
    Hs = P * (1 - P)
    dX = np.add.reduceat(G[:, None] * Th, starts, axis=0)  # (N, d)
    curv_X = np.add.reduceat(Hs * np.einsum("ed,ed->e", Th, Th), starts)
    rows_T = RowGrads(nodes.astype(np.int64), G[:, None] * Xe, Hs * np.einsum("ed,ed->e", Xe, Xe))
    if model == "cbow":
        rows_W = RowGrads(t[oi], dX[inv] / m[inv, None], curv_X[inv] / m[inv] ** 2)
        return loss, int(words.size), rows_W, rows_T, m[inv]
    return loss, int(words.size), RowGrads(t[oi], dX, curv_X), rows_T, np.ones(oi.size, W.dtype)


def scatter_add(M: Array, idx: Array, rows: Array, scale: float) -> None:
    """M[idx[i]] += scale * rows[i] for every i, repeats accumulated.

    Example: M=zeros((2,1)); scatter_add(M, [0, 0], [[1], [2]], 1.0) -> M=[[3], [0]].
    """
    d = M.shape[1]
    flat = (np.asarray(idx, np.int64)[:, None] * d + np.arange(d)).ravel()
    np.add.at(M.reshape(-1), flat, (scale * rows).astype(M.dtype, copy=False).ravel())


def batch_loss_and_grads(
    W: Array, C: Array, batch: Batch, window: int, loss: str = "neg", model: str = "skipgram", tree=None
):
    """Loss, trained pairs (centers for CBOW), and dense gradients (dJ/dW, dJ/dC): the trainer's math, for checking.

    For loss "hs", C is theta (V - 1, d) and `tree` the `base.tree_arrays` of the vocabulary.
    """
    gW, gC = np.zeros_like(W), np.zeros_like(C)
    if loss == "hs":
        value, pairs, rows_W, rows_T, _ = hs_grads(W, C, batch, window, tree, model)
        scatter_add(gW, rows_W.idx, rows_W.grad, 1.0)
        scatter_add(gC, rows_T.idx, rows_T.grad, 1.0)
    elif model == "cbow":
        fn = cbow_softmax_grads if loss == "softmax" else cbow_grads
        value, pairs, rows_W, rows_C, _ = fn(W, C, batch, window)
        scatter_add(gW, rows_W.idx, rows_W.grad, 1.0)
        scatter_add(gC, rows_C.idx, rows_C.grad, 1.0)
    elif loss == "softmax":
        value, pairs, gV, gC_dense = softmax_grads(W, C, batch, window)
        gC += gC_dense
        scatter_add(gW, batch.tokens, gV, 1.0)
    else:
        value, pairs, rows_W, rows_C = neg_grads(W, C, batch, window)
        scatter_add(gW, rows_W.idx, rows_W.grad, 1.0)
        scatter_add(gC, rows_C.idx, rows_C.grad, 1.0)
    return value, pairs, gW, gC
