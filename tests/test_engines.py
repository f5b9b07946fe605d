import threading
import time
import warnings

import numpy as np
import pytest
from conftest import C_AND_NUMPY, needs_kernel

from w2v_cli import gradcheck
from w2v_cli.config import resolve_config
from w2v_cli.engines import Job, numpy_engine, numpy_math
from w2v_cli.engines.base import Stream
from w2v_cli.engines.numpy_engine import NumpyEngine
from w2v_cli.engines.runners import run_jobs
from w2v_cli.native import train_positions
from w2v_cli.pipeline import train
from w2v_cli.progress import Progress
from w2v_cli.reference import kernel_step_delta
from w2v_cli.sampling import alias_table
from w2v_cli.schedule import Tracker

S = gradcheck.Settings(dim=6, vocab=9, window=3, negative=3)


def test_numpy_step_is_minus_lr_times_the_reference_gradient():
    rng = np.random.default_rng(3)
    W, C = rng.normal(size=(9, 6)), rng.normal(size=(9, 6))
    batch = gradcheck.random_batch(S, rng)
    _, r_W, r_C = gradcheck.reference_batch(W, C, batch, S.window, "neg")
    W1, C1 = W.copy(), C.copy()
    numpy_engine.step(W1, C1, batch, S.window, 0.01)
    assert np.allclose(W1 - W, -0.01 * r_W) and np.allclose(C1 - C, -0.01 * r_C)


@pytest.mark.parametrize("size, n", [(1, 5), (9, 200), (50_000, 3000), (10, 0)])
def test_group_rows_groups_equal_ids_like_unique(size, n):
    rng = np.random.default_rng(size + n)
    idx = np.minimum(rng.zipf(1.3, n) - 1, size - 1)  # a few ids repeated many times
    words, kept, inv = numpy_engine.group_rows(idx, size)
    assert sorted(words.tolist()) == np.unique(idx).tolist()  # each id once
    assert (words[inv] == idx).all() and (idx[kept] == words).all()


def test_group_rows_keeps_each_threads_slots_apart():
    """Two threads grouping different ids at once: each gets its own right answer."""
    rng = np.random.default_rng(0)
    data = [rng.integers(0, 100, 5000) for _ in range(2)]
    wrong = []

    def work(idx):
        for _ in range(300):
            words, _, inv = numpy_engine.group_rows(idx, 100)
            wrong.append(not (words[inv] == idx).all())

    threads = [threading.Thread(target=work, args=(idx,)) for idx in data]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wrong) == 600 and not any(wrong)


def reference_curvature(W, C, batch, window):
    """h of every row, summed pair by pair: sigmoid'(s) |partner|^2 for each score s."""
    from w2v_cli.reference import window_pairs

    hW, hC = np.zeros(len(W)), np.zeros(len(C))
    cs, os_ = window_pairs(batch.sentence, np.minimum(batch.radius, window), batch.centers)
    for i, j in zip(cs.tolist(), os_.tolist()):
        x = int(batch.tokens[j])
        for o in [int(batch.tokens[i]), *batch.negatives[i].tolist()]:
            p = 1.0 / (1.0 + np.exp(-W[x] @ C[o]))
            hW[x] += p * (1 - p) * C[o] @ C[o]
            hC[o] += p * (1 - p) * W[x] @ W[x]
    return hW, hC


def test_numpy_step_bounds_a_row_by_its_curvature():
    """Rows with lr*h > 1 move by -lr*g/(lr*h); the others by exactly -lr*g."""
    rng = np.random.default_rng(5)
    W, C = rng.normal(size=(9, 6)), rng.normal(size=(9, 6))
    batch = gradcheck.random_batch(S, rng, n=40)
    lr = 0.05
    _, g_W, g_C = gradcheck.reference_batch(W, C, batch, S.window, "neg")
    h_W, h_C = reference_curvature(W, C, batch, S.window)
    W1, C1 = W.copy(), C.copy()
    numpy_engine.step(W1, C1, batch, S.window, lr)
    assert np.allclose(W1 - W, -lr * g_W / np.maximum(1, lr * h_W)[:, None])
    assert np.allclose(C1 - C, -lr * g_C / np.maximum(1, lr * h_C)[:, None])
    h = np.r_[h_W, h_C] * lr
    assert (h > 1).any() and ((h > 0) & (h <= 1)).any()  # both cases occur


