"""Where the compiled kernels stand against this machine's limits, one core, every mode.

    python bench/roofline.py ../shared/corpora/wiki100m.txt.xz [--sample-words 2000000] [--rounds 3]

1. The machine, one core: the float32 peak of a BLAS product in cache (512 x 512,
   one BLAS thread) and the rate of random-row gathers from a (V, d) float32
   matrix of the model's size (V from the corpus's vocabulary at min_count 5).
2. A sample of the corpus prepared as training prepares it: the vocabulary of
   the whole prepared corpus (min_count 5), the first --sample-words words
   subsampled (t = 1e-3) with radii drawn on 1..5, from one seeded Generator.
3. For each mode, the flops per corpus word counted from the algorithm (a
   multiply-add is 2 flops; sigmoids and the loss are not counted): per center
   with m context words, K + 1 = 6 output rows or a Huffman path of L nodes,
   - skip-gram neg: m (K+1) dots, dJ/dW (m (K+1) axpys), the C step (m (K+1)), the W step (m): 2d (3 m (K+1) + m)
   - CBOW neg: the mean (m), K+1 dots, dJ/dh (K+1), the C step (K+1), the W step (m): 2d (3 (K+1) + 2 m)
   - skip-gram hs: 2d (3 m L + m); CBOW hs: 2d (3 L + 2 m).
   m and L are averaged over the sample's trained centers.
4. Each kernel timed on the sample, one thread, in this process, by the thread's
   CPU clock (time spent descheduled on this shared machine does not count; median of
   --rounds): words/s, GFLOP/s, the fraction of the BLAS peak, and the rows it
   touches per word, and the words/s if every one were a gather from memory (the
   sliding window and the frequent words keep most in cache, so a kernel can beat it).
Needs the compiled kernel.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core: set before numpy loads BLAS
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from peer import HERE, prepare_corpus  # noqa: E402

sys.path.insert(0, str(HERE.parent))
from w2v_cli import native, sampling  # noqa: E402
from w2v_cli.engines.base import tree_arrays  # noqa: E402

DIM, K, WINDOW, MIN_COUNT, SAMPLE = 100, 5, 5, 5, 1e-3
MODES = [("skipgram", "neg"), ("cbow", "neg"), ("skipgram", "hs"), ("cbow", "hs")]


def blas_peak(rounds: int) -> float:
    """GFLOP/s of a 512 x 512 float32 product (in cache), best of `rounds` x 20 products."""
    a = np.random.default_rng(0).random((512, 512), dtype=np.float32)
    best = 0.0
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(20):
            a @ a
        best = max(best, 20 * 2 * 512**3 / (time.perf_counter() - t) / 1e9)
    return best


def gather_rate(V: int, rounds: int) -> float:
    """Random rows per second gathered (and summed) from a (V, DIM) float32 matrix, one row at a time."""
    rng = np.random.default_rng(1)
    M = rng.random((V, DIM), dtype=np.float32)
    idx = rng.integers(0, V, 200_000)
    out = np.zeros(DIM, np.float32)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for chunk in np.split(idx, 200):  # 1,000 rows per take: the gather, not the call, dominates
            out += np.take(M, chunk, axis=0).sum(axis=0)
        times.append(time.perf_counter() - t)
    return idx.size / min(times)


def read_sample(corpus: Path, sample_words: int, rng: np.random.Generator):
    """(counts, tokens, sentence, radius, corpus words): the sample as training prepares it."""
    words = corpus.read_text(encoding="utf-8").split()
    counts = Counter(words)
    vocab = [w for w, c in counts.most_common() if c >= MIN_COUNT]
    index = {w: i for i, w in enumerate(vocab)}
    freq = np.array([counts[w] for w in vocab], np.int64)
    ids = np.array([index.get(w, -2) for w in words[:sample_words]], np.int64)
    ids = ids[ids >= 0]  # the sample as one sentence; out-of-vocabulary words dropped
    kept = sampling.subsample(rng, ids, sampling.keep_probabilities(freq, SAMPLE)).astype(np.int32)
    sentence = np.zeros(kept.size, np.int32)
    return freq, kept, sentence, sampling.draw_radii(rng, kept.size, WINDOW), min(sample_words, len(words))


def window_sizes(radius: np.ndarray) -> np.ndarray:
    """Context words m of every center of one sentence: min(r, i) + min(r, n - 1 - i)."""
    i = np.arange(radius.size)
    return np.minimum(radius, i) + np.minimum(radius, radius.size - 1 - i)


def flops_per_center(model: str, loss: str, m: np.ndarray, L: np.ndarray) -> float:
    """Mean flops of one trained center (see the module docstring)."""
    n_out = L if loss == "hs" else np.full(m.shape, K + 1)
    per = 3 * m * n_out + m if model == "skipgram" else 3 * n_out + 2 * m
    return float(2 * DIM * per.mean())


def time_kernel(model: str, loss: str, data, tree, noise, rounds: int) -> float:
    """Median thread-CPU seconds of one kernel pass over the sample, from word2vec's initial vectors each time."""
    freq, tokens, sentence, radius = data
    V, times = freq.size, []
    centers = np.ones(tokens.size, np.bool_)
    for r in range(rounds):
        rng = np.random.default_rng(r)
        W = ((rng.random((V, DIM), dtype=np.float32) - 0.5) / DIM).astype(np.float32)
        C = np.zeros((V - (loss == "hs"), DIM), np.float32)
        lr = 0.05 if model == "cbow" else 0.025
        t = time.thread_time()
        if loss == "hs":
            native.train_hs(W, C, tokens, sentence, radius, centers, tree, lr, lr, 32, model == "cbow")
        elif model == "cbow":
            native.train_cbow(W, C, tokens, sentence, radius, centers, None, noise, K, lr, lr, r + 1, 32, False)
        else:
            native.train_positions(W, C, tokens, sentence, radius, centers, None, noise, K, lr, lr, r + 1, 32)
        times.append(time.thread_time() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--sample-words", type=int, default=2_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=HERE / ".work")
    a = ap.parse_args()
    if not native.available():
        raise SystemExit("roofline.py needs the compiled kernel")
    a.workdir.mkdir(parents=True, exist_ok=True)
    prepared = a.workdir / "corpus.txt"
    prepare_corpus(a.corpus, prepared)
    freq, tokens, sentence, radius, sample = read_sample(prepared, a.sample_words, np.random.default_rng(1))
    peak, gathers = blas_peak(a.rounds), gather_rate(freq.size, a.rounds)
    print(f"one core: BLAS float32 peak {peak:.1f} GFLOP/s; random-row gathers from ({freq.size:,}, {DIM}) "
          f"float32: {gathers / 1e6:.1f}M rows/s")  # fmt: skip
    tree = tree_arrays(freq)
    noise = sampling.alias_table(sampling.noise_cdf(freq))
    m = window_sizes(radius)
    L = tree[2][tokens].astype(np.float64)
    centers_per_word = tokens.size / sample
    print(f"sample: {sample:,} corpus words, {tokens.size:,} kept after subsampling; mean m {m.mean():.2f}, "
          f"mean path L {L.mean():.2f}\n")  # fmt: skip
    print("| mode | words/s (1 core) | flops/word | GFLOP/s | % of BLAS peak | rows/word | words/s if all missed |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for model, loss in MODES:
        seconds = time_kernel(model, loss, (freq, tokens, sentence, radius), tree, noise, a.rounds)
        fpw = flops_per_center(model, loss, m, L) * centers_per_word
        gflops = fpw * sample / seconds / 1e9
        outs = L.mean() if loss == "hs" else K + 1
        rows = (m.mean() + outs) * centers_per_word  # distinct rows a center touches, per corpus word
        print(f"| {model} {loss} | {sample / seconds / 1e6:.2f}M | {fpw:,.0f} | {gflops:.1f} | "
              f"{100 * gflops / peak:.0f}% | {rows:.1f} | {gathers / rows / 1e6:.1f}M |")  # fmt: skip


if __name__ == "__main__":
    main()
