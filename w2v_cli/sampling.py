"""The random parts of word2vec, vectorised, every draw from one `numpy.random.Generator`.

- Frequent-word subsampling: keep word w with probability min(1, (sqrt(f/t)+1)*t/f),
  f = count(w)/total, t = `sample` (word2vec.c's formula).
- Dynamic window: each center position draws its radius b uniformly from 1..m.
- Noise distribution: unigram counts raised to 0.75, sampled by inverse CDF.

Both training engines consume these same draws' distributions, so they share
semantics: only the inner update differs.
"""

from __future__ import annotations

import numpy as np

from w2v_cli import native
from w2v_cli.heap import huge_empty


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


def subsample(rng: np.random.Generator, segment: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Drop words of `segment` (ids with -1 sentence ends) by their keep probability.

    Sentence ends are always kept. One uniform draw per position.
    """
    u = rng.random(segment.size)
    p = np.where(segment >= 0, keep[segment], 1.0)
    return segment[u < p]


def subsample_and_split(
    rng: np.random.Generator, segment: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`split_sentences(subsample(rng, segment, keep))`: the same draws and result, in one compiled
    pass (`native.keep_and_split`) where the kernel is installed."""
    if not native.available():
        return split_sentences(subsample(rng, segment, keep))
    return native.keep_and_split(segment, rng.random(out=huge_empty(segment.size, np.float64)), keep)


def split_sentences(segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids with -1 ends -> (tokens, sentence number per token).

    Example: [5, 6, -1, 7, -1] -> ([5, 6, 7], [0, 0, 1]).
    """
    is_end = segment < 0
    sentence = np.cumsum(is_end) - is_end
    return segment[~is_end], sentence[~is_end].astype(np.int32)


def draw_radii(rng: np.random.Generator, n: int, window: int) -> np.ndarray:
    """Each position's dynamic window radius, uniform on 1..window."""
    return rng.integers(1, window + 1, n, dtype=np.int32)
