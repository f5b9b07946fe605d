import numpy as np
import pytest
from conftest import needs_kernel

from w2v_cli import gradcheck, losses
from w2v_cli.cli import main
from w2v_cli.engines import numpy_math
from w2v_cli.engines.base import tree_arrays
from w2v_cli.errors import W2VError

S = gradcheck.Settings()
REAL_NEG = losses.neg_sampling_loss_and_gradient
REAL_SOFTMAX = losses.softmax_loss_and_gradient


def test_numerical_gradient_of_a_known_function():
    x = np.array([1.0, -2.0, 3.0])
    g = gradcheck.numerical_gradient(lambda v: float((v**3).sum()), x)
    assert np.allclose(g, 3 * x**2, rtol=1e-8)
    assert x.tolist() == [1.0, -2.0, 3.0]  # restored


@pytest.mark.parametrize("name", gradcheck.available_checks())
def test_every_check_passes_on_the_real_gradients(name):
    for seed in range(3):
        [result] = gradcheck.run_checks(gradcheck.Settings(seed=seed), [name])
        assert result.passed, (name, seed, result)
        assert result.error < (1e-6 if name == "kernel-float32" else 1e-8)  # float32: 7 digits


KERNEL_CHECKS = ["kernel-neg", "kernel-cbow-neg", "kernel-skipgram-hs", "kernel-cbow-hs", "kernel-float32"]


@needs_kernel
@pytest.mark.parametrize("dim", [1, 3, 6, 13, 19, 36, 45, 100, 127])
def test_the_kernel_checks_pass_at_every_block_size(dim):
    """The kernels cross d in blocks of 1-4 vectors (4 or 8 entries), a half vector and
    scalars, and tile up to 4 rows: these dims and windows of up to 10 context words
    (paths of 5 to 13 nodes) reach each combination in both builds."""
    for window in (1, 3, 5):
        s = gradcheck.Settings(dim=dim, vocab=60, window=window)
        for result in gradcheck.run_checks(s, KERNEL_CHECKS):
            assert result.passed, (dim, window, result)


def neg_missing_vc(v_c, o, U, negatives):
    """dJ/du_o = s(u_o.v_c) - 1, without its v_c factor: a classic slip."""
    loss, g_v, g_U = REAL_NEG(v_c, o, U, negatives)
    g_U[o] = (losses.sigmoid(U[o] @ v_c) - 1.0) * np.ones_like(v_c)
    return loss, g_v, g_U


def neg_flipped_sign(v_c, o, U, negatives):
    loss, g_v, g_U = REAL_NEG(v_c, o, U, negatives)
    return loss, -g_v, g_U


def neg_repeats_not_summed(v_c, o, U, negatives):
    """Assigns instead of adding, so a word drawn twice counts once."""
    neg = np.asarray(negatives)
    loss, g_v, _ = REAL_NEG(v_c, o, U, negatives)
    g_U = np.zeros_like(U)
    g_U[o] = (losses.sigmoid(U[o] @ v_c) - 1.0) * v_c
    g_U[neg] = losses.sigmoid(U[neg] @ v_c)[:, None] * v_c
    return loss, g_v, g_U


def softmax_missing_vc(v_c, o, U):
    loss, g_v, _ = REAL_SOFTMAX(v_c, o, U)
    y_hat = losses.softmax(U @ v_c)
    y_hat[o] -= 1
    return loss, g_v, np.outer(y_hat, np.ones_like(v_c))


@pytest.mark.parametrize(
    "broken, checks",
    [
        (neg_missing_vc, ["neg", "skipgram-neg"]),
        (neg_flipped_sign, ["neg", "neg-repeated", "skipgram-neg"]),
        (neg_repeats_not_summed, ["neg-repeated"]),
    ],
)
def test_broken_negative_sampling_gradients_fail(monkeypatch, broken, checks):
    monkeypatch.setattr(losses, "neg_sampling_loss_and_gradient", broken)
    for result in gradcheck.run_checks(S, checks):
        assert not result.passed, result
        assert result.error > 1e-3


