"""Gradient checking: every analytic gradient w2v uses, against finite differences.

One generic checker (`numerical_gradient`, centered differences in float64)
tests every loss, because every loss is a pure function returning
`(loss, gradients)`. Each named check returns (label, analytic, numeric) triples
and passes when the worst relative error, ||a - n|| / (||a|| + ||n||), is below
the tolerance. Beyond the reference functions of `losses.py`, the checks cover
the batched code the numpy engine runs (`engines.numpy_math`) and, when it
is installed, one update of the compiled C kernel
(`reference.kernel_step_delta`): both must equal the reference gradients, so a
fast path cannot quietly compute something else. The kernel checks run its
float64 build; `kernel-float32` holds the float32 build, which training runs,
to the float64 one.

Example: `run_checks(Settings(), ["sigmoid"])[0].passed` -> True.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from w2v_cli import losses
from w2v_cli.engines import numpy_math
from w2v_cli.errors import W2VError
from w2v_cli.reference import kernel_step_delta, random_batch, reference_batch

Triple = tuple[str, np.ndarray, np.ndarray]


@dataclass
class Settings:
    """Sizes of the random test problems and the pass threshold."""

    seed: int = 0
    dim: int = 5
    vocab: int = 10
    window: int = 2
    negative: int = 4
    tol: float = 1e-6
    step: float = 1e-5  # finite-difference step h


@dataclass
class Result:
    name: str
    error: float
    passed: bool
    worst: str  # label of the gradient with the largest error


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centered differences (f(x+h) - f(x-h)) / 2h, one element at a time; x is restored.

    Example: `numerical_gradient(lambda x: float((x**2).sum()), np.ones(2))` -> [2., 2.].
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def relative_error(a: np.ndarray, n: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||), 0 when both are zero."""
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - n) / denom)


def _problem(s: Settings, rng: np.random.Generator):
    """Random center vectors W (V, d) and outside vectors U (V, d), float64."""
    return rng.normal(0, 1, (s.vocab, s.dim)), rng.normal(0, 1, (s.vocab, s.dim))


def check_sigmoid(s: Settings, rng: np.random.Generator) -> list[Triple]:
    x = np.concatenate([rng.normal(0, 3, 20), [-30.0, -8.0, 0.0, 8.0, 30.0]])
    numeric = np.array(
        [numerical_gradient(lambda v: float(losses.sigmoid(v[0])), np.array([xi]), s.step)[0] for xi in x]
    )
    return [("s'(x)", losses.sigmoid_derivative(x), numeric)]


def _loss_triples(fn, v_c: np.ndarray, U: np.ndarray, args: tuple, h: float) -> list[Triple]:
    """Compare dJ/dv_c and dJ/dU of a single-pair loss `fn(v_c, o, U, ...)`."""
    _, g_v, g_U = fn(v_c, *args[:1], U, *args[1:])
    n_v = numerical_gradient(lambda v: fn(v, *args[:1], U, *args[1:])[0], v_c.copy(), h)
    n_U = numerical_gradient(lambda M: fn(v_c, *args[:1], M, *args[1:])[0], U.copy(), h)
    return [("dJ/dv_c", g_v, n_v), ("dJ/dU", g_U, n_U)]


def check_softmax(s: Settings, rng: np.random.Generator) -> list[Triple]:
    W, U = _problem(s, rng)
    return _loss_triples(losses.softmax_loss_and_gradient, W[0], U, (int(rng.integers(s.vocab)),), s.step)


def _negatives(s: Settings, rng: np.random.Generator, o: int, repeated: bool) -> np.ndarray:
    pool = np.array([w for w in range(s.vocab) if w != o])
    if repeated:  # e.g. [a, a, b, a]: the same word drawn several times
        a, b = rng.choice(pool, 2, replace=False)
        return np.array([a, a, b] + [a] * max(s.negative - 3, 0))[: max(s.negative, 2)]
    return rng.choice(pool, min(s.negative, pool.size), replace=False)


def check_neg_sampling(s: Settings, rng: np.random.Generator, repeated: bool = False) -> list[Triple]:
    W, U = _problem(s, rng)
    o = int(rng.integers(s.vocab))
    neg = _negatives(s, rng, o, repeated)
    fn = losses.neg_sampling_loss_and_gradient
    out = _loss_triples(fn, W[0], U, (o, neg), s.step)
    _, _, g_U = fn(W[0], o, U, neg)
    n_U = out[1][2]
    out.append(("dJ/du_o", g_U[o], n_U[o]))
    out += [(f"dJ/du_k[{k}]", g_U[k], n_U[k]) for k in sorted(set(neg.tolist()))]
    return out


