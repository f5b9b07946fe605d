"""Training: scan the corpus, build the vocabulary, run the epochs, save.

The data flow is: corpus files -> `vocab.scan_corpus` (one pass; provisional
ids to a temporary file beside the output) -> `vocab.build_vocab` -> for each
epoch, segments of that id file -> subsampling, sentence split and window radii
(shared by every engine, drawn from the one seeded Generator) -> engine jobs ->
updates of W (V, d) and C (V, d) -> `vectors.save_model`.

The learning rate decays linearly from lr to min_lr over all epochs, by words
processed. With one worker everything runs in order on one thread, so a seed
gives bit-identical vectors; with more, jobs run on threads and update the
shared matrices without locks, as word2vec.c does.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from w2v_cli import engine_numpy, sampling
from w2v_cli.config import TrainConfig, to_dict
from w2v_cli.corpus import expand_paths
from w2v_cli.errors import W2VError
from w2v_cli.progress import bar
from w2v_cli.vocab import Vocab, build_vocab, check_vocab, iter_segments, scan_corpus


@dataclass
class Job:
    """One unit of work for an engine, with its share of the schedule."""

    epoch: int
    lr: float  # learning rate at the start of the job
    lr_end: float  # learning rate at its end (the compiled engine interpolates)
    words: int  # corpus words (before subsampling) the job accounts for
    payload: object


@dataclass
class Model:
    """A trained model: vocabulary, input vectors W (V, d), output vectors C (V, d)."""

    vocab: Vocab
    W: np.ndarray
    C: np.ndarray
    metrics: dict = field(default_factory=dict)


class NumpyEngine:
    """Vectorised numpy updates over batches of `batch_words` center positions."""

    name = "numpy"

    def __init__(self, cfg: TrainConfig, vocab_size: int) -> None:
        self.cfg = cfg
        self.batch = cfg.batch_words
        if cfg.loss == "softmax":  # the (batch, V) softmax matrix stays under ~4M floats
            self.batch = max(16, min(self.batch, 4_000_000 // max(vocab_size, 1)))

    def make_jobs(self, tokens, sentence, radius, rng, cdf) -> Iterator[tuple[object, int]]:
        """Batches with context margins; yields (batch, centers in it)."""
        n, m, k = tokens.size, self.cfg.window, self.cfg.negative
        for s in range(0, n, self.batch):
            e = min(n, s + self.batch)
            lo, hi = max(0, s - m), min(n, e + m)
            centers = np.zeros(hi - lo, bool)
            centers[s - lo : e - lo] = True
            neg = sampling.draw_negatives(rng, cdf, (hi - lo, k)) if self.cfg.loss == "neg" else None
            yield engine_numpy.Batch(tokens[lo:hi], sentence[lo:hi], radius[lo:hi], centers, neg), e - s

    def run(self, W, C, job: Job) -> tuple[float, int]:
        return engine_numpy.step(W, C, job.payload, self.cfg.window, job.lr, self.cfg.loss)


def resolve_engine(cfg: TrainConfig) -> str:
    """The engine a run will use: 'numba' when asked for or available (and loss is neg)."""
    if cfg.engine == "numpy" or cfg.loss == "softmax":
        if cfg.engine == "numba":
            raise W2VError("engine 'numba' supports loss 'neg' only; use --engine numpy for softmax")
        return "numpy"
    try:
        import numba  # noqa: F401
    except ImportError:
        if cfg.engine == "numba":
            raise W2VError("engine 'numba' needs numba: pip install numba") from None
        return "numpy"
    return "numba"


def make_engine(name: str, cfg: TrainConfig, vocab_size: int):
    if name == "numba":
        from w2v_cli.engine_numba import NumbaEngine

        return NumbaEngine(cfg, vocab_size)
    return NumpyEngine(cfg, vocab_size)


class Schedule:
    """Linear learning-rate decay by words processed; `Schedule(0.1, 0.0, 100).at(50)` -> 0.05."""

    def __init__(self, lr: float, final: float, total_words: int) -> None:
        self.lr, self.final, self.total = lr, final, max(total_words, 1)

    def at(self, words_done: int) -> float:
        frac = min(words_done / self.total, 1.0)
        return self.lr - (self.lr - self.final) * frac


def iter_jobs(cfg, engine, ids_path, mapping, keep, cdf, sched, rng) -> Iterator[Job]:
    """Every job of every epoch, in order; all randomness drawn here, on one thread."""
    done = 0
    for epoch in range(cfg.epochs):
        for segment in iter_segments(ids_path, mapping):
            words = int(np.count_nonzero(segment >= 0))
            kept = sampling.subsample(rng, segment, keep)
            tokens, sentence = sampling.split_sentences(kept)
            radius = sampling.draw_radii(rng, tokens.size, cfg.window)
            parts = list(engine.make_jobs(tokens, sentence, radius, rng, cdf))
            total_centers = max(sum(c for _, c in parts), 1)
            given = 0
            for payload, centers in parts:
                share = words * centers // total_centers
                given += share
                yield Job(epoch, sched.at(done), sched.at(done + share), share, payload)
                done += share
            if words > given:  # rounding remainder, or a segment with no kept tokens
                yield Job(epoch, sched.at(done), sched.at(done + words - given), words - given, None)
                done += words - given


class Tracker:
    """Loss per epoch, a running loss for the progress bar, divergence detection."""

    def __init__(self, epochs: int) -> None:
        self.loss = [0.0] * epochs
        self.pairs = [0] * epochs
        self.running: float | None = None

    def add(self, job: Job, loss: float, pairs: int) -> None:
        if not math.isfinite(loss):
            raise W2VError(
                f"training diverged (loss is {loss}) in epoch {job.epoch + 1}; try a lower --lr; no output was written"
            )
        self.loss[job.epoch] += loss
        self.pairs[job.epoch] += pairs
        if pairs:
            mean = loss / pairs
            self.running = mean if self.running is None else 0.95 * self.running + 0.05 * mean

    def epoch_means(self) -> list[float | None]:
        return [l / p if p else None for l, p in zip(self.loss, self.pairs)]


def run_jobs(jobs: Iterator[Job], engine, W, C, workers: int, tracker: Tracker, pb) -> None:
    """Run `jobs` on `workers` threads (in order on this one when workers == 1)."""

    def account(job: Job, result: tuple[float, int]) -> None:
        tracker.add(job, *result)
        pb.update(job.words)
        if tracker.running is not None:
            pb.set_postfix(loss=f"{tracker.running:.4f}", lr=f"{job.lr:.5f}", refresh=False)

    def run(job: Job) -> tuple[float, int]:
        return (0.0, 0) if job.payload is None else engine.run(W, C, job)

    if workers == 1:
        for job in jobs:
            account(job, run(job))
        return
    pending: deque[tuple[Job, Future]] = deque()
    with ThreadPoolExecutor(workers) as pool:
        try:
            for job in jobs:
                pending.append((job, pool.submit(run, job)))
                while len(pending) > 2 * workers:
                    done_job, fut = pending.popleft()
                    account(done_job, fut.result())
            while pending:
                done_job, fut = pending.popleft()
                account(done_job, fut.result())
        finally:
            for _, fut in pending:
                fut.cancel()


def init_vectors(rng: np.random.Generator, vocab_size: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """word2vec's init: W uniform in [-0.5/d, 0.5/d), C zeros; both (V, d) float32."""
    W = ((rng.random((vocab_size, dim), dtype=np.float32) - 0.5) / dim).astype(np.float32)
    return W, np.zeros((vocab_size, dim), np.float32)