def test_broken_softmax_gradient_fails(monkeypatch):
    monkeypatch.setattr(losses, "softmax_loss_and_gradient", softmax_missing_vc)
    assert not any(r.passed for r in gradcheck.run_checks(S, ["softmax", "skipgram-softmax"]))


def test_broken_batched_trainer_code_fails(monkeypatch):
    """A sign slip in the engine's positive-pair term must be caught."""
    real = numpy_math._score_grads

    def flipped(S, mask, loss_every):
        loss, G, H = real(S, mask, loss_every)
        G[..., 0] *= -1.0
        return loss, G, H

    monkeypatch.setattr(numpy_math, "_score_grads", flipped)
    [result] = gradcheck.run_checks(S, ["batch-neg"])
    assert not result.passed


def flipped_codes(real):
    def entries(words, tree):
        owner, nodes, bits, starts = real(words, tree)
        return owner, nodes, 1 - bits, starts

    return entries


def context_means_without_repeats(real):
    """The CBOW means with each center's repeated context words counted once: repeats not summed."""

    def means(W, batch, window):
        rows, inv, m, H, oi = real(W, batch, window)
        pairs = np.unique(np.stack([inv, batch.tokens[oi]]), axis=1, return_index=True)[1]
        once = np.zeros(oi.size, bool)
        once[pairs] = True
        H = np.zeros_like(H)
        np.add.at(H, inv[once], W[batch.tokens[oi[once]]])
        return rows, inv, m, H / m[:, None], oi

    return means


def softmax_without_1_over_m(real):
    def grads(W, C, batch, window):
        loss, centers, rows_W, rows_C, m = real(W, C, batch, window)
        rows_W.grad *= m[:, None]
        return loss, centers, rows_W, rows_C, m

    return grads


@pytest.mark.parametrize(
    "name, broken, checks",
    [
        ("_path_entries", flipped_codes, ["batch-skipgram-hs", "batch-cbow-hs"]),
        ("_context_means", context_means_without_repeats, ["batch-cbow-neg", "batch-cbow-softmax", "batch-cbow-hs"]),
        ("cbow_softmax_grads", softmax_without_1_over_m, ["batch-cbow-softmax"]),
    ],
)
def test_broken_batched_cbow_and_hs_code_fails(monkeypatch, name, broken, checks):
    """Flipped codes, a repeated context word not summed, the 1/m dropped: each check that runs the code fails."""
    monkeypatch.setattr(numpy_math, name, broken(getattr(numpy_math, name)))
    assert not any(r.passed for r in gradcheck.run_checks(S, checks))


def test_broken_sigmoid_derivative_fails(monkeypatch):
    monkeypatch.setattr(losses, "sigmoid_derivative", lambda x: losses.sigmoid(x))
    [result] = gradcheck.run_checks(S, ["sigmoid"])
    assert not result.passed


def test_cli_exits_nonzero_and_names_the_failure(runner, monkeypatch):
    monkeypatch.setattr(losses, "neg_sampling_loss_and_gradient", neg_flipped_sign)
    result = runner.invoke(main, ["gradcheck", "--check", "neg", "--check", "sigmoid"])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "neg" in result.output
    assert "1 gradient check(s) failed: neg" in result.output


def test_cli_passes_and_prints_one_row_per_check(runner):
    result = runner.invoke(main, ["gradcheck", "--dim", "4", "--vocab", "7", "--window", "3"])
    assert result.exit_code == 0, result.output
    for name in gradcheck.available_checks():
        assert name in result.output
    assert f"all {len(gradcheck.available_checks())} checks passed" in result.output


def test_cli_rejects_unknown_check(runner):
    result = runner.invoke(main, ["gradcheck", "--check", "nope"])
    assert result.exit_code == 1 and "unknown check 'nope'" in result.output


@needs_kernel
def doubled_C_step(real):
    """`real` (a kernel wrapper) with its C update applied twice: off by a factor, a missing-v_c-like slip."""

    def kernel(W, C, *args):
        before = C.copy()
        result = real(W, C, *args)
        C += C - before
        return result

    return kernel


def test_broken_compiled_kernel_fails(monkeypatch):
    """A kernel whose C update is off by a factor must be caught."""
    from w2v_cli import native

    monkeypatch.setattr(native, "train_positions", doubled_C_step(native.train_positions))
    [result] = gradcheck.run_checks(S, ["kernel-neg"])
    assert not result.passed