def _window(s: Settings, rng: np.random.Generator) -> tuple[int, list[int]]:
    center = int(rng.integers(s.vocab))
    contexts = rng.integers(0, s.vocab, 2 * s.window).tolist()
    return center, contexts


def check_skipgram(s: Settings, rng: np.random.Generator, loss: str) -> list[Triple]:
    W, U = _problem(s, rng)
    center, contexts = _window(s, rng)
    if loss == "softmax":
        fn, negs = losses.softmax_loss_and_gradient, None
    else:
        fn = losses.neg_sampling_loss_and_gradient
        negs = [rng.integers(0, s.vocab, s.negative) for _ in contexts]

    def f(W_, U_):
        return losses.skipgram(center, contexts, W_, U_, fn, negs)

    _, g_W, g_U = f(W, U)
    n_W = numerical_gradient(lambda M: f(M, U)[0], W.copy(), s.step)
    n_U = numerical_gradient(lambda M: f(W, M)[0], U.copy(), s.step)
    return [("dJ/dW", g_W, n_W), ("dJ/dU", g_U, n_U)]


def check_batch(s: Settings, rng: np.random.Generator, loss: str) -> list[Triple]:
    W, U = _problem(s, rng)
    batch = random_batch(s, rng, loss=loss)

    def f(W_, U_):
        return numpy_math.batch_loss_and_grads(W_, U_, batch, s.window, loss)

    value, _, g_W, g_U = f(W, U)
    n_W = numerical_gradient(lambda M: f(M, U)[0], W.copy(), s.step)
    n_U = numerical_gradient(lambda M: f(W, M)[0], U.copy(), s.step)
    ref_loss, r_W, r_U = reference_batch(W, U, batch, s.window, loss)
    return [
        ("dJ/dW", g_W, n_W),
        ("dJ/dC", g_U, n_U),
        ("dJ/dW = reference", g_W, r_W),
        ("dJ/dC = reference", g_U, r_U),
        ("loss = reference", np.array([value]), np.array([ref_loss])),
    ]


def check_batch_mode(s: Settings, rng: np.random.Generator, model: str, loss: str) -> list[Triple]:
    """The numpy engine's batched CBOW or HS gradients, against finite differences and against `losses.py`.

    For loss "hs", C is theta (V - 1, d) over a Huffman tree of random counts.
    """
    from w2v_cli.engines.base import tree_arrays
    from w2v_cli.reference import reference_mode_batch

    W, C = _problem(s, rng)
    tree = None
    if loss == "hs":
        paths, codes, C, counts = _tree(s, rng)
        tree = tree_arrays(counts)
    batch = random_batch(s, rng, loss="neg")

    def f(W_, C_):
        return numpy_math.batch_loss_and_grads(W_, C_, batch, s.window, loss, model, tree)

    value, _, g_W, g_C = f(W, C)
    n_W = numerical_gradient(lambda M: f(M, C)[0], W.copy(), s.step)
    n_C = numerical_gradient(lambda M: f(W, M)[0], C.copy(), s.step)
    ref_loss, r_W, r_C = reference_mode_batch(W, C, batch, s.window, model, loss, (paths, codes) if tree else None)
    return [
        ("dJ/dW", g_W, n_W), ("dJ/dC", g_C, n_C), ("dJ/dW = reference", g_W, r_W), ("dJ/dC = reference", g_C, r_C),
        ("loss = reference", np.array([value]), np.array([ref_loss])),
    ]  # fmt: skip


def check_kernel(s: Settings, rng: np.random.Generator) -> list[Triple]:
    """One step of the compiled kernel equals -lr times the reference gradient."""
    W, U = _problem(s, rng)
    batch = random_batch(s, rng, loss="neg")
    lr = 0.01
    dW, dU, loss = kernel_step_delta(W, U, batch, s.window, lr)
    r_loss, r_W, r_U = reference_batch(W, U, batch, s.window, "neg")
    return [
        ("step W = -lr dJ/dW", dW, -lr * r_W),
        ("step C = -lr dJ/dC", dU, -lr * r_U),
        ("loss = reference", np.array([loss]), np.array([r_loss])),
    ]


def _grads_of(f, W: np.ndarray, U: np.ndarray, h: float, names: tuple[str, str]) -> list[Triple]:
    """dJ/dW and dJ/dU of `f(W, U)` -> (loss, dW, dU), analytic against numeric."""
    _, g_W, g_U = f(W, U)
    n_W = numerical_gradient(lambda M: f(M, U)[0], W.copy(), h)
    n_U = numerical_gradient(lambda M: f(W, M)[0], U.copy(), h)
    return [(names[0], g_W, n_W), (names[1], g_U, n_U)]


