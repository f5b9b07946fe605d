import numpy as np
import pytest
from conftest import needs_kernel

from w2v_cli import native, reference, sampling


def test_keep_probability_is_word2vec_formula():
    counts = np.array([1000, 10, 1])
    t = 1e-3
    f = counts / counts.sum()
    expected = np.minimum(1, (np.sqrt(f / t) + 1) * t / f)
    assert np.allclose(sampling.keep_probabilities(counts, t), expected)
    assert sampling.keep_probabilities(counts, 0).tolist() == [1, 1, 1]


def test_subsampling_keeps_words_at_their_probability_and_all_sentence_ends():
    rng = np.random.default_rng(0)
    keep = np.array([0.2, 1.0])
    segment = np.tile(np.array([0, 1, -1], np.int32), 20_000)
    kept = sampling.subsample(rng, segment, keep)
    assert np.count_nonzero(kept == -1) == 20_000
    assert np.count_nonzero(kept == 1) == 20_000
    assert abs(np.count_nonzero(kept == 0) / 20_000 - 0.2) < 0.01


def test_negatives_follow_unigram_to_the_three_quarters():
    counts = np.array([81, 16, 1])
    cdf = sampling.noise_cdf(counts, 0.75)
    rng = np.random.default_rng(0)
    draws = sampling.draw_negatives(rng, sampling.alias_table(cdf), (200_000,))
    p = counts**0.75 / (counts**0.75).sum()
    freq = np.bincount(draws, minlength=3) / draws.size
    assert np.allclose(freq, p, atol=0.005)
    assert draws.dtype == np.int32


def test_window_radii_are_uniform_on_one_to_m():
    r = sampling.draw_radii(np.random.default_rng(0), 50_000, 5)
    assert r.min() == 1 and r.max() == 5
    assert np.allclose(np.bincount(r)[1:] / r.size, 0.2, atol=0.01)


def test_split_sentences():
    tokens, sentence = sampling.split_sentences(np.array([5, 6, -1, 7, -1]))
    assert tokens.tolist() == [5, 6, 7] and sentence.tolist() == [0, 0, 1]


@needs_kernel
@pytest.mark.parametrize("sample", [1e-3, 1e-5, 0.0])
def test_the_compiled_subsampling_pass_draws_and_keeps_exactly_as_numpy(sample, monkeypatch):
    rng = np.random.default_rng(4)
    counts = np.sort(rng.zipf(1.4, 5000))[::-1]
    segment = rng.choice(counts.size, 200_000, p=counts / counts.sum()).astype(np.int32)
    segment[rng.random(segment.size) < 0.05] = -1  # sentence ends, two in a row among them
    segment[:3] = -1
    keep = sampling.keep_probabilities(counts, sample)
    compiled = sampling.subsample_and_split(np.random.default_rng(9), segment, keep)
    monkeypatch.setattr(native, "load", lambda: None)
    numpy = sampling.subsample_and_split(np.random.default_rng(9), segment, keep)
    assert (compiled[0].size < np.count_nonzero(segment >= 0)) == (sample > 0)  # words were dropped
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(compiled, numpy))


def test_window_pairs_respect_radius_and_sentences():
    sentence = np.array([0, 0, 0, 1, 1])
    radius = np.array([2, 1, 1, 1, 1])
    c, o = reference.window_pairs(sentence, radius)
    pairs = set(zip(c.tolist(), o.tolist()))
    assert pairs == {(0, 1), (0, 2), (1, 0), (1, 2), (2, 1), (3, 4), (4, 3)}


def test_alias_table_samples_the_same_distribution_as_the_cdf():
    counts = np.array([1000, 300, 40, 7, 1, 1])
    cdf = sampling.noise_cdf(counts, 0.75)
    prob, alias = sampling.alias_table(cdf)
    # the table's implied probability of each word, exactly
    V = cdf.size
    implied = prob / V
    np.add.at(implied, alias, (1.0 - prob) / V)
    assert np.allclose(implied, np.diff(cdf, prepend=0.0), atol=1e-12)