def train(cfg: TrainConfig, quiet: bool = False) -> Model:
    """Train on `cfg.corpus`; the temporary id file lives in `cfg.output` and is removed."""
    files = expand_paths(cfg.corpus)
    outdir = prepare_output_dir(cfg.output)
    workers = cfg.workers or os.cpu_count() or 1
    engine_name = resolve_engine(cfg)
    rng = np.random.default_rng(cfg.seed)
    fd, ids_name = tempfile.mkstemp(dir=outdir, prefix=".w2v-corpus-", suffix=".ids")
    try:
        t0 = time.perf_counter()
        with os.fdopen(fd, "wb") as ids_file:
            scan = scan_corpus(files, ids_file, cfg.max_sentence, engine_name, quiet)
        vocab, mapping, bad = build_vocab(scan, cfg.min_count, cfg.max_vocab)
        check_vocab(vocab, scan, cfg.min_count)
        t_vocab = time.perf_counter() - t0
        W, C = init_vectors(rng, len(vocab), cfg.dim)
        engine = make_engine(engine_name, cfg, len(vocab))
        keep = sampling.keep_probabilities(vocab.counts, cfg.sample)
        cdf = sampling.noise_cdf(vocab.counts, cfg.noise_exponent)
        sched = Schedule(cfg.lr, cfg.final_lr, cfg.epochs * vocab.total)
        tracker = Tracker(cfg.epochs)
        jobs = iter_jobs(cfg, engine, Path(ids_name), mapping, keep, cdf, sched, rng)
        t1 = time.perf_counter()
        with bar(cfg.epochs * vocab.total, "train", quiet, unit="w", unit_scale=True) as pb:
            run_jobs(jobs, engine, W, C, workers, tracker, pb)
        t_train = time.perf_counter() - t1
    finally:
        Path(ids_name).unlink(missing_ok=True)
    if not (np.isfinite(W).all() and np.isfinite(C).all()):
        raise W2VError("training diverged (vectors contain nan/inf); try a lower --lr; no output was written")
    metrics = {
        "engine": engine_name,
        "workers": workers,
        "corpus_files": scan.files,
        "corpus_bytes": scan.bytes,
        "corpus_words": scan.tokens,
        "distinct_words": len(scan.words),
        "vocab_size": len(vocab),
        "train_words": vocab.total,
        "invalid_utf8_replaced": bad,
        "epochs": cfg.epochs,
        "loss_per_epoch": tracker.epoch_means(),
        "pairs_per_epoch": tracker.pairs,
        "vocab_seconds": round(t_vocab, 3),
        "train_seconds": round(t_train, 3),
        "words_per_second": round(cfg.epochs * vocab.total / max(t_train, 1e-9)),
        "config": to_dict(cfg),
    }
    return Model(vocab, W, C, metrics)


def prepare_output_dir(path: str) -> Path:
    """Create the output directory (and parents); a clear error if it cannot be."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise W2VError(f"output {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise W2VError(f"cannot create output directory {out}: {e.strerror or e}") from None
    if not os.access(out, os.W_OK):
        raise W2VError(f"output directory {out} is not writable")
    return out


def train_and_save(cfg: TrainConfig, quiet: bool = False) -> tuple[Model, list[Path]]:
    """Train, then write every output file atomically into `cfg.output`."""
    from w2v_cli.vectors import save_model

    model = train(cfg, quiet)
    paths = save_model(
        Path(cfg.output), model.vocab.words, model.vocab.counts, model.W, model.C, to_dict(cfg), model.metrics
    )
    return model, paths
