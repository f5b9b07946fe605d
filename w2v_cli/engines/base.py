"""The engine interface: what a training engine is given, what it returns, how it may run.

An engine turns one segment of the corpus (word ids after subsampling, with a
sentence number and a drawn window radius per position) into jobs, and runs a
job by updating the input vectors W (V, d) and the output vectors C (V, d) in
place. The pipeline (`pipeline.py`) draws every random number on one thread, in
job order, and hands each job its share of the learning-rate schedule; the
engine never sees the schedule, the tracker or the progress bar.

Contract of `Engine.run(W, C, job)`: it updates W and C for every center of
`job.payload` with a learning rate moving from `job.lr` to `job.lr_end`, and
returns `(loss, pairs)`: the summed loss (an estimate from every
LOSS_EVERY-th center, scaled to all pairs) and the number of (center, context)
pairs trained. It must be safe to run concurrently with other jobs on the
same W and C without locks (Hogwild): on threads, or, if `processes` is set,
on forked processes that share W and C.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from hashlib import blake2b

import numpy as np

from w2v_cli.losses import MAX_CODE, huffman_merge, too_deep

Array = np.ndarray
LOSS_EVERY = 32  # the loss is measured on every 32nd center: a log per score costs as much as its sigmoid


@dataclass
class Batch:
    """Positions to train on; every array is indexed by position."""

    tokens: Array  # (N,) word ids
    sentence: Array  # (N,) sentence number: windows never cross sentences
    radius: Array  # (N,) dynamic window radius, 1..window
    centers: Array | None = None  # (N,) bool, positions that act as centers; None: all of them
    negatives: Array | None = None  # (N, K) noise words shared by a center's window, or drawn by the engine
    seed: int = 0  # seed of an engine's own negative sampler (the C kernel's)


@dataclass
class Job:
    """One unit of work for an engine, with its share of the schedule."""

    epoch: int
    lr: float  # learning rate at the start of the job
    lr_end: float  # learning rate at its end (the C engine interpolates)
    words: int  # corpus words (before subsampling) the job accounts for
    payload: Batch | None  # None: words to account for with nothing to train


NEVER = np.iinfo(np.int64).max


class Stream:
    """Jobs in order, and, once exhausted, how it ended.

    A stream may stop early (`schedule.JobStream`): set `stop_requested` and it
    stops at its next boundary; a copy in a forked child stops at the first
    boundary at or after job number `stop_at[0]` (shared memory, set by the
    parent). Then `stopped` is True, `where` = (epoch, offset, words done) is
    where to continue, and `epoch_complete` says whether the last epoch it gave
    jobs of was finished.
    Example: `list(Stream([job]))` -> `[job]`.
    """

    def __init__(self, jobs: Iterable[Job] = ()) -> None:
        self.jobs = jobs
        self.epoch_complete = True
        self.stopped = False
        self.where = (0, 0, 0)
        self.stop_requested = False
        self.stop_at = np.full(1, NEVER, np.int64)

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs)


class Engine(ABC):
    """A training engine. Subclasses set the two flags and implement the two methods."""

    processes: bool = False  # several workers run as forked processes (Linux) rather than threads
    main_thread_steps: bool = False  # with threads, the thread that prepares jobs also runs some

    @classmethod
    def prepare_process(cls) -> None:
        """Set up the process before the run starts (allocator settings); nothing by default."""
        return None

    @classmethod
    def scratch_bytes(cls, cfg, vocab_size: int) -> int:
        """Memory one worker needs besides W and C (an upper estimate, for the preflight)."""
        return 16 << 20

    @abstractmethod
    def make_jobs(
        self, tokens: Array, sentence: Array, radius: Array, rng: np.random.Generator
    ) -> Iterator[tuple[Batch, int]]:
        """Cut one segment into jobs: yields (payload, centers in it); draws only from `rng`."""

    @abstractmethod
    def run(self, W: Array, C: Array, job: Job) -> tuple[float, int]:
        """Train `job` into W and C in place; returns (loss, pairs) as the module docstring says."""


def tree_arrays(counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Huffman tree of `losses.huffman_tree` as the engines read it: points, codes (V, MAX_CODE), lengths (V,).

    Every word climbs to the root at once, a level per step, then each row is reversed (root first).
    Example: counts [3, 2, 1] -> points [[1, 0..], [1, 0, 0..], [1, 0, 0..]], codelen [1, 2, 2].
    """
    parent, binary = huffman_merge(counts)
    V = len(counts)
    up_nodes, up_bits = np.zeros((V, MAX_CODE), np.int32), np.zeros((V, MAX_CODE), np.uint8)  # leaf first
    node, codelen = np.arange(V), np.zeros(V, np.int32)
    climbing = np.flatnonzero(node != 2 * V - 2)
    for level in range(MAX_CODE + 1):
        if climbing.size == 0:
            break
        if level == MAX_CODE:
            raise too_deep()
        up_bits[climbing, level] = binary[node[climbing]]
        node[climbing] = parent[node[climbing]]
        up_nodes[climbing, level] = node[climbing] - V
        codelen[climbing] += 1
        climbing = climbing[node[climbing] != 2 * V - 2]
    src = codelen[:, None] - 1 - np.arange(MAX_CODE)  # (V, MAX_CODE): where root-first entry j sits leaf-first
    on_path = src >= 0
    src = np.maximum(src, 0)
    points = np.where(on_path, np.take_along_axis(up_nodes, src, 1), 0).astype(np.int32)
    return points, np.where(on_path, np.take_along_axis(up_bits, src, 1), 0).astype(np.uint8), codelen


def node_signatures(words: list[str], counts) -> np.ndarray:
    """(V - 1, 2) uint64: for each inner node of the Huffman tree over `counts`, a hash of the words below it
    and their number.

    Two trees' inner nodes with equal signatures stand for the same set of words
    (the hash is the 64-bit sum of each word's blake2b, so a false match needs a collision).
    """
    points, _, codelen = tree_arrays(counts)
    hashes = np.array([int.from_bytes(blake2b(w.encode(), digest_size=8).digest(), "little") for w in words], np.uint64)
    V = len(words)
    nodes = points[np.arange(MAX_CODE) < codelen[:, None]]  # row-major: each word's path in turn
    below = np.repeat(np.arange(V), codelen)
    sums = np.zeros(V - 1, np.uint64)
    np.add.at(sums, nodes, hashes[below])  # wraps modulo 2^64
    return np.stack([sums, np.bincount(nodes, minlength=V - 1).astype(np.uint64)], axis=1)


def matching_nodes(old: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(new ids, old ids) of the inner nodes whose `node_signatures` agree.

    Example: old [[5, 2], [9, 3]], new [[9, 3], [4, 2]] -> ([0], [1]).
    """
    where = {(int(a), int(b)): i for i, (a, b) in enumerate(old)}
    pairs = [(j, where[(int(a), int(b))]) for j, (a, b) in enumerate(new) if (int(a), int(b)) in where]
    return np.array([j for j, _ in pairs], np.int64), np.array([i for _, i in pairs], np.int64)
