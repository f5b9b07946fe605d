"""The training pipeline: corpus -> vocabulary -> epochs -> vectors (-> output directory).

1. `scan.scan_corpus` reads every corpus file once, counts the tokens and
   writes them as provisional ids to a temporary file beside the output.
2. `vocab.build_vocab` prunes and sorts the vocabulary; the noise distribution
   and the subsampling probabilities come from its counts.
3. `schedule.iter_jobs` turns each epoch of the id file into engine jobs, with
   every random draw from the one seeded Generator; a runner (`engines.runners`)
   runs them on this thread, on threads or on forked processes, and the
   `Tracker` adds up their loss.
4. `files.save_model` writes the output directory atomically.

With one worker everything runs in order, so a seed gives bit-identical
vectors; with more, workers update the shared matrices without locks, as
word2vec.c does. The learning rate decays linearly from lr to min_lr over all
epochs, by words processed.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from w2v_cli import sampling
from w2v_cli.config import TrainConfig, to_dict
from w2v_cli.corpus import expand_paths
from w2v_cli.engines import Job, engine_class, make_engine, resolve_engine, runners
from w2v_cli.errors import W2VError
from w2v_cli.formats import unholdable
from w2v_cli.progress import Progress
from w2v_cli.scan import ScanResult, scan_corpus
from w2v_cli.schedule import Schedule, Tracker, iter_jobs
from w2v_cli.vectors import Vectors
from w2v_cli.vocab import Vocab, build_vocab, check_vocab


def train(cfg: TrainConfig, progress: Progress | None = None, workdir: str | None = None) -> Vectors:
    """Train on `cfg.corpus`; the temporary id file lives in `workdir` (default `cfg.output`) and is removed."""
    progress = progress or Progress()
    files = expand_paths(cfg.corpus)
    check_eval_files(cfg)
    where = prepare_output_dir(workdir or cfg.output)
    engine_name = resolve_engine(cfg, progress.note)
    engine_class(engine_name).prepare_process()
    rng = np.random.default_rng(cfg.seed)
    fd, ids_name = tempfile.mkstemp(dir=where, prefix=".w2v-corpus-", suffix=".ids")
    try:
        t0 = time.perf_counter()
        with os.fdopen(fd, "wb") as ids_file:
            scan = scan_corpus(files, ids_file, cfg.max_sentence, progress=progress)
        vocab, mapping, bad = build_vocab(scan, cfg.min_count, cfg.max_vocab)
        check_vocab(vocab, scan, cfg.min_count)
        check_holdable(vocab.words)
        distinct, scan.words = len(scan.words), []  # the raw words are not needed for training
        vocab_seconds = time.perf_counter() - t0
        W, C, metrics = train_epochs(cfg, engine_name, vocab, mapping, Path(ids_name), rng, progress)
    finally:
        Path(ids_name).unlink(missing_ok=True)
    if not (np.isfinite(W).all() and np.isfinite(C).all()):
        raise W2VError("training diverged (vectors contain nan/inf); try a lower --lr; no output was written")
    metrics = {
        "engine": engine_name,
        **scan_metrics(scan, vocab, distinct, bad),
        "epochs": cfg.epochs,
        "vocab_seconds": round(vocab_seconds, 3),
        **metrics,
        "config": to_dict(cfg),
    }
    return Vectors(vocab.words, W, vocab.counts, {"config": to_dict(cfg), "metrics": metrics}, C)


def check_holdable(words: list[str]) -> None:
    """Before training, not after it: every word must fit the word2vec formats (no whitespace inside).

    The scanners split on ASCII whitespace only, so a token can hold U+00A0 and the like.
    """
    bad = unholdable(words)
    if bad is not None:
        raise W2VError(
            f"the corpus word {bad!r} contains whitespace that word2vec formats cannot hold; "
            "replace it in the corpus (for U+00A0: sed 's/\\xc2\\xa0/ /g'); nothing was trained"
        )


def scan_metrics(scan: ScanResult, vocab: Vocab, distinct: int, bad: int) -> dict:
    """What the vocabulary pass found, for metrics.json."""
    return {
        "corpus_files": scan.files,
        "corpus_bytes": scan.bytes,
        "corpus_words": scan.tokens,
        "distinct_words": distinct,
        "vocab_size": len(vocab),
        "train_words": vocab.total,
        "invalid_utf8_replaced": bad,
    }


def init_vectors(rng: np.random.Generator, vocab_size: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """word2vec's init: W uniform in [-0.5/d, 0.5/d), C zeros; both (V, d) float32."""
    W = rng.random((vocab_size, dim), dtype=np.float32)  # in place: no (V, d) temporaries
    W -= 0.5
    W /= dim
    return W, np.zeros((vocab_size, dim), np.float32)


