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
- CBOW (negative sampling, softmax) and hierarchical softmax (skip-gram and CBOW,
  over `huffman_tree`): derived where they are defined, below.

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


# ---------------------------------------------------------------- CBOW
#
# For center c with context words o_1..o_m (repeats allowed), h = (1/m) sum_j W[o_j].
# - negative sampling: J = -log s(C[c].h) - sum_k log s(-C[k].h)
#       dJ/dC[c] = (s(C[c].h) - 1) h,  dJ/dC[k] = s(C[k].h) h (repeats add)
#       dJ/dh = (s(C[c].h) - 1) C[c] + sum_k s(C[k].h) C[k]
# - softmax: y_hat = softmax(C h), J = -log y_hat_c
#       dJ/dC[w] = (y_hat_w - y_w) h,  dJ/dh = C^T (y_hat - y)
# and in both, dJ/dW[o_j] = (1/m) dJ/dh for each occurrence (a word twice in the
# window gets it twice), since dh/dW[o_j] = (1/m) I.


def _spread(dh: Array, contexts: Sequence[int], W: Array) -> Array:
    """dJ/dW from dJ/dh: (1/m) dJ/dh added to the row of every context occurrence."""
    grad_W = np.zeros_like(W)
    ctx = np.asarray(contexts, dtype=np.int64)
    np.add.at(grad_W, ctx, dh / ctx.size)
    return grad_W


def cbow_neg_loss_and_gradient(
    W: Array, C: Array, contexts: Sequence[int], c: int, negatives: Sequence[int]
) -> tuple[float, Array, Array]:
    """CBOW negative-sampling loss of center `c` from `contexts` (m,), with `negatives` (K,).

    Returns (loss, dJ/dW (V, d), dJ/dC (V, d)).
    """
    h = W[np.asarray(contexts, dtype=np.int64)].mean(axis=0)  # (d,)
    neg = np.asarray(negatives, dtype=np.int64)
    f_c, f_k = C[c] @ h, C[neg] @ h
    loss = -log_sigmoid(f_c) - log_sigmoid(-f_k).sum()
    s_c, s_k = sigmoid(f_c), sigmoid(f_k)
    grad_C = np.zeros_like(C)
    grad_C[c] += (s_c - 1.0) * h
    np.add.at(grad_C, neg, s_k[:, None] * h)
    dh = (s_c - 1.0) * C[c] + s_k @ C[neg]
    return float(loss), _spread(dh, contexts, W), grad_C


def cbow_softmax_loss_and_gradient(W: Array, C: Array, contexts: Sequence[int], c: int) -> tuple[float, Array, Array]:
    """CBOW exact-softmax loss of center `c` from `contexts` (m,). Returns (loss, dJ/dW, dJ/dC)."""
    h = W[np.asarray(contexts, dtype=np.int64)].mean(axis=0)
    delta = softmax(C @ h)  # (V,) y_hat - y after the next line
    loss = -np.log(delta[c])
    delta[c] -= 1.0
    return float(loss), _spread(C.T @ delta, contexts, W), np.outer(delta, h)


# ---------------------------------------------------------------- hierarchical softmax
#
# A Huffman tree over the vocabulary (`huffman_tree`) gives word w a path of
# inner nodes n_1..n_L (root first) and codes b_1..b_L in {0, 1}; inner node n
# has an output vector theta[n] (V - 1, d). For an input x:
#       J = -sum_i log s((1 - 2 b_i) theta[n_i].x)
#       dJ/dtheta[n_i] = (s(theta[n_i].x) - (1 - b_i)) x
#       dJ/dx = sum_i (s(theta[n_i].x) - (1 - b_i)) theta[n_i]
# Skip-gram: each context word's W[o] predicts the center's path (as word2vec.c);
# CBOW: h = (1/m) sum_j W[o_j] does, and dJ/dW[o_j] = (1/m) dJ/dh.

MAX_CODE = 40  # word2vec.c's MAX_CODE_LENGTH


