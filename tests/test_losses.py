import warnings

import numpy as np
import pytest

from w2v_cli import losses


def test_sigmoid_is_stable_for_large_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = losses.sigmoid(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]))
        ls = losses.log_sigmoid(np.array([-1000.0, 1000.0]))
    assert s[0] == 0.0 and s[2] == 0.5 and s[4] == 1.0
    assert ls.tolist() == [-1000.0, 0.0]
    assert losses.sigmoid_derivative(0.0) == pytest.approx(0.25)


def test_softmax_loss_on_a_worked_example():
    U = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    v = np.array([np.log(2.0), 0.0])  # scores [log 2, 0, 0] -> y_hat [1/2, 1/4, 1/4]
    loss, g_v, g_U = losses.softmax_loss_and_gradient(v, 1, U)
    assert loss == pytest.approx(np.log(4.0))
    assert np.allclose(g_v, U.T @ np.array([0.5, -0.75, 0.25]))
    assert np.allclose(g_U[1], -0.75 * v) and np.allclose(g_U[0], 0.5 * v)


def test_negative_sampling_gradients_add_over_repeated_negatives():
    rng = np.random.default_rng(0)
    U, v = rng.normal(size=(4, 3)), rng.normal(size=3)
    _, _, g_once = losses.neg_sampling_loss_and_gradient(v, 0, U, [2])
    _, _, g_thrice = losses.neg_sampling_loss_and_gradient(v, 0, U, [2, 2, 2])
    s = losses.sigmoid(U[2] @ v)
    assert np.allclose(g_once[2], s * v)
    assert np.allclose(g_thrice[2], 3 * s * v)


def test_skipgram_sums_over_the_window_and_touches_only_the_center():
    rng = np.random.default_rng(1)
    W, U = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    negs = [[3, 4], [4, 4]]
    loss, g_W, g_U = losses.skipgram(2, [0, 1], W, U, negatives=negs)
    l0, gv0, gu0 = losses.neg_sampling_loss_and_gradient(W[2], 0, U, negs[0])
    l1, gv1, gu1 = losses.neg_sampling_loss_and_gradient(W[2], 1, U, negs[1])
    assert loss == pytest.approx(l0 + l1)
    assert np.allclose(g_W[2], gv0 + gv1) and np.allclose(g_U, gu0 + gu1)
    assert not np.delete(g_W, 2, axis=0).any()