def _cbow_window(s: Settings, rng: np.random.Generator, repeated: bool) -> tuple[int, list[int]]:
    """A center and its contexts; `repeated`: one word three times among them, as windows can have."""
    center, contexts = _window(s, rng)
    if repeated:
        contexts[1] = contexts[2] = contexts[0]
    return center, contexts


def check_cbow(s: Settings, rng: np.random.Generator, loss: str, repeated: bool = False) -> list[Triple]:
    W, C = _problem(s, rng)
    center, contexts = _cbow_window(s, rng, repeated)
    if loss == "softmax":
        return _grads_of(lambda W_, C_: losses.cbow_softmax_loss_and_gradient(W_, C_, contexts, center), W, C,
                         s.step, ("dJ/dW", "dJ/dC"))  # fmt: skip
    neg = _negatives(s, rng, center, repeated)
    f = lambda W_, C_: losses.cbow_neg_loss_and_gradient(W_, C_, contexts, center, neg)  # noqa: E731
    return _grads_of(f, W, C, s.step, ("dJ/dW", "dJ/dC"))


def _tree(s: Settings, rng: np.random.Generator):
    """A Huffman tree over random descending counts, and random inner-node vectors theta (V - 1, d).

    Returns (paths, codes, theta, counts).
    """
    counts = np.sort(rng.integers(1, 1000, s.vocab))[::-1]
    paths, codes = losses.huffman_tree(counts)
    return paths, codes, rng.normal(0, 1, (s.vocab - 1, s.dim)), counts


def check_hs(s: Settings, rng: np.random.Generator, model: str | None = None) -> list[Triple]:
    W, _ = _problem(s, rng)
    paths, codes, theta, _ = _tree(s, rng)
    center, contexts = _cbow_window(s, rng, repeated=True)
    if model is None:  # one input vector, one word's path
        x = W[0]
        f = lambda x_, t_: losses.hs_loss_and_gradient(x_, paths[center], codes[center], t_)  # noqa: E731
        return _grads_of(f, x.copy(), theta, s.step, ("dJ/dx", "dJ/dtheta"))
    fn = losses.skipgram_hs if model == "skipgram" else losses.cbow_hs
    return _grads_of(lambda W_, t_: fn(center, contexts, W_, t_, paths, codes), W, theta, s.step,
                     ("dJ/dW", "dJ/dtheta"))  # fmt: skip


def check_kernel_cbow(s: Settings, rng: np.random.Generator) -> list[Triple]:
    """One CBOW step of the compiled kernel equals the update it promises: -lr (m if full step) dJ/dW, -lr dJ/dC."""
    from w2v_cli.engines.c_engine import CBOW_MEAN_STEP
    from w2v_cli.reference import reference_cbow_step

    W, U = _problem(s, rng)
    batch = random_batch(s, rng, loss="neg")
    lr = 0.01
    dW, dU, loss = kernel_step_delta(W, U, batch, s.window, lr, "cbow", CBOW_MEAN_STEP)
    r_W, r_U, r_loss = reference_cbow_step(W, U, batch, s.window, lr, CBOW_MEAN_STEP)
    return [("step W", dW, r_W), ("step C = -lr dJ/dC", dU, r_U), ("loss = reference", np.array([loss]),
            np.array([r_loss]))]  # fmt: skip


def check_kernel_hs(s: Settings, rng: np.random.Generator, model: str) -> list[Triple]:
    """One hierarchical-softmax step of the compiled kernel equals the update `reference_hs_step` describes."""
    from w2v_cli.engines.base import tree_arrays
    from w2v_cli.reference import kernel_hs_delta, reference_hs_step

    W, _ = _problem(s, rng)
    paths, codes, theta, counts = _tree(s, rng)
    batch = random_batch(s, rng, loss="neg")
    lr = 0.01
    dW, dT, loss = kernel_hs_delta(W, theta, batch, s.window, lr, tree_arrays(counts), model)
    r_W, r_T, r_loss = reference_hs_step(W, theta, batch, s.window, lr, (paths, codes), model)
    return [("step W", dW, r_W), ("step theta", dT, r_T), ("loss = reference", np.array([loss]), np.array([r_loss]))]