def hs_loss_and_gradient(
    x: Array, path: Sequence[int], codes: Sequence[int], theta: Array
) -> tuple[float, Array, Array]:
    """Hierarchical-softmax loss of input `x` (d,) for the word with `path` and `codes` (L,).

    Returns (loss, dJ/dx (d,), dJ/dtheta (V - 1, d)).
    """
    nodes = np.asarray(path, dtype=np.int64)
    b = np.asarray(codes, dtype=np.float64)
    f = theta[nodes] @ x  # (L,)
    loss = -log_sigmoid((1.0 - 2.0 * b) * f).sum()
    g = sigmoid(f) - (1.0 - b)  # (L,) dJ/df
    grad_theta = np.zeros_like(theta)
    np.add.at(grad_theta, nodes, g[:, None] * x)
    return float(loss), g @ theta[nodes], grad_theta


def skipgram_hs(
    center: int, contexts: Sequence[int], W: Array, theta: Array, paths: list, codes: list
) -> tuple[float, Array, Array]:
    """Skip-gram HS loss of one window: every context's W[o] predicts the center's path.

    Returns (loss, dJ/dW (V, d), dJ/dtheta (V - 1, d)).
    """
    loss, grad_W, grad_theta = 0.0, np.zeros_like(W), np.zeros_like(theta)
    for o in contexts:
        l, g_x, g_t = hs_loss_and_gradient(W[o], paths[center], codes[center], theta)
        loss += l
        grad_W[o] += g_x
        grad_theta += g_t
    return loss, grad_W, grad_theta


def cbow_hs(
    center: int, contexts: Sequence[int], W: Array, theta: Array, paths: list, codes: list
) -> tuple[float, Array, Array]:
    """CBOW HS loss: h, the mean context vector, predicts the center's path. Returns (loss, dJ/dW, dJ/dtheta)."""
    h = W[np.asarray(contexts, dtype=np.int64)].mean(axis=0)
    loss, dh, grad_theta = hs_loss_and_gradient(h, paths[center], codes[center], theta)
    return loss, _spread(dh, contexts, W), grad_theta


def huffman_tree(counts: Sequence[int]) -> tuple[list[list[int]], list[list[int]]]:
    """(paths, codes) of every word in word2vec.c's Huffman tree (CreateBinaryTree) over `counts`.

    `counts` must be sorted in descending order (the vocabulary's order); the two
    rarest nodes merge first, an inner node before a leaf of the same count, so
    the tree depends only on the counts and word ids. Paths list inner nodes
    root first (the root is V - 2); a word's code is 1 where it is its parent's
    second child. A W2VError if a path would exceed MAX_CODE.
    Example: `huffman_tree([3, 2, 1])` -> `([[1], [1, 0], [1, 0]], [[1], [0, 1], [0, 0]])`.
    """
    parent, binary = huffman_merge(counts)
    V = len(counts)
    paths, codes = [], []
    root = 2 * V - 2
    for w in range(V):
        nodes, bits, b = [], [], w
        while b != root:
            bits.append(int(binary[b]))
            b = int(parent[b])
            nodes.append(b - V)
        if len(bits) > MAX_CODE:
            raise too_deep()
        paths.append(nodes[::-1])
        codes.append(bits[::-1])
    return paths, codes


def huffman_merge(counts: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The merges of `huffman_tree`: parent (2V - 1,) of every node (words 0..V-1, then inner nodes V..2V-2)
    and binary (2V - 1,), 1 where a node is its parent's second child. The root's entries are 0.

    Example: counts [3, 2, 1] -> parent [4, 3, 3, 4, 0], binary [1, 1, 0, 0, 0].
    """
    V = len(counts)
    count = [int(c) for c in counts] + [1 << 62] * (V - 1)
    parent, binary = [0] * (2 * V - 1), [0] * (2 * V - 1)
    pos1, pos2 = V - 1, V
    for a in range(V - 1):
        pair = []
        for _ in range(2):
            if pos1 >= 0 and count[pos1] < count[pos2]:
                pair.append(pos1)
                pos1 -= 1
            else:
                pair.append(pos2)
                pos2 += 1
        count[V + a] = count[pair[0]] + count[pair[1]]
        parent[pair[0]] = parent[pair[1]] = V + a
        binary[pair[1]] = 1
    return np.array(parent, np.int64), np.array(binary, np.uint8)


def too_deep():
    """The error for a vocabulary whose Huffman tree has a path longer than MAX_CODE."""
    from w2v_cli.errors import W2VError

    return W2VError(f"the Huffman tree is deeper than {MAX_CODE} for this vocabulary's counts")
