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


def test_subsampling_keeps_words_at_their_probability_and_numbers_sentences():
    keep = np.array([0.2, 1.0])
    segment = np.tile(np.array([0, 1, -1], np.int32), 20_000)
    tokens, sentence, _, words = sampling.prepare_segment(np.random.default_rng(0), segment, np.arange(2), keep, 5)
    assert words == 40_000 and np.count_nonzero(tokens == 1) == 20_000
    assert abs(np.count_nonzero(tokens == 0) / 20_000 - 0.2) < 0.01
    assert np.array_equal(sentence[tokens == 1], np.arange(20_000))  # word 1 is in every sentence, once


def test_counter_uniforms_are_uniform_and_independent_across_keys():
    u, v = sampling.counter_uniforms(1, np.arange(200_000)), sampling.counter_uniforms(2, np.arange(200_000))
    assert u.min() >= 0 and u.max() < 1
    assert np.allclose(np.histogram(u, 10, (0, 1))[0] / u.size, 0.1, atol=0.003)
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01 and abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01


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
    segment = np.zeros(50_000, np.int32)
    _, _, r, _ = sampling.prepare_segment(np.random.default_rng(0), segment, np.zeros(1, np.int32), np.ones(1), 5)
    assert r.min() == 1 and r.max() == 5
    assert np.allclose(np.bincount(r)[1:] / r.size, 0.2, atol=0.01)


def test_prepare_segment_maps_drops_and_numbers_sentences():
    raw = np.array([-1, 5, 6, -1, -1, 7, 3, -1, 6], np.int32)  # no end after the last sentence
    lookup = np.array([-2, -2, -2, 2, -2, 0, 1, -2], np.int32)  # provisional 5, 6, 3 -> 0, 1, 2; 7 dropped
    tokens, sentence, radius, words = sampling.prepare_segment(np.random.default_rng(0), raw, lookup, np.ones(3), 2)
    assert tokens.tolist() == [0, 1, 2, 1] and sentence.tolist() == [1, 1, 3, 4] and words == 4
    assert radius.dtype == np.int32 and set(radius.tolist()) <= {1, 2}


@needs_kernel
@pytest.mark.parametrize("sample", [1e-3, 1e-5, 0.0])
def test_the_compiled_segment_pass_draws_and_keeps_exactly_as_numpy(sample, monkeypatch):
    rng = np.random.default_rng(4)
    counts = np.sort(rng.zipf(1.4, 5000))[::-1]
    raw = rng.choice(counts.size, 200_000, p=counts / counts.sum()).astype(np.int32)
    raw[rng.random(raw.size) < 0.05] = -1  # sentence ends, two in a row among them
    raw[:3] = -1
    lookup = np.where(rng.random(counts.size) < 0.9, np.arange(counts.size), -2).astype(np.int32)
    keep = sampling.keep_probabilities(counts, sample)
    compiled = sampling.prepare_segment(np.random.default_rng(9), raw, lookup, keep, 5)
    monkeypatch.setattr(native, "load", lambda: None)
    numpy = sampling.prepare_segment(np.random.default_rng(9), raw, lookup, keep, 5)
    in_vocab = int(np.count_nonzero(lookup[raw[raw >= 0]] >= 0))
    assert compiled[3] == numpy[3] == in_vocab and (compiled[0].size < in_vocab) == (sample > 0)
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(compiled[:3], numpy[:3]))


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
