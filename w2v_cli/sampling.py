"""The random parts of word2vec, vectorised, every draw from one `numpy.random.Generator`.

- Frequent-word subsampling: keep word w with probability min(1, (sqrt(f/t)+1)*t/f),
  f = count(w)/total, t = `sample` (word2vec.c's formula).
- Dynamic window: each center position draws its radius b uniformly from 1..m.
- Noise distribution: unigram counts raised to 0.75, sampled by inverse CDF.

A segment's subsampling and radii take their uniforms from two counter-based
streams (SplitMix64 of key + i * gamma) keyed by the segment's Generator, so that
the compiled pass and numpy compute the same draws, each in one vectorised pass.

Both training engines consume these same draws' distributions, so they share
semantics: only the inner update differs.
"""

from __future__ import annotations

import numpy as np

from w2v_cli import native


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """Per-word keep probability for subsampling; all ones when `sample` is 0.

    Example: counts [1000, 1] with total 1001 and t=1e-3 -> about [0.032, 1.0].
    """
    if sample <= 0:
        return np.ones(len(counts))
    f = counts / counts.sum()
    return np.minimum(1.0, (np.sqrt(f / sample) + 1.0) * sample / f)


def noise_cdf(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """Cumulative noise distribution of unigram^power; last entry exactly 1.

    Example: `noise_cdf(np.array([1, 1]), 1.0)` -> `[0.5, 1.0]`.
    """
    weights = counts.astype(np.float64) ** power
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    cdf[-1] = 1.0
    return cdf


def alias_table(cdf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table for the distribution with cumulative `cdf`: (prob, alias).

    Draw: i = floor(u * V), f = frac(u * V); take i if f < prob[i] else alias[i].
    O(1) per draw and exactly the same distribution as inverse-CDF sampling.
    Example: `alias_table(np.array([0.25, 1.0]))` -> prob [0.5, 1.0], alias [1, 1].
    """
    p = np.diff(cdf, prepend=0.0) * cdf.size
    prob, alias = np.ones(cdf.size), np.arange(cdf.size, dtype=np.int64)
    small = [i for i in range(cdf.size) if p[i] < 1.0]
    large = [i for i in range(cdf.size) if p[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large[-1]
        prob[s], alias[s] = p[s], g
        p[g] -= 1.0 - p[s]
        if p[g] < 1.0:
            small.append(large.pop())
    return prob, alias


def draw_negatives(rng: np.random.Generator, table: tuple[np.ndarray, np.ndarray], shape) -> np.ndarray:
    """Word ids drawn from the noise distribution by its alias table (prob, alias), int32 array of `shape`.

    One uniform per draw, read exactly as the compiled kernel reads it.
    """
    prob, alias = table
    x = rng.random(shape) * prob.size
    i = np.minimum(x.astype(np.int64), prob.size - 1)
    return np.where(x - i < prob[i], i, alias[i]).astype(np.int32)


GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment, the golden ratio in 64 bits


def counter_uniforms(key: int, counters: np.ndarray) -> np.ndarray:
    """Uniforms in [0, 1): the top 53 bits of SplitMix64's mix of key + i * GAMMA, per counter i.

    The compiled `counter_uniform` computes the same bits. Example:
    `counter_uniforms(7, np.arange(3))` -> three floats, the same on every run.
    """
    with np.errstate(over="ignore"):
        z = np.uint64(key) + counters.astype(np.uint64) * GAMMA
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def prepare_segment(
    rng: np.random.Generator, raw: np.ndarray, lookup: np.ndarray, keep: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A raw segment (provisional ids, -1 sentence ends) made ready to train:
    (tokens, sentence numbers, radii) int32, and how many of its words are in the vocabulary.

    `lookup` maps provisional to final ids (< 0: not in the vocabulary). The word at
    raw position i is kept where counter_uniforms(key_u, i) < keep[id]; the k-th kept
    word's radius is 1 + floor(counter_uniforms(key_r, k) * window). The two keys
    come from `rng`. One compiled pass (`native.prepare_segment`) where the kernel
    is installed, the same result from numpy otherwise.
    Example: raw [5, 6, -1, 7, -1], lookup identity, keep all 1 -> tokens [5, 6, 7], sentence [0, 0, 1].
    """
    keys = tuple(int(k) for k in rng.integers(0, 2**64, 2, dtype=np.uint64))
    if native.available():
        return native.prepare_segment(raw, lookup, keep, keys, window)
    is_end = raw < 0
    final = np.where(is_end, -1, lookup[np.where(is_end, 0, raw)])
    where = np.flatnonzero(final >= 0)
    kept = where[counter_uniforms(keys[0], where) < keep[final[where]]]
    radius = 1 + (counter_uniforms(keys[1], np.arange(kept.size)) * window).astype(np.int32)
    sentence = np.cumsum(is_end)[kept].astype(np.int32)
    return final[kept].astype(np.int32), sentence, radius, int(where.size)
