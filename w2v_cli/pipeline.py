"""The training pipeline: corpus -> vocabulary -> epochs -> vectors (-> output directory).

0. `preflight` checks that the id file fits on the output's disk.
1. `scan.scan_corpus` reads every corpus file (twice if the count had to be
   pruned to fit `vocab_memory`), counts the tokens and writes them as
   provisional ids to an unnamed temporary file beside the output.
2. `vocab.build_vocab` prunes and sorts the vocabulary (or `vocab` gives it
   from a file); the noise distribution and the subsampling probabilities come
   from its counts. `preflight` checks the model's memory and the outputs' disk.
3. `training.train_epochs` runs the epochs: `schedule.JobStream` turns the id
   file into engine jobs, a runner (`engines.runners`) runs them on this
   thread, on threads or on forked processes, the `Tracker` adds up their
   loss, and checkpoints are written when `checkpoint.Stop` asks.
4. `files.save_model` writes the output directory atomically, and the
   checkpoint goes.

With one worker everything runs in order, so a seed gives bit-identical
vectors; with more, workers update the shared matrices without locks, as
word2vec.c does. The learning rate decays linearly from lr to min_lr over all
epochs, by words processed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from w2v_cli import checkpoint, preflight
from w2v_cli.checkpoint import Stop, check_fingerprint, fingerprint
from w2v_cli.config import TrainConfig, to_dict, validate, vocab_memory_bytes, worker_count
from w2v_cli.corpus import expand_paths
from w2v_cli.engines import engine_class, resolve_engine
from w2v_cli.errors import W2VError
from w2v_cli.formats import unholdable
from w2v_cli.progress import Progress
from w2v_cli.scan import IdFile, ScanOptions, ScanResult, scan_corpus
from w2v_cli.training import checkpointer, start_run, train_epochs
from w2v_cli.vectors import Vectors
from w2v_cli.vocab import Vocab, build_vocab, check_vocab, read_vocab_file, vocab_from_file


@dataclass
class Counted:
    """The vocabulary pass's result: the scan, the vocabulary, and how to map the id stream to it."""

    scan: ScanResult
    vocab: Vocab
    mapping: np.ndarray  # provisional id -> final id, or DROP
    bad: int  # invalid UTF-8 bytes replaced
    train_words: int  # corpus tokens that are in the vocabulary: what an epoch trains on
    seconds: float


def scan_options(cfg: TrainConfig) -> ScanOptions:
    return ScanOptions(cfg.max_sentence, cfg.lowercase, cfg.strip_punctuation, vocab_memory_bytes(cfg.vocab_memory))


def count_vocabulary(
    cfg: TrainConfig, files: list[Path], ids: IdFile | None, progress: Progress, start: Vectors | None = None
) -> Counted:
    """Scan the corpus (writing its ids to `ids`, if given) and build the vocabulary.

    The vocabulary comes from the corpus, from cfg.vocab (a file), or from the
    corpus together with `start`, the model training continues from.
    """
    t0 = time.perf_counter()
    opts = scan_options(cfg)
    if start is not None:
        scan = scan_corpus(files, ids, opts, progress, [w.encode("utf-8") for w in start.words], more_words=True)
        vocab, mapping, bad = build_vocab(scan, cfg.min_count, cfg.max_vocab, base=start.counts)
    elif cfg.vocab:
        words, counts = read_vocab_file(cfg.vocab, cfg.lowercase, cfg.strip_punctuation)
        scan = scan_corpus(files, ids, opts, progress, [w.encode("utf-8") for w in words])
        vocab, mapping = vocab_from_file(words, counts, cfg.min_count, cfg.max_vocab)
        bad = 0
    else:
        scan = scan_corpus(files, ids, opts, progress)
        vocab, mapping, bad = build_vocab(scan, cfg.min_count, cfg.max_vocab)
    check_vocab(vocab, scan, cfg.min_count)
    check_holdable(vocab.words)
    train_words = int(scan.counts[mapping >= 0].sum())
    if cfg.vocab and train_words < 0.9 * vocab.total:
        progress.note(
            f"the corpus holds {train_words:,} tokens of the vocabulary's words, while {cfg.vocab} counts "
            f"{vocab.total:,}: was it made from other text, or with other --lowercase/--strip-punctuation?"
        )
    return Counted(scan, vocab, mapping, bad, train_words, time.perf_counter() - t0)