REAL_CBOW_NEG = losses.cbow_neg_loss_and_gradient
REAL_CBOW_SOFTMAX = losses.cbow_softmax_loss_and_gradient
REAL_HS = losses.hs_loss_and_gradient


def cbow_without_mean(W, C, contexts, c, negatives):
    """dJ/dW[o_j] = dJ/dh, the 1/m of the mean dropped (what word2vec.c's update applies, not the gradient)."""
    loss, g_W, g_C = REAL_CBOW_NEG(W, C, contexts, c, negatives)
    return loss, g_W * len(contexts), g_C


def cbow_repeats_not_accumulated(W, C, contexts, c, negatives):
    """Assigns (1/m) dJ/dh to each context row, so a word twice in the window gets it once."""
    loss, g_W, g_C = REAL_CBOW_NEG(W, C, contexts, c, negatives)
    ctx = np.asarray(contexts)
    counts = np.bincount(ctx, minlength=W.shape[0])
    return loss, g_W / np.maximum(counts, 1)[:, None], g_C


def cbow_softmax_without_mean(W, C, contexts, c):
    loss, g_W, g_C = REAL_CBOW_SOFTMAX(W, C, contexts, c)
    return loss, g_W * len(contexts), g_C


def hs_flipped_code(x, path, codes, theta):
    """Uses b_i where 1 - b_i belongs: every node's label flipped."""
    nodes, b = np.asarray(path), np.asarray(codes, float)
    loss, _, _ = REAL_HS(x, path, codes, theta)
    g = losses.sigmoid(theta[nodes] @ x) - b
    grad_theta = np.zeros_like(theta)
    np.add.at(grad_theta, nodes, g[:, None] * x)
    return loss, g @ theta[nodes], grad_theta


@pytest.mark.parametrize(
    "name, broken, checks",
    [
        ("cbow_neg_loss_and_gradient", cbow_without_mean, ["cbow-neg", "cbow-neg-repeated"]),
        ("cbow_neg_loss_and_gradient", cbow_repeats_not_accumulated, ["cbow-neg-repeated"]),
        ("cbow_softmax_loss_and_gradient", cbow_softmax_without_mean, ["cbow-softmax"]),
        ("hs_loss_and_gradient", hs_flipped_code, ["hs", "skipgram-hs", "cbow-hs"]),
    ],
)
def test_broken_cbow_and_hierarchical_softmax_gradients_fail(monkeypatch, name, broken, checks):
    monkeypatch.setattr(losses, name, broken)
    for result in gradcheck.run_checks(S, checks):
        assert not result.passed and result.error > 1e-3, result


def test_huffman_codes_are_a_prefix_code_shortest_for_the_most_frequent():
    rng = np.random.default_rng(0)
    counts = np.sort(rng.zipf(1.5, 500) + 1)[::-1]
    paths, codes = losses.huffman_tree(counts)
    words = ["".join(map(str, c)) for c in codes]
    assert len(set(words)) == 500 and not any(a != b and b.startswith(a) for a in words for b in words)
    assert sum(2.0 ** -len(w) for w in words) == pytest.approx(1.0)  # a full binary tree: Kraft equality
    lengths = np.array([len(w) for w in words])
    values = np.unique(counts)[::-1]  # distinct counts, most frequent first
    longest = [lengths[counts == v].max() for v in values]
    shortest = [lengths[counts == v].min() for v in values]
    assert all(a <= b for a, b in zip(longest[:-1], shortest[1:]))  # a more frequent word never has a longer code
    assert all(p[0] == 498 and len(set(p)) == len(p) and max(p) <= 498 for p in paths)  # root V-2 first
    assert losses.huffman_tree(counts) == (paths, codes)  # deterministic


def test_a_huffman_tree_deeper_than_word2vec_allows_is_an_error():
    fibonacci = [1, 1]
    while len(fibonacci) < 45:
        fibonacci.append(fibonacci[-1] + fibonacci[-2])
    with pytest.raises(W2VError, match="deeper than 40"):
        losses.huffman_tree(fibonacci[::-1])
    with pytest.raises(W2VError, match="deeper than 40"):
        tree_arrays(fibonacci[::-1])
    assert tree_arrays(fibonacci[:41][::-1])[2].max() == 40  # a depth of exactly 40 is allowed