def check_kernel_float32(s: Settings, rng: np.random.Generator) -> list[Triple]:
    """Every compiled kernel's float32 build (the one training runs) takes the float64 build's step.

    Both start from the same float32-representable parameters; lr is 1 so that
    the step, not the parameters' rounding, sets the scale. The dimension is at
    least 19, so that the float32 build's 8-wide vector code runs (twice, plus a tail).
    """
    from dataclasses import replace

    from w2v_cli.engines.base import tree_arrays
    from w2v_cli.engines.c_engine import CBOW_MEAN_STEP
    from w2v_cli.reference import kernel_hs_delta

    s = replace(s, dim=max(s.dim, 19))
    W, U = (M.astype(np.float32).astype(np.float64) for M in _problem(s, rng))
    _, _, theta, counts = _tree(s, rng)
    theta = theta.astype(np.float32).astype(np.float64)
    batch = random_batch(s, rng, loss="neg")
    steps = {
        "neg": lambda A, B: kernel_step_delta(A, B, batch, s.window, 1.0),
        "cbow-neg": lambda A, B: kernel_step_delta(A, B, batch, s.window, 1.0, "cbow", CBOW_MEAN_STEP),
        "skipgram-hs": lambda A, B: kernel_hs_delta(A, B[:-1], batch, s.window, 1.0, tree_arrays(counts), "skipgram"),
        "cbow-hs": lambda A, B: kernel_hs_delta(A, B[:-1], batch, s.window, 1.0, tree_arrays(counts), "cbow"),
    }
    triples = []
    for name, step in steps.items():
        B = U if name.endswith("neg") else np.vstack([theta, np.zeros((1, s.dim))])  # theta is (V - 1, d)
        wide, narrow = step(W, B), step(W.astype(np.float32), B.astype(np.float32))
        triples += [(f"{name} step {m}", np.asarray(f, float), np.asarray(e, float))
                    for m, f, e in zip(("W", "C", "loss"), narrow, wide)]  # fmt: skip
    return triples


# The float32 check passes at this error or below whatever --tol says: float32
# carries 7 digits (measured: about 1e-7 at dims 5 to 300), a wrong exp or a
# slip in the vector code shows far above it.
FLOAT32_TOL = 1e-5

CHECKS: dict[str, Callable[[Settings, np.random.Generator], list[Triple]]] = {
    "sigmoid": check_sigmoid,
    "softmax": check_softmax,
    "neg": check_neg_sampling,
    "neg-repeated": lambda s, rng: check_neg_sampling(s, rng, repeated=True),
    "skipgram-softmax": lambda s, rng: check_skipgram(s, rng, "softmax"),
    "skipgram-neg": lambda s, rng: check_skipgram(s, rng, "neg"),
    "batch-softmax": lambda s, rng: check_batch(s, rng, "softmax"),
    "batch-neg": lambda s, rng: check_batch(s, rng, "neg"),
    "batch-cbow-neg": lambda s, rng: check_batch_mode(s, rng, "cbow", "neg"),
    "batch-cbow-softmax": lambda s, rng: check_batch_mode(s, rng, "cbow", "softmax"),
    "batch-skipgram-hs": lambda s, rng: check_batch_mode(s, rng, "skipgram", "hs"),
    "batch-cbow-hs": lambda s, rng: check_batch_mode(s, rng, "cbow", "hs"),
    "cbow-neg": lambda s, rng: check_cbow(s, rng, "neg"),
    "cbow-neg-repeated": lambda s, rng: check_cbow(s, rng, "neg", repeated=True),
    "cbow-softmax": lambda s, rng: check_cbow(s, rng, "softmax", repeated=True),
    "hs": check_hs,
    "skipgram-hs": lambda s, rng: check_hs(s, rng, "skipgram"),
    "cbow-hs": lambda s, rng: check_hs(s, rng, "cbow"),
    "kernel-neg": check_kernel,
    "kernel-cbow-neg": check_kernel_cbow,
    "kernel-skipgram-hs": lambda s, rng: check_kernel_hs(s, rng, "skipgram"),
    "kernel-cbow-hs": lambda s, rng: check_kernel_hs(s, rng, "cbow"),
    "kernel-float32": check_kernel_float32,
}


def available_checks() -> list[str]:
    """Names of the checks this installation can run (the kernel-* ones need the compiled kernel)."""
    from w2v_cli import native

    return [n for n in CHECKS if not n.startswith("kernel-") or native.available()]


def run_checks(s: Settings, names: list[str] | None = None) -> list[Result]:
    """Run the named checks (all available by default), each with its own seeded Generator."""
    known = available_checks()
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise W2VError(f"unknown check '{unknown[0]}' (available: {', '.join(known)})")
    results = []
    for name in names or known:
        rng = np.random.default_rng([s.seed, list(CHECKS).index(name)])
        triples = CHECKS[name](s, rng)
        errors = [(relative_error(np.asarray(a, float), np.asarray(n, float)), label) for label, a, n in triples]
        err, worst = max(errors)
        tol = max(s.tol, FLOAT32_TOL) if name == "kernel-float32" else s.tol
        results.append(Result(name, err, bool(err <= tol), worst))
    return results
