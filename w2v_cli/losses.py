"""The word2vec losses and their analytic gradients, as pure reference functions.

Rows are word vectors: W (V, d) holds center ("input") vectors v, U (V, d)
holds outside ("output") vectors u. Every loss returns `(loss, gradients)` and
draws no random numbers: sampled negatives come in as arguments, so one generic
checker (`gradcheck.py`) can test them all.

- softmax:  y_hat = softmax(U v_c), J = -log y_hat_o
            dJ/dv_c = U^T (y_hat - y),  dJ/du_w = (y_hat_w - y_w) v_c
- negative sampling with k_1..k_K:
            J = -log s(u_o.v_c) - sum_k log s(-u_k.v_c)
            dJ/dv_c = (s(u_o.v_c) - 1) u_o + sum_k s(u_k.v_c) u_k
            dJ/du_o = (s(u_o.v_c) - 1) v_c,  dJ/du_k = s(u_k.v_c) v_c, summed
            over repeats of the same k
- skip-gram over a window: J = sum_j J(w_{c+j}, v_c); gradients add.

These favour clarity over speed; the engines compute the same quantities in
bulk and `gradcheck` holds them to these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Array = np.ndarray


def sigmoid(x: Array | float) -> Array:
    """1 / (1 + e^-x) without overflow for large |x|; `sigmoid(0.0)` -> 0.5."""
    x = np.asarray(x, dtype=np.result_type(x, np.float32))
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(x: Array | float) -> Array:
    """s'(x) = s(x)(1 - s(x)); `sigmoid_derivative(0.0)` -> 0.25."""
    s = sigmoid(x)
    return s * (1.0 - s)


def log_sigmoid(x: Array | float) -> Array:
    """log s(x), exact for large |x|; `log_sigmoid(-1000.0)` -> -1000.0."""
    return -np.logaddexp(0.0, -np.asarray(x))


def softmax(z: Array) -> Array:
    """Softmax over the last axis, shifted by the max for stability."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_loss_and_gradient(v_c: Array, o: int, U: Array) -> tuple[float, Array, Array]:
    """Naive softmax loss for center vector `v_c` (d,) and true context `o`.

    Returns (loss, dJ/dv_c (d,), dJ/dU (V, d)).
    """
    y_hat = softmax(U @ v_c)  # (V,)
    loss = -np.log(y_hat[o])
    delta = y_hat.copy()
    delta[o] -= 1.0
    return float(loss), U.T @ delta, np.outer(delta, v_c)


def neg_sampling_loss_and_gradient(
    v_c: Array, o: int, U: Array, negatives: Sequence[int]
) -> tuple[float, Array, Array]:
    """Negative-sampling loss for `v_c` (d,), true context `o`, sampled `negatives` (K,).

    Returns (loss, dJ/dv_c (d,), dJ/dU (V, d)); repeated negatives add up.
    """
    neg = np.asarray(negatives, dtype=np.int64)
    s_o = sigmoid(U[o] @ v_c)
    s_k = sigmoid(U[neg] @ v_c)  # (K,)
    loss = -log_sigmoid(U[o] @ v_c) - log_sigmoid(-(U[neg] @ v_c)).sum()
    grad_v = (s_o - 1.0) * U[o] + s_k @ U[neg]
    grad_U = np.zeros_like(U)
    grad_U[o] += (s_o - 1.0) * v_c
    np.add.at(grad_U, neg, s_k[:, None] * v_c)
    return float(loss), grad_v, grad_U


LossFn = Callable[..., tuple[float, Array, Array]]


def skipgram(
    center: int,
    contexts: Sequence[int],
    W: Array,
    U: Array,
    loss_fn: LossFn = neg_sampling_loss_and_gradient,
    negatives: Sequence[Sequence[int]] | None = None,
) -> tuple[float, Array, Array]:
    """Skip-gram loss of one center word over its window's `contexts`.

    `negatives[j]` are the samples for context j (negative sampling only).
    Returns (loss, dJ/dW (V, d), dJ/dU (V, d)); dJ/dv_w = 0 for w != center.
    """
    loss, grad_W, grad_U = 0.0, np.zeros_like(W), np.zeros_like(U)
    for j, o in enumerate(contexts):
        extra = () if negatives is None else (negatives[j],)
        l, g_v, g_U = loss_fn(W[center], o, U, *extra)
        loss += l
        grad_W[center] += g_v
        grad_U += g_U
    return loss, grad_W, grad_U