def train_epochs(cfg: TrainConfig, engine_name: str, vocab: Vocab, mapping, ids_path: Path, rng, progress: Progress):
    """Initialise the vectors and run every epoch: (W, C, metrics with loss, timing and evaluations)."""
    workers = cfg.workers or os.cpu_count() or 1
    W, C = init_vectors(rng, len(vocab), cfg.dim)
    keep = sampling.keep_probabilities(vocab.counts, cfg.sample)
    noise = sampling.alias_table(sampling.noise_cdf(vocab.counts, cfg.noise_exponent))
    engine = make_engine(engine_name, cfg, len(vocab), noise)
    W, C = runners.share(engine, workers, W, C)
    total = cfg.epochs * vocab.total
    tracker = Tracker(cfg.epochs, total)
    sched = Schedule(cfg.lr, cfg.final_lr, total)
    jobs = iter_jobs(cfg.epochs, cfg.window, engine, ids_path, mapping, keep, sched, rng)
    evals: list[dict] = []
    t1 = time.perf_counter()
    with progress.bar(total, "train", unit="w") as pb:
        on_result = recorder(tracker, pb)
        on_epoch_end = epoch_evaluator(cfg, vocab, W, progress, evals)
        parallel = runners.run(jobs, engine, W, C, workers, on_result, on_epoch_end)
    seconds = time.perf_counter() - t1
    metrics = {
        "workers": workers,
        "parallel": parallel,
        "loss_per_epoch": tracker.epoch_means(),
        "pairs_per_epoch": tracker.pairs,
        "loss_curve": tracker.curve,
        "train_seconds": round(seconds, 3),
        "words_per_second": round(total / max(seconds, 1e-9)),
    }
    if evals:
        metrics["eval_per_epoch"] = evals
    return W, C, metrics


def recorder(tracker: Tracker, pb) -> Callable[[Job, float, int], None]:
    """The runners' `on_result`: record a finished job's (loss, pairs) and move the progress bar."""

    def on_result(job: Job, loss: float, pairs: int) -> None:
        tracker.add(job, loss, pairs)
        pb.update(job.words)
        if tracker.running is not None:
            pb.set_postfix_str(f"loss={tracker.running:.4f}, lr={job.lr:.5f}", refresh=False)

    return on_result


def epoch_evaluator(cfg: TrainConfig, vocab: Vocab, W: np.ndarray, progress: Progress, rows: list):
    """The runners' `on_epoch_end`: score the live vectors on the configured eval files, if any."""
    if not (cfg.eval_analogies or cfg.eval_similarity):
        return lambda epoch: None
    from w2v_cli.evaluate import evaluate_analogies, evaluate_similarity

    def on_epoch_end(epoch: int) -> None:
        vecs = Vectors(vocab.words, W)  # the live vectors
        row = {
            "epoch": epoch + 1,
            "analogies": [evaluate_analogies(vecs, f, cfg.eval_restrict_vocab) for f in cfg.eval_analogies],
            "similarity": [evaluate_similarity(vecs, f) for f in cfg.eval_similarity],
        }
        rows.append(row)
        progress.epoch_scores(row)

    return on_epoch_end


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


def train_and_save(cfg: TrainConfig, progress: Progress | None = None) -> tuple[Vectors, list[Path]]:
    """Train, then write every output file atomically into `cfg.output`."""
    from w2v_cli.files import save_model

    vectors = train(cfg, progress)
    return vectors, save_model(Path(cfg.output), vectors)