def train(
    cfg: TrainConfig, progress: Progress | None = None, workdir: str | None = None, stop: Stop | None = None,
    resume: tuple | None = None,
) -> Vectors:  # fmt: skip
    """Train on `cfg.corpus`; the unnamed id file lives in `workdir` (default `cfg.output`, then checked for room).

    Every check that can fail runs before the work it protects (`preflight.py`).
    Without a workdir, checkpoints go to `cfg.output` as `stop` asks (every
    `checkpoint_every` minutes, and on interrupts). `resume` is a checkpoint's
    (vectors, state) to continue from.
    """
    progress = progress or Progress()
    files = expand_paths(cfg.corpus)
    if resume is not None:
        check_fingerprint(resume[1]["fingerprint"], files)
    start = load_start(cfg) if cfg.init_from else None
    check_eval_files(cfg)
    where = prepare_output_dir(workdir or cfg.output)
    preflight.check_id_disk(files, where)
    engine_name = resolve_engine(cfg, progress.note)
    ids = IdFile(where)
    try:
        counted = count_vocabulary(cfg, files, ids, progress, start)
        engine_class(engine_name).prepare_process()  # after the scan, whose per-block buffers malloc reuses
        workers = worker_count(cfg)
        scratch = engine_class(engine_name).scratch_bytes(cfg, len(counted.vocab))
        preflight.check_model_memory(cfg, scratch, len(counted.vocab), workers)
        if workdir is None:  # the outputs go to cfg.output (with a workdir, the caller saves nothing)
            preflight.check_output_disk(counted.vocab.words, cfg.dim, where)
        saver = None if workdir is not None else checkpointer(cfg, counted, engine_name, fingerprint(files), where)
        run = start_run(cfg, counted, resume, start)
        metrics = train_epochs(cfg, engine_name, counted, ids, run, progress, stop or Stop(), saver)
    finally:
        ids.close()
    W, C = run.W, run.C
    if not (np.isfinite(W).all() and np.isfinite(C).all()):
        raise W2VError("training diverged (vectors contain nan/inf); try a lower --lr; no output was written")
    metrics = {
        "engine": engine_name,
        **scan_metrics(counted),
        "epochs": cfg.epochs,
        "vocab_seconds": round(counted.seconds, 3),
        **metrics,
        "config": to_dict(cfg),
    }
    vocab = counted.vocab
    return Vectors(vocab.words, W, vocab.counts, {"config": to_dict(cfg), "metrics": metrics}, C)


def load_start(cfg: TrainConfig) -> Vectors:
    """The model `init_from` names, checked against the settings: it needs W, C and counts, the same dim and loss."""
    from w2v_cli.files import load_vectors

    model = load_vectors(cfg.init_from)
    if model.output is None or model.counts is None:
        raise W2VError(f"--init-from needs a model.w2v with output vectors and counts; {cfg.init_from} has not")
    if model.dim != cfg.dim:
        raise W2VError(f"--init-from: the model has {model.dim} dimensions, this run {cfg.dim}; pass --dim {model.dim}")
    old = model.meta.get("config") or {}
    for key in ("loss", "lowercase", "strip_punctuation"):
        if key in old and old[key] != getattr(cfg, key):
            raise W2VError(f"--init-from: the model was trained with {key}={old[key]}, this run has "
                           f"{key}={getattr(cfg, key)}; they must agree")  # fmt: skip
    return model


def check_holdable(words: list[str]) -> None:
    """Before training, not after it: every word must fit the word2vec formats.

    The scanners split on all Unicode whitespace, so this holds by construction;
    it stays as the guard that a run can never fail at its very end.
    """
    bad = unholdable(words)
    if bad is not None:
        raise W2VError(f"the corpus word {bad!r} cannot be written in the word2vec formats; nothing was trained")


def scan_metrics(counted: Counted) -> dict:
    """What the vocabulary pass found, for metrics.json."""
    scan = counted.scan
    return {
        "corpus_files": scan.files,
        "corpus_bytes": scan.bytes,
        "corpus_words": scan.tokens,
        "distinct_words": int(scan.counts.size),
        "vocab_size": len(counted.vocab),
        "train_words": counted.train_words,
        "invalid_utf8_replaced": counted.bad,
        "vocab_pruning": scan.pruning.as_dict() if scan.pruning else None,
    }


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


def train_and_save(
    cfg: TrainConfig, progress: Progress | None = None, stop: Stop | None = None, resume: tuple | None = None
) -> tuple[Vectors, list[Path]]:
    """Train (checkpointing into `cfg.output`), then write every output file atomically there.

    The checkpoint is removed once the outputs are written, unless `keep_checkpoint`.
    """
    from w2v_cli.files import save_model

    outdir = Path(cfg.output)
    if resume is None and (outdir / checkpoint.NAME).exists():
        raise W2VError(
            f"{outdir} holds a checkpoint of an unfinished run; resume it with `w2v train --resume {outdir}`, "
            f"or delete {outdir / checkpoint.NAME} to start over"
        )
    vectors = train(cfg, progress, stop=stop or Stop(cfg.checkpoint_every), resume=resume)
    paths = save_model(outdir, vectors)
    if not cfg.keep_checkpoint:
        checkpoint.remove(outdir)
    return vectors, paths


def resume_and_save(
    outdir: str, workers: int | None, progress: Progress | None = None, stop: Stop | None = None
) -> tuple[Vectors, list[Path]]:
    """Continue the run whose checkpoint is in `outdir` with its saved config (`workers` may change)."""
    vecs, state = checkpoint.load(Path(outdir))
    values = dict(state["config"], output=str(outdir))
    if workers is not None:
        values["workers"] = workers
    cfg = validate(TrainConfig(**values))
    return train_and_save(cfg, progress, stop or Stop(cfg.checkpoint_every), resume=(vecs, state))


def save_vocabulary(cfg: TrainConfig, output: str, progress: Progress | None = None) -> Counted:
    """Count `cfg.corpus` and write its vocabulary to `output` atomically (`w2v vocab`)."""
    from w2v_cli.formats import atomic_dir
    from w2v_cli.vocab import write_vocab_file

    files = expand_paths(cfg.corpus)
    path = Path(output)
    if path.is_dir():
        raise W2VError(f"vocabulary output {path} is a directory; give a file name")
    prepare_output_dir(str(path.parent))
    counted = count_vocabulary(cfg, files, None, progress or Progress())
    try:
        with atomic_dir(path.parent) as open_tmp:
            write_vocab_file(open_tmp(path.name), counted.vocab)
    except OSError as e:
        raise W2VError(f"cannot write {path}: {e.strerror or e}") from None
    return counted