def test_sampled_loss_estimates_the_exact_loss():
    rng = np.random.default_rng(6)
    W, C = rng.normal(size=(9, 6)) * 0.3, rng.normal(size=(9, 6)) * 0.3
    batch = gradcheck.random_batch(S, rng, n=400)
    exact, pairs, _, _ = numpy_math.neg_grads(W, C, batch, S.window)
    sampled, pairs8, _, _ = numpy_math.neg_grads(W, C, batch, S.window, loss_every=8)
    assert pairs8 == pairs and sampled == pytest.approx(exact, rel=0.1)
    small = gradcheck.random_batch(S, rng, n=6)  # no center at a multiple of 8 but 0, a margin
    assert numpy_math.neg_grads(W, C, small, S.window, loss_every=8)[0] > 0


@needs_kernel
def test_kernel_one_step_is_minus_lr_times_the_reference_gradient():
    rng = np.random.default_rng(4)
    W, C = rng.normal(size=(9, 6)), rng.normal(size=(9, 6))
    batch = gradcheck.random_batch(S, rng)
    dW, dC, loss = kernel_step_delta(W, C, batch, S.window, 0.05)
    r_loss, r_W, r_C = gradcheck.reference_batch(W, C, batch, S.window, "neg")
    assert np.allclose(dW, -0.05 * r_W, atol=1e-12) and np.allclose(dC, -0.05 * r_C, atol=1e-12)
    assert loss == pytest.approx(r_loss, rel=1e-12)


@needs_kernel
def test_float32_kernel_step_matches_the_reference_to_float32_precision():
    """Training runs the float32 build of the kernel: same step, to single precision."""
    rng = np.random.default_rng(4)
    W, C = (rng.normal(size=(9, 6)).astype(np.float32) for _ in range(2))
    batch = gradcheck.random_batch(S, rng)
    dW, dC, _ = kernel_step_delta(W, C, batch, S.window, 0.05)
    _, r_W, r_C = gradcheck.reference_batch(W.astype(float), C.astype(float), batch, S.window, "neg")
    assert dW.dtype == np.float32
    assert np.allclose(dW, -0.05 * r_W, atol=2e-6) and np.allclose(dC, -0.05 * r_C, atol=2e-6)


@needs_kernel
def test_kernel_rejects_ids_outside_the_matrices_and_wrong_dtypes():
    import ctypes

    W, C = np.zeros((3, 2), np.float32), np.zeros((3, 2), np.float32)
    noise = alias_table(np.array([0.5, 0.8, 1.0]))
    ok = np.zeros(4, np.int32)
    args = (ok, np.ones(4, np.int32), np.ones(4, bool), None, noise, 2, 0.1, 0.1, 1, 1)
    with pytest.raises(ValueError, match="word ids"):
        train_positions(W, C, np.array([0, 1, 3, 0], np.int32), *args)
    with pytest.raises(ctypes.ArgumentError):
        train_positions(W, C, ok.astype(np.int64), *args)
    with pytest.raises(ValueError, match="same length"):
        train_positions(W, C, ok, ok, np.ones(4, np.int32), np.ones(3, bool), *args[3:])
    assert train_positions(W, C, ok, *args)[2] == 1 + 2 + 2 + 1  # radius 1 in one sentence of 4


