"""Training: scan the corpus, build the vocabulary, run the epochs, save.

The data flow is: corpus files -> `vocab.scan_corpus` (one pass; provisional
ids to a temporary file beside the output) -> `vocab.build_vocab` -> for each
epoch, segments of that id file -> subsampling, sentence split and window radii
(shared by every engine, drawn from the one seeded Generator) -> engine jobs ->
updates of W (V, d) and C (V, d) -> `vectors.save_model`.

The learning rate decays linearly from lr to min_lr over all epochs, by words
processed. With one worker everything runs in order on one thread, so a seed
gives bit-identical vectors; with more, jobs run on threads (the compiled
engine) or forked processes (the numpy engine on Linux, see `forked`) and
update the shared matrices without locks, as word2vec.c does.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from w2v_cli import engine_numpy, forked, sampling
from w2v_cli.config import TrainConfig, to_dict
from w2v_cli.corpus import expand_paths
from w2v_cli.errors import W2VError
from w2v_cli.heap import return_freed_memory
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
    main_thread_steps = True  # see run_jobs
    processes = True  # it holds the GIL for a sixth of a step: workers are forked processes where possible

    def __init__(self, cfg: TrainConfig, vocab_size: int, noise: tuple[np.ndarray, np.ndarray]) -> None:
        self.cfg = cfg
        self.noise = noise  # alias table (prob, alias) of the noise distribution
        self.batch = cfg.batch_words
        if cfg.loss == "softmax":  # the (batch, V) softmax matrix stays under ~4M floats
            self.batch = max(16, min(self.batch, 4_000_000 // max(vocab_size, 1)))

    def make_jobs(self, tokens, sentence, radius, rng) -> Iterator[tuple[object, int]]:
        """Batches with context margins; yields (batch, centers in it)."""
        n, m, k = tokens.size, self.cfg.window, self.cfg.negative
        for s in range(0, n, self.batch):
            e = min(n, s + self.batch)
            lo, hi = max(0, s - m), min(n, e + m)
            centers = np.zeros(hi - lo, bool)
            centers[s - lo : e - lo] = True
            neg = sampling.draw_negatives(rng, self.noise, (hi - lo, k)) if self.cfg.loss == "neg" else None
            yield engine_numpy.Batch(tokens[lo:hi], sentence[lo:hi], radius[lo:hi], centers, neg), e - s

    def run(self, W, C, job: Job) -> tuple[float, int]:
        cfg = self.cfg
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported by Tracker.add
            return engine_numpy.step(W, C, job.payload, cfg.window, job.lr, cfg.loss, engine_numpy.LOSS_EVERY)


def resolve_engine(cfg: TrainConfig) -> str:
    """The engine a run will use: 'c' when asked for or installed (and loss is neg), else 'numpy'."""
    from w2v_cli import ckernel

    if cfg.engine == "numpy" or cfg.loss == "softmax":
        if cfg.engine == "c":
            raise W2VError("engine 'c' supports loss 'neg' only; use --engine numpy for softmax")
        return "numpy"
    if not ckernel.available():
        if cfg.engine == "c":
            raise W2VError("engine 'c' is not installed (no C compiler at install time?); reinstall w2v or use numpy")
        return "numpy"
    return "c"


def make_engine(name: str, cfg: TrainConfig, vocab_size: int, noise: tuple[np.ndarray, np.ndarray]):
    """The engine `name`; `noise` is the alias table of the noise distribution both draw from."""
    if name == "c":
        from w2v_cli.engine_c import CEngine

        return CEngine(cfg, vocab_size, noise)
    return NumpyEngine(cfg, vocab_size, noise)


class Schedule:
    """Linear learning-rate decay by words processed; `Schedule(0.1, 0.0, 100).at(50)` -> 0.05."""

    def __init__(self, lr: float, final: float, total_words: int) -> None:
        self.lr, self.final, self.total = lr, final, max(total_words, 1)

    def at(self, words_done: int) -> float:
        frac = min(words_done / self.total, 1.0)
        return self.lr - (self.lr - self.final) * frac


def iter_jobs(cfg, engine, ids_path, mapping, keep, sched, rng) -> Iterator[Job]:
    """Every job of every epoch, in order; all randomness drawn here, on one thread."""
    done = 0
    for epoch in range(cfg.epochs):
        for segment in iter_segments(ids_path, mapping):
            words = int(np.count_nonzero(segment >= 0))
            kept = sampling.subsample(rng, segment, keep)
            tokens, sentence = sampling.split_sentences(kept)
            radius = sampling.draw_radii(rng, tokens.size, cfg.window)
            parts = list(engine.make_jobs(tokens, sentence, radius, rng))
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

    def __init__(self, epochs: int, total_words: int = 0) -> None:
        self.loss = [0.0] * epochs
        self.pairs = [0] * epochs
        self.running: float | None = None
        self.curve: list[tuple[int, float]] = []  # (words processed, mean loss since the last point)
        self.window = [0.0, 0]  # loss and pairs since the last curve point
        self.done = 0
        self.step = max(total_words // 200, 1)
        self.next_mark = self.step

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
        self.done += job.words
        self.window[0] += loss
        self.window[1] += pairs
        if self.window[1] and self.done >= self.next_mark:
            self.curve.append((self.done, round(self.window[0] / self.window[1], 5)))
            self.window = [0.0, 0]
            self.next_mark = self.done + self.step

    def epoch_means(self) -> list[float | None]:
        return [l / p if p else None for l, p in zip(self.loss, self.pairs)]


def run_jobs(jobs: Iterator[Job], engine, W, C, workers: int, tracker: Tracker, pb, on_epoch_end=None) -> None:
    """Run `jobs` on `workers` threads (in order on this one when workers == 1).

    If `engine.main_thread_steps`, this thread, which prepares the jobs, is one of
    the workers: a pool of workers - 1 threads, and this one runs a job itself
    whenever the pool has two per thread waiting. (The numpy engine holds the GIL
    for a sixth of a step; a third busy thread beside 2 workers cost it 2-6%.)
    Every job of an epoch has finished when `on_epoch_end(epoch)` is called.
    """
    pending: deque[tuple[Job, Future]] = deque()
    helps = workers > 1 and getattr(engine, "main_thread_steps", False)
    threads = workers - 1 if helps else workers
    pool = ThreadPoolExecutor(threads) if workers > 1 else None

    run = partial(run_job, engine, W, C)

    def drain(limit: int) -> None:
        while len(pending) > limit:
            job, fut = pending.popleft()
            account(tracker, pb, job, fut.result())

    epoch = 0
    try:
        for job in jobs:
            if job.epoch != epoch:
                drain(0)
                if on_epoch_end:
                    on_epoch_end(epoch)
                epoch = job.epoch
            if pool is None:
                account(tracker, pb, job, run(job))
            else:
                inline = helps and sum(not f.done() for _, f in pending) >= 2 * threads
                pending.append((job, finished(run(job)) if inline else pool.submit(run, job)))
                drain(2 * workers)
        drain(0)
        if on_epoch_end:
            on_epoch_end(epoch)
    finally:
        for _, fut in pending:
            fut.cancel()
        if pool is not None:
            pool.shutdown(wait=True)


def run_job(engine, W, C, job: Job) -> tuple[float, int]:
    """(loss, pairs) of one job; a job without payload (words left over, no positions) trains nothing."""
    return (0.0, 0) if job.payload is None else engine.run(W, C, job)


def account(tracker: Tracker, pb, job: Job, result: tuple[float, int]) -> None:
    """Record a finished job's (loss, pairs) and move the progress bar."""
    tracker.add(job, *result)
    pb.update(job.words)
    if tracker.running is not None:
        pb.set_postfix(loss=f"{tracker.running:.4f}", lr=f"{job.lr:.5f}", refresh=False)