@pytest.mark.parametrize(
    "counts", [[5, 5], [3, 2, 1], [7] * 9, sorted(np.random.default_rng(1).zipf(1.3, 3000) + 1)[::-1]]
)
def test_the_engines_tree_arrays_are_the_reference_huffman_tree(counts):
    paths, codes = losses.huffman_tree(counts)
    points, bits, codelen = tree_arrays(counts)
    assert codelen.tolist() == [len(p) for p in paths]
    assert [points[w, :n].tolist() for w, n in enumerate(codelen)] == paths
    assert [bits[w, :n].tolist() for w, n in enumerate(codelen)] == codes
    assert not points[np.arange(40) >= codelen[:, None]].any() and not bits[np.arange(40) >= codelen[:, None]].any()


@needs_kernel
@pytest.mark.parametrize("mean_step", [False, True])
def test_the_cbow_kernel_check_holds_the_kernel_to_the_update_it_claims(monkeypatch, mean_step):
    """Both context steps pass when the check expects that one; the other one fails it, as does a scaled C step."""
    from w2v_cli import native
    from w2v_cli.engines import c_engine

    monkeypatch.setattr(c_engine, "CBOW_MEAN_STEP", mean_step)
    assert all(r.passed for r in gradcheck.run_checks(S, ["kernel-cbow-neg"]))
    real = native.train_cbow
    monkeypatch.setattr(native, "train_cbow", lambda *args: real(*args[:-1], not args[-1]))  # the other step
    assert not any(r.passed for r in gradcheck.run_checks(S, ["kernel-cbow-neg"]))

    monkeypatch.setattr(native, "train_cbow", doubled_C_step(real))
    assert not any(r.passed for r in gradcheck.run_checks(S, ["kernel-cbow-neg"]))


@needs_kernel
def test_a_broken_hierarchical_softmax_kernel_fails(monkeypatch):
    """A kernel that reads every code flipped, or steps theta twice, is caught by both hs kernel checks."""
    from w2v_cli import native

    real = native.train_hs

    def flipped_codes(W, theta, tokens, sentence, radius, centers, tree, *args):
        points, codes, codelen = tree
        return real(W, theta, tokens, sentence, radius, centers, (points, 1 - codes, codelen), *args)

    for broken in (flipped_codes, doubled_C_step(real)):
        monkeypatch.setattr(native, "train_hs", broken)
        assert not any(r.passed for r in gradcheck.run_checks(S, ["kernel-skipgram-hs", "kernel-cbow-hs"]))


def test_broken_batched_cbow_fails(monkeypatch):
    """The numpy engine's CBOW rows without the 1/m of the mean: batch-cbow-neg must fail."""
    real = numpy_math.cbow_grads

    def without_mean(W, C, batch, window, loss_every=1):
        loss, centers, rows_W, rows_C, m = real(W, C, batch, window, loss_every)
        rows_W.grad *= m[:, None]
        return loss, centers, rows_W, rows_C, m

    monkeypatch.setattr(numpy_math, "cbow_grads", without_mean)
    [result] = gradcheck.run_checks(S, ["batch-cbow-neg"])
    assert not result.passed and result.error > 1e-3


@needs_kernel
@pytest.mark.parametrize("kernel", ["train_positions", "train_cbow", "train_hs"])
def test_a_float32_kernel_that_differs_from_float64_fails(monkeypatch, kernel):
    """The float32 build alone stepping C (theta) 1% too far is caught by kernel-float32, and by nothing else."""
    from w2v_cli import native

    real = getattr(native, kernel)

    def off_in_float32(W, C, *args):
        before = C.copy()
        result = real(W, C, *args)
        if C.dtype == np.float32:
            C += np.float32(0.01) * (C - before)
        return result

    monkeypatch.setattr(native, kernel, off_in_float32)
    results = {r.name: r.passed for r in gradcheck.run_checks(S)}
    assert not results.pop("kernel-float32") and all(results.values())