@needs_kernel
def test_kernel_draws_negatives_from_the_noise_distribution():
    """With C = 0 each draw of a negative moves its row by lr * 0.5 * W[context]: count them."""
    V, d, K = 3, 1, 2
    W, C = np.ones((V, d)), np.zeros((V, d))
    n = 30_000
    tokens = np.full(n, 2, np.int32)  # every center and context is word 2; words 0 and 1 only as negatives
    train_positions(
        W,
        C,
        tokens,
        (np.arange(n) // 2).astype(np.int32),
        np.ones(n, np.int32),
        np.arange(n) % 2 == 0,
        None,
        alias_table(np.array([0.5, 0.8, 1.0])),
        K,
        1e-6,
        1e-6,
        123,
        1,
    )
    neg_steps = -C[:2, 0] / (1e-6 * 0.5)
    assert np.allclose(neg_steps / (n // 2 * K), [0.5, 0.3], atol=0.01)


def quick_train(corpus, out, **overrides):
    """Train on `corpus` with one worker and the given settings."""
    cfg = resolve_config(None, {"corpus": [str(corpus)], "output": str(out), "workers": 1, **overrides})
    return train(cfg)


@pytest.mark.parametrize("engine", C_AND_NUMPY)
def test_one_worker_is_bit_reproducible(small_corpus, tmp_path, engine):
    a, b = (quick_train(small_corpus, tmp_path, dim=16, epochs=1, engine=engine) for _ in range(2))
    assert a.words == b.words
    assert np.array_equal(a.matrix, b.matrix) and np.array_equal(a.output, b.output)
    assert a.metrics["engine"] == engine


def test_compiled_kernel_is_installed_wherever_there_is_a_c_compiler():
    """`pip install .` builds it where it can; without it training is about 3x slower."""
    import shutil
    import sysconfig

    from w2v_cli import native

    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) on this machine: the numpy engine is the one to test")
    assert native.available(), "w2v_kernel is missing or out of date: run pip install . again"


def test_auto_falls_back_to_numpy_with_a_note_and_c_fails_clearly(small_corpus, tmp_path, monkeypatch, capsys):
    from w2v_cli import native
    from w2v_cli.errors import W2VError

    monkeypatch.setattr(native, "available", lambda: False)
    notes = Notes()
    model = train(resolve_config(None, {"corpus": [str(small_corpus)], "output": str(tmp_path), "epochs": 1}), notes)
    assert model.metrics["engine"] == "numpy"
    assert any("compiled kernel is not installed" in n for n in notes.seen)
    with pytest.raises(W2VError, match="engine 'c' is not installed"):
        quick_train(small_corpus, tmp_path, epochs=1, engine="c")


def test_different_seeds_give_different_vectors(small_corpus, tmp_path):
    a, b = (quick_train(small_corpus, tmp_path, dim=8, epochs=1, seed=seed).matrix for seed in (1, 2))
    assert not np.array_equal(a, b)


def test_softmax_loss_trains_and_lowers_the_loss(small_corpus, tmp_path):
    model = quick_train(small_corpus, tmp_path, dim=16, epochs=3, loss="softmax", lr=0.05)
    losses = model.metrics["loss_per_epoch"]
    assert model.metrics["engine"] == "numpy"
    assert losses[-1] < losses[0] < np.log(len(model))


@pytest.mark.parametrize(
    "engine, workers",
    [pytest.param("c", 1, marks=needs_kernel), ("numpy", 1), pytest.param("c", 2, marks=needs_kernel), ("numpy", 2)],
)
def test_divergence_is_reported_not_written(small_corpus, tmp_path, engine, workers):
    """With 2 workers: C on threads, numpy on forked processes (the parent sees the loss).

    The numpy engine's bounded steps survive lr 1e30 with 2 workers (each takes half
    the bound), so that run uses the exact softmax, whose steps are plain.
    """
    from w2v_cli.errors import W2VError

    loss = "softmax" if (engine, workers) == ("numpy", 2) else "neg"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the one-line error only: no numpy overflow warnings first
        with pytest.raises(W2VError, match="diverged"):
            quick_train(small_corpus, tmp_path / "o", lr=1e30, epochs=1, engine=engine, workers=workers, loss=loss)
    assert list((tmp_path / "o").iterdir()) == []  # no vectors, and the temporary id file is gone


@needs_kernel
def test_kernel_measures_loss_even_when_sampled_centers_have_no_pairs():
    """Only center 1 has a context; with loss_every=8 it must still be measured."""
    W, C = np.ones((3, 2)), np.zeros((3, 2))
    tokens = np.array([0, 1, 2], np.int32)
    sentence = np.array([0, 1, 1], np.int32)  # center 0 is alone in its sentence
    centers = np.array([True, True, False])
    loss, measured, pairs = train_positions(
        W,
        C,
        tokens,
        sentence,
        np.ones(3, np.int32),
        centers,
        None,
        alias_table(np.array([0.5, 0.8, 1.0])),
        2,
        0.0,
        0.0,
        7,
        8,
    )
    assert pairs == 1 and measured == 1
    assert loss == pytest.approx(3 * np.log(2.0))  # z = 0 for the positive and both negatives


class Recorder:
    """A stand-in engine: each step sleeps 2 ms and records whether the main thread ran it."""

    def __init__(self, main_thread_steps: bool) -> None:
        self.main_thread_steps = main_thread_steps
        self.on_main: list[bool] = []

    def run(self, W, C, job):
        time.sleep(0.002)
        self.on_main.append(threading.current_thread() is threading.main_thread())
        return 1.0, 1


class Notes(Progress):
    """A Progress that keeps the notes it hears."""

    def __init__(self):
        self.seen = []

    def note(self, text):
        self.seen.append(text)


@pytest.mark.parametrize("helps", [True, False])
def test_main_thread_steps_as_one_of_the_workers_when_the_engine_asks(helps):
    engine, tracker = Recorder(helps), Tracker(1, 400)
    jobs = [Job(0, 0.1, 0.1, 10, payload=i) for i in range(40)]
    record = lambda job, loss, pairs: tracker.add(job, loss, pairs)  # noqa: E731
    run_jobs(Stream(jobs), engine, None, None, 2, record, lambda epoch: None)
    assert tracker.done == 400 and tracker.pairs == [40] and len(engine.on_main) == 40
    assert any(engine.on_main) == helps and not all(engine.on_main)  # a pool thread always steps too


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_engine_cuts_jobs_at_the_first_sentence_start_after_each_job_size(monkeypatch, seed):
    """Job k ends at the first sentence start at or after (k + 1) * JOB_TOKENS; no job is empty."""
    from w2v_cli.engines import c_engine

    monkeypatch.setattr(c_engine, "JOB_TOKENS", 10)
    rng = np.random.default_rng(seed)
    sentence = np.cumsum(rng.random(300) < [0.02, 0.2, 0.6][seed]).astype(np.int32)  # long to short sentences
    tokens = np.zeros(sentence.size, np.int32)
    engine = c_engine.CEngine.__new__(c_engine.CEngine)
    jobs = list(engine.make_jobs(tokens, sentence, tokens, np.random.default_rng(0)))
    starts = [i for i in range(1, sentence.size) if sentence[i] != sentence[i - 1]]
    expected = sorted({next((s for s in starts if s >= t), sentence.size) for t in range(10, sentence.size, 10)})
    bounds = np.cumsum([0] + [n for _, n in jobs]).tolist()
    assert bounds == [0, *[b for b in expected if b < sentence.size], sentence.size]
    assert all(n > 0 for _, n in jobs)


def test_only_the_numpy_engine_steps_on_the_main_thread():
    from w2v_cli.engines.c_engine import CEngine

    assert NumpyEngine.main_thread_steps and not CEngine.main_thread_steps


@needs_kernel
@pytest.mark.parametrize("cbow", [False, True])
def test_hs_kernel_with_a_private_top_of_the_tree_takes_the_same_steps(cbow):
    """One thread: the top nodes, or frequent words' rows of W, trained in private copies change only rounding."""
    from w2v_cli.engines.base import tree_arrays
    from w2v_cli.native import train_hs

    rng = np.random.default_rng(5)
    V, d, n = 40, 19, 400
    counts = np.sort(rng.integers(1, 500, V))[::-1]
    tokens = rng.integers(0, V, n).astype(np.int32)
    sentence, radius = np.repeat(np.arange(4), n // 4).astype(np.int32), rng.integers(1, 4, n).astype(np.int32)
    W0, T0 = rng.normal(0, 0.3, (V, d)), rng.normal(0, 0.3, (V - 1, d))
    results = []
    for hot, hot_words in ((0, 0), (5, 0), (V - 1, 0), (5, 3), (0, V)):
        W, T = W0.copy(), T0.copy()
        loss, _, count = train_hs(W, T, tokens, sentence, radius, np.ones(n, bool), tree_arrays(counts), 0.1, 0.1, 1,
                                  cbow, hot, hot_words)  # fmt: skip
        results.append((W, T, loss, count))
    for W, T, loss, count in results[1:]:
        assert count == results[0][3] and np.isclose(loss, results[0][2], rtol=1e-12)
        assert np.allclose(W, results[0][0], rtol=0, atol=1e-12) and np.allclose(T, results[0][1], rtol=0, atol=1e-12)
    assert not np.allclose(results[0][1], T0)  # the top nodes did move


@needs_kernel
@pytest.mark.parametrize("cbow", [False, True])
def test_neg_kernels_with_private_frequent_rows_take_the_same_steps(cbow):
    """One thread: the most frequent words' rows trained in private copies, their change added at the end."""
    from w2v_cli import native

    rng = np.random.default_rng(6)
    V, d, n, K = 30, 13, 400, 4
    tokens = rng.integers(0, V, n).astype(np.int32)
    sentence, radius = np.repeat(np.arange(4), n // 4).astype(np.int32), rng.integers(1, 4, n).astype(np.int32)
    W0, C0 = rng.normal(0, 0.3, (V, d)), rng.normal(0, 0.3, (V, d))
    noise = alias_table(np.arange(V, 0, -1.0))
    results = []
    for hot in (0, 3, V):
        W, C = W0.copy(), C0.copy()
        args = (W, C, tokens, sentence, radius, np.ones(n, bool), None, noise, K, 0.1, 0.1, 11, 1)
        trained = native.train_cbow(*args, False, hot=hot) if cbow else native.train_positions(*args, hot=hot)
        results.append((W, C, *trained))
    for W, C, loss, _, count in results[1:]:
        assert count == results[0][4] and np.isclose(loss, results[0][2], rtol=1e-12)
        assert np.allclose(W, results[0][0], rtol=0, atol=1e-12) and np.allclose(C, results[0][1], rtol=0, atol=1e-12)
    assert not np.allclose(results[0][0][:3], W0[:3]) and not np.allclose(results[0][1][:3], C0[:3])


@pytest.mark.parametrize(
    "model, loss, workers, spread",
    [("skipgram", "neg", 1, 1.0), ("skipgram", "neg", 2, 1.0), ("skipgram", "neg", 4, 2.0),
     ("skipgram", "hs", 2, 2.0), ("cbow", "neg", 1, 1.0), ("cbow", "neg", 2, 2.0), ("cbow", "hs", 2, 2.0)],
)  # fmt: skip
def test_a_bounded_row_steps_less_as_more_workers_may_step_it_at_once(model, loss, workers, spread):
    """A row with lr * h = 5 steps by -lr g / (5 spread); a row below the bound by plain -lr g, whatever the workers."""
    assert numpy_engine.step_spread(model, loss, workers) == spread
    M = np.zeros((2, 1), np.float32)
    rows = numpy_math.RowGrads(np.array([0, 1]), np.array([[2.0], [2.0]]), np.array([50.0, 0.5]))
    numpy_engine.apply_rows(M, rows, 0.1, spread)
    assert M[:, 0] == pytest.approx([-0.2 / (5 * spread), -0.2])
