import numpy as np
import pytest
from conftest import needs_kernel

from w2v_cli import gradcheck, losses
from w2v_cli.cli import main
from w2v_cli.engines import numpy_math

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
        assert result.error < 1e-8


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
def test_broken_compiled_kernel_fails(monkeypatch):
    """A kernel whose C update is off by a factor (a missing v_c-like slip) must be caught."""
    from w2v_cli import native

    real = native.train_positions

    def doubled_C_step(W, C, *args):
        before = C.copy()
        result = real(W, C, *args)
        C += C - before
        return result

    monkeypatch.setattr(native, "train_positions", doubled_C_step)
    [result] = gradcheck.run_checks(S, ["kernel-neg"])
    assert not result.passed
