"""The compiled engine: a C kernel (`native/kernel.c`) that walks positions one center at a time.

Skip-gram or CBOW, with negative sampling or hierarchical softmax (then C is
the inner-node matrix theta (V - 1, d) of word2vec.c's Huffman tree).

Same model as the numpy engine (see `numpy_math`): each context word's input
vector scores the center word's output vector and K negatives drawn once per
center (word2vec.c's skip-gram with pWord2Vec's window-shared negatives). It is
sequential SGD: each center's m x (K+1) scores come from the current
parameters, then its updates are applied, as in word2vec.c. Because all of a
center's scores are taken before any of its updates, a step for one center is
exactly -lr times the reference gradient (checked by `gradcheck`). A center
touches only m + K + 1 rows, so steps are small and need no step bound.

Jobs run on Python threads; ctypes releases the GIL for each kernel call, and
threads update W and C without locks (Hogwild, as word2vec.c). The rows that
nearly every center writes would then move between the cores all the time, and
two threads stepping one row at once can lose one of the steps. So with several
workers each job trains them in a private copy and adds its change at the end:
the HS_HOT_NODES most visited nodes of the tree (the highest-numbered: Huffman
makes the inner nodes in order of count; 80% of the node steps after
subsampling) and the HOT_WORDS most frequent words' rows of W, and of C with
negative sampling (58% of the context rows a center writes, 38% of its
negatives). Negatives are drawn in the kernel from the shared noise alias
table with a per-job xorshift64* generator seeded from the run's numpy
Generator, so one worker is bit-reproducible. A job's arrays are views of its segment: no copies.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from w2v_cli import heap, native
from w2v_cli.config import worker_count
from w2v_cli.engines.base import LOSS_EVERY, Batch, Engine, Job, tree_arrays
from w2v_cli.errors import W2VError

JOB_TOKENS = 50_000  # tokens per job: enough to amortise the call, small enough to share
MAX_WINDOW = 64  # the kernel's context buffer holds 2 x 64 words
CBOW_MEAN_STEP = False  # CBOW context rows step by the full dJ/dh (word2vec.c's update), not dJ/dh / m
HS_HOT_NODES = 1023  # with several workers, each job trains the tree's 1023 most visited nodes in its own copy,
HOT_WORDS = 1024  # and the 1024 most frequent words' rows of W (and of C, with negative sampling)


class CEngine(Engine):
    """Jobs of about JOB_TOKENS positions, cut at sentence starts; the kernel draws the negatives."""

    def __init__(self, cfg, vocab_size: int, noise: tuple[np.ndarray, np.ndarray], counts=None) -> None:
        if cfg.window > MAX_WINDOW:
            raise W2VError(f"engine 'c' supports window <= {MAX_WINDOW}; use --engine numpy")
        if cfg.loss == "neg" and cfg.negative > native.MAX_NEGATIVE:
            raise W2VError(f"engine 'c' supports negative <= {native.MAX_NEGATIVE}; use --engine numpy")
        self.negative = cfg.negative
        self.noise = noise  # alias table (prob, alias): the kernel draws negatives from it
        self.cbow = cfg.model == "cbow"
        self.tree = tree_arrays(counts) if cfg.loss == "hs" else None  # C is then theta (V - 1, d)
        shared = worker_count(cfg) > 1  # one worker: every step in place
        self.hot_nodes, self.hot_words = (HS_HOT_NODES, HOT_WORDS) if shared else (0, 0)

    @classmethod
    def prepare_process(cls) -> None:
        heap.return_freed_memory()

    def make_jobs(self, tokens, sentence, radius, rng) -> Iterator[tuple[Batch, int]]:
        """Views of the segment's int32 arrays; each job takes one seed from `rng`."""
        n = tokens.size
        if n == 0:
            return
        targets = np.arange(JOB_TOKENS, n, JOB_TOKENS)
        starts = np.searchsorted(sentence, sentence[targets - 1], side="right")  # first sentence start >= target
        cuts = [0, *np.unique(starts[starts < n]).tolist(), n]  # sentence numbers never decrease
        for a, b in zip(cuts[:-1], cuts[1:]):
            seed = int(rng.integers(1, 2**63))
            yield Batch(tokens[a:b], sentence[a:b], radius[a:b], seed=seed), b - a

    def run(self, W, C, job: Job) -> tuple[float, int]:
        b = job.payload
        centers = np.ones(b.tokens.size, np.bool_)
        args = (W, C, b.tokens, b.sentence, b.radius, centers, None, self.noise, self.negative, job.lr, job.lr_end,
                b.seed, LOSS_EVERY)  # fmt: skip
        if self.tree is not None:
            tree_args = (W, C, b.tokens, b.sentence, b.radius, centers, self.tree, job.lr, job.lr_end, LOSS_EVERY)
            loss, measured, pairs = native.train_hs(*tree_args, self.cbow, self.hot_nodes, self.hot_words)
        elif self.cbow:
            loss, measured, pairs = native.train_cbow(*args, CBOW_MEAN_STEP, hot=self.hot_words)
        else:
            loss, measured, pairs = native.train_positions(*args, hot=self.hot_words)
        return (loss * pairs / measured if measured else 0.0), pairs  # measured > 0 whenever pairs > 0