def run_processes(jobs: Iterator[Job], engine, W, C, workers: int, tracker: Tracker, pb, on_epoch_end=None) -> None:
    """Run `jobs` on `workers` forked processes (see `forked`); W and C must be `forked.shared_copy` arrays."""

    def on_result(epoch: int, words: int, lr: float, loss: float, pairs: int) -> None:
        account(tracker, pb, Job(epoch, lr, lr, words, None), (loss, pairs))

    forked.run_forked(jobs, partial(run_job, engine, W, C), workers, on_result, on_epoch_end)


def finished(result) -> Future:
    """A Future that already holds `result`, for a job run on the calling thread."""
    fut: Future = Future()
    fut.set_result(result)
    return fut


def epoch_evaluator(cfg: TrainConfig, vocab: Vocab, W: np.ndarray, pb, results: list):
    """A hook scoring the live vectors on the configured eval files; None if there are none."""
    if not (cfg.eval_analogies or cfg.eval_similarity):
        return None
    from w2v_cli.evaluate import evaluate_analogies, evaluate_similarity
    from w2v_cli.vectors import Vectors

    def hook(epoch: int) -> None:
        vecs = Vectors(vocab.words, W)
        row = {
            "epoch": epoch + 1,
            "analogies": [evaluate_analogies(vecs, f, cfg.eval_restrict_vocab) for f in cfg.eval_analogies],
            "similarity": [evaluate_similarity(vecs, f) for f in cfg.eval_similarity],
        }
        results.append(row)
        if not pb.disable:
            pb.write(f"epoch {epoch + 1}: " + describe_eval(row), file=sys.stderr)

    return hook


def describe_eval(row: dict) -> str:
    """One line: analogy accuracy (coverage) and Spearman per file."""
    parts = []
    for a in row["analogies"]:
        t = a["total"]
        acc = "n/a" if t["accuracy"] is None else f"{100 * t['accuracy']:.1f}%"
        parts.append(f"{Path(a['file']).name} {acc} (coverage {100 * (t['coverage'] or 0):.0f}%)")
    for r in row["similarity"]:
        rho = "n/a" if r["spearman"] is None else f"{r['spearman']:.3f}"
        parts.append(f"{Path(r['file']).name} spearman {rho}")
    return ", ".join(parts)


def init_vectors(rng: np.random.Generator, vocab_size: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """word2vec's init: W uniform in [-0.5/d, 0.5/d), C zeros; both (V, d) float32."""
    W = rng.random((vocab_size, dim), dtype=np.float32)  # in place: no (V, d) temporaries
    W -= 0.5
    W /= dim
    return W, np.zeros((vocab_size, dim), np.float32)


def train(cfg: TrainConfig, quiet: bool = False) -> Model:
    """Train on `cfg.corpus`; the temporary id file lives in `cfg.output` and is removed."""
    files = expand_paths(cfg.corpus)
    check_eval_files(cfg)
    outdir = prepare_output_dir(cfg.output)
    engine_name = resolve_engine(cfg)
    if engine_name == "numpy" and cfg.engine == "auto" and cfg.loss == "neg" and not quiet:
        print("note: the compiled kernel is not installed; training with the numpy engine (3x slower)", file=sys.stderr)
    if engine_name == "c":  # the numpy engine allocates scratch every step: 2.6x slower with it
        return_freed_memory()
    rng = np.random.default_rng(cfg.seed)
    fd, ids_name = tempfile.mkstemp(dir=outdir, prefix=".w2v-corpus-", suffix=".ids")
    try:
        t0 = time.perf_counter()
        with os.fdopen(fd, "wb") as ids_file:
            scan = scan_corpus(files, ids_file, cfg.max_sentence, quiet=quiet)
        vocab, mapping, bad = build_vocab(scan, cfg.min_count, cfg.max_vocab)
        check_vocab(vocab, scan, cfg.min_count)
        distinct, scan.words = len(scan.words), []  # the raw words are not needed for training
        t_vocab = time.perf_counter() - t0
        model = train_epochs(cfg, engine_name, vocab, mapping, Path(ids_name), rng, quiet)
    finally:
        Path(ids_name).unlink(missing_ok=True)
    if not (np.isfinite(model.W).all() and np.isfinite(model.C).all()):
        raise W2VError("training diverged (vectors contain nan/inf); try a lower --lr; no output was written")
    model.metrics = {
        "engine": engine_name,
        "corpus_files": scan.files,
        "corpus_bytes": scan.bytes,
        "corpus_words": scan.tokens,
        "distinct_words": distinct,
        "vocab_size": len(vocab),
        "train_words": vocab.total,
        "invalid_utf8_replaced": bad,
        "epochs": cfg.epochs,
        "vocab_seconds": round(t_vocab, 3),
        **model.metrics,
        "config": to_dict(cfg),
    }
    return model


def train_epochs(cfg: TrainConfig, engine_name: str, vocab: Vocab, mapping, ids_path: Path, rng, quiet) -> Model:
    """Initialise the vectors and run every epoch; metrics hold loss, timing and evaluations."""
    workers = cfg.workers or os.cpu_count() or 1
    W, C = init_vectors(rng, len(vocab), cfg.dim)
    keep = sampling.keep_probabilities(vocab.counts, cfg.sample)
    noise = sampling.alias_table(sampling.noise_cdf(vocab.counts, cfg.noise_exponent))
    engine = make_engine(engine_name, cfg, len(vocab), noise)
    processes = forked.use_processes(engine, workers)
    if processes:
        W, C = forked.shared_copy(W), forked.shared_copy(C)
    total = cfg.epochs * vocab.total
    tracker = Tracker(cfg.epochs, total)
    jobs = iter_jobs(cfg, engine, ids_path, mapping, keep, Schedule(cfg.lr, cfg.final_lr, total), rng)
    evals: list[dict] = []
    t1 = time.perf_counter()
    with bar(total, "train", quiet, unit="w", unit_scale=True) as pb:
        runner = run_processes if processes else run_jobs
        runner(jobs, engine, W, C, workers, tracker, pb, epoch_evaluator(cfg, vocab, W, pb, evals))
    seconds = time.perf_counter() - t1
    metrics = {
        "workers": workers,
        "parallel": "processes" if processes else "threads" if workers > 1 else "none",
        "loss_per_epoch": tracker.epoch_means(),
        "pairs_per_epoch": tracker.pairs,
        "loss_curve": tracker.curve,
        "train_seconds": round(seconds, 3),
        "words_per_second": round(total / max(seconds, 1e-9)),
    }
    if evals:
        metrics["eval_per_epoch"] = evals
    return Model(vocab, W, C, metrics)


def check_eval_files(cfg: TrainConfig) -> None:
    """Read the evaluation files before training, so a bad one fails fast."""
    from w2v_cli.evaluate import read_analogies, read_pairs

    for f in cfg.eval_analogies:
        read_analogies(f)
    for f in cfg.eval_similarity:
        read_pairs(f)


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
