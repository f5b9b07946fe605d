"""The training pipeline: corpus -> vocabulary -> epochs -> vectors (-> output directory).

0. `preflight` checks that the id file fits on the output's disk.
1. `scan.scan_corpus` reads every corpus file (twice if the count had to be
   pruned to fit `vocab_memory`), counts the tokens and writes them as
   provisional ids to an unnamed temporary file beside the output.
2. `vocab.build_vocab` prunes and sorts the vocabulary (or `vocab` gives it
   from a file); the noise distribution and the subsampling probabilities come
   from its counts. `preflight` checks the model's memory and the outputs' disk.
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
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from w2v_cli import checkpoint, preflight, sampling
from w2v_cli.checkpoint import Interrupted, Stop, check_fingerprint, fingerprint
from w2v_cli.config import TrainConfig, to_dict, validate, vocab_memory_bytes
from w2v_cli.corpus import expand_paths
from w2v_cli.engines import Job, engine_class, forked, make_engine, resolve_engine, runners
from w2v_cli.errors import W2VError
from w2v_cli.formats import unholdable
from w2v_cli.progress import Progress
from w2v_cli.scan import IdFile, ScanOptions, ScanResult, scan_corpus
from w2v_cli.schedule import NEVER, JobStream, Position, Schedule, Tracker
from w2v_cli.vectors import Vectors
from w2v_cli.vocab import SEGMENT_IDS, Vocab, build_vocab, check_vocab, read_vocab_file, vocab_from_file


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
    resume: dict | None = None,
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
    engine_class(engine_name).prepare_process()
    ids = IdFile(where)
    try:
        counted = count_vocabulary(cfg, files, ids, progress, start)
        workers = cfg.workers or os.cpu_count() or 1
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


@dataclass
class Run:
    """The state of training that a checkpoint saves: the matrices, the tracker, the evaluations, the position."""

    W: np.ndarray  # (V, d) float32
    C: np.ndarray  # (V, d) float32
    tracker: Tracker
    evals: list[dict]
    position: Position
    seconds: float = 0.0  # training time of the earlier parts of a resumed run


def start_run(cfg: TrainConfig, counted: Counted, resume: tuple | None, start: Vectors | None = None) -> Run:
    """A fresh run (word2vec's initial vectors from the seed, then `start`'s rows for its words), or a checkpoint's."""
    vocab = counted.vocab
    if resume is None:
        W, C = init_vectors(np.random.default_rng(cfg.seed), len(vocab), cfg.dim)
        if start is not None:
            rows = [start.index[w] for w in vocab.words if w in start.index]
            new_ids = [i for i, w in enumerate(vocab.words) if w in start.index]
            W[new_ids], C[new_ids] = start.matrix[rows], start.output[rows]
        return Run(W, C, Tracker(cfg.epochs, cfg.epochs * counted.train_words), [], Position())
    vecs, state = resume
    if vecs.words != vocab.words or not np.array_equal(vecs.counts, vocab.counts):
        raise W2VError("the corpus now gives a different vocabulary than the checkpoint's; cannot resume")
    return Run(
        np.array(vecs.matrix, np.float32), np.array(vecs.output, np.float32), Tracker.from_state(state["tracker"]),
        state["evals"], Position(**state["position"]), state["train_seconds"],
    )  # fmt: skip


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


def checkpointer(cfg: TrainConfig, counted: Counted, engine_name: str, prints: list[dict], outdir: Path):
    """`save(run)`: write the run's checkpoint into `outdir`; returns its path."""
    vocab = counted.vocab

    def save(run: Run) -> Path:
        state = {
            "config": to_dict(cfg),
            "position": asdict(run.position),
            "tracker": run.tracker.state(),
            "evals": run.evals,
            "fingerprint": prints,
            "engine": engine_name,
            "train_seconds": run.seconds,
            "epochs": cfg.epochs,
            "total_words": cfg.epochs * counted.train_words,
        }
        return checkpoint.save(outdir, vocab.words, vocab.counts, run.W, run.C, state)

    return save


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


def init_vectors(rng: np.random.Generator, vocab_size: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """word2vec's init: W uniform in [-0.5/d, 0.5/d), C zeros; both (V, d) float32."""
    W = rng.random((vocab_size, dim), dtype=np.float32)  # in place: no (V, d) temporaries
    W -= 0.5
    W /= dim
    return W, np.zeros((vocab_size, dim), np.float32)


def setup_training(cfg: TrainConfig, engine_name: str, counted: Counted, W: np.ndarray, C: np.ndarray):
    """The engine and W, C where its workers can share them: (engine, W, C, keep probabilities, workers)."""
    workers = cfg.workers or os.cpu_count() or 1
    vocab = counted.vocab
    keep = sampling.keep_probabilities(vocab.counts, cfg.sample)
    noise = sampling.alias_table(sampling.noise_cdf(vocab.counts, cfg.noise_exponent))
    engine = make_engine(engine_name, cfg, len(vocab), noise)
    W, C = runners.share(engine, workers, W, C)
    return engine, W, C, keep, workers


def train_epochs(
    cfg: TrainConfig, engine_name: str, counted: Counted, ids: IdFile, run: Run, progress: Progress, stop: Stop,
    save: Callable[[Run], Path] | None,
) -> dict:  # fmt: skip
    """Run every epoch from `run.position`, checkpointing when `stop` asks; the metrics of the run.

    The job stream stops at the first segment boundary after a request; every
    job it gave finishes, then the checkpoint is written and, unless it was an
    interrupt, a new stream continues from exactly there.
    """
    engine, run.W, run.C, keep, workers = setup_training(cfg, engine_name, counted, run.W, run.C)
    total = cfg.epochs * counted.train_words
    sched = Schedule(cfg.lr, cfg.final_lr, total)
    forked_workers = runners.use_processes(engine, workers)
    margin = 3 * SEGMENT_IDS if forked_workers else 0  # children may be a segment ahead of the results
    stop_words = forked.shared_copy(np.full(1, NEVER)) if forked_workers else np.full(1, NEVER)
    t1 = time.perf_counter()
    with progress.bar(total, "train", unit="w") as pb:
        pb.update(run.tracker.done)
        asked = lambda: stop.wanted(run.tracker.done) and _ask_stop(stop_words, run.tracker.done + margin)  # noqa: E731
        on_result = recorder(run.tracker, pb, asked)
        on_epoch_end = epoch_evaluator(cfg, counted.vocab, run.W, progress, run.evals)
        stop.start()
        try:
            while True:
                stop_words[0] = NEVER
                stream = JobStream(cfg.epochs, cfg.window, engine, ids, counted.mapping, keep, sched, cfg.seed,
                                   run.position, stop_words)  # fmt: skip
                parallel = runners.run(stream, engine, run.W, run.C, workers, on_result, on_epoch_end)
                if not stream.stopped:
                    break
                run.position = stream.position
                if save is not None:
                    run.seconds += time.perf_counter() - t1
                    t1 = time.perf_counter()
                    path = save(run)
                if stop.interrupted:
                    at = f"interrupted at {100 * run.tracker.done / max(total, 1):.0f}% of training"
                    if save is None:
                        raise Interrupted(f"{at}; nothing was written")
                    raise Interrupted(f"{at}; checkpoint in {path}; resume with: w2v train --resume {path.parent}")
                stop.start()
        finally:
            stop.armed = False
    seconds = run.seconds + time.perf_counter() - t1
    metrics = {
        "workers": workers,
        "parallel": parallel,
        "loss_per_epoch": run.tracker.epoch_means(),
        "pairs_per_epoch": run.tracker.pairs,
        "loss_curve": run.tracker.curve,
        "train_seconds": round(seconds, 3),
        "words_per_second": round(total / max(seconds, 1e-9)),
    }
    if run.evals:
        metrics["eval_per_epoch"] = run.evals
    return metrics


def _ask_stop(stop_words: np.ndarray, words: int) -> None:
    """Ask the job stream to stop at the first segment boundary at or after `words` done."""
    stop_words[0] = min(int(stop_words[0]), words)


def measure_speed(cfg: TrainConfig, engine_name: str, counted: Counted, ids: IdFile, seconds: float) -> float:
    """Training words per second on this machine: real jobs of the first epoch, for about `seconds`."""
    W, C = init_vectors(np.random.default_rng(cfg.seed), len(counted.vocab), cfg.dim)
    engine, W, C, keep, workers = setup_training(cfg, engine_name, counted, W, C)
    sched = Schedule(cfg.lr, cfg.final_lr, cfg.epochs * counted.train_words)
    margin = 3 * SEGMENT_IDS if runners.use_processes(engine, workers) else 0
    stop_words = forked.shared_copy(np.full(1, NEVER)) if margin else np.full(1, NEVER)
    stream = JobStream(1, cfg.window, engine, ids, counted.mapping, keep, sched, cfg.seed, Position(), stop_words)
    done = [0]
    t0 = time.perf_counter()

    def on_result(job, loss, pairs) -> None:
        done[0] += job.words
        if time.perf_counter() - t0 > seconds:
            _ask_stop(stop_words, done[0] + margin)

    runners.run(stream, engine, W, C, workers, on_result, lambda epoch: None)
    return done[0] / max(time.perf_counter() - t0, 1e-9)


def dry_run(cfg: TrainConfig, progress: Progress | None = None, seconds: float = 3.0) -> dict:
    """The vocabulary pass and a few seconds of real training steps; what the run would need and take.

    Writes nothing: the id file is unnamed and lives in the output directory's
    nearest existing parent. Returns the report `display.dry_run_lines` shows,
    with `problems`: the preflight errors the real run would stop at.
    """
    progress = progress or Progress()
    files = expand_paths(cfg.corpus)
    check_eval_files(cfg)
    where = Path(cfg.output).absolute()
    while not where.exists():
        where = where.parent
    problems = _problems(lambda: preflight.check_id_disk(files, where))
    engine_name = resolve_engine(cfg, progress.note)
    ids = IdFile(where)
    try:
        counted = count_vocabulary(cfg, files, ids, progress)
        vocab = counted.vocab
        workers = cfg.workers or os.cpu_count() or 1
        scratch = engine_class(engine_name).scratch_bytes(cfg, len(vocab))
        problems += _problems(lambda: preflight.check_model_memory(cfg, scratch, len(vocab), workers))
        problems += _problems(lambda: preflight.check_output_disk(vocab.words, cfg.dim, where))
        speed = measure_speed(cfg, engine_name, counted, ids, seconds) if not problems else None
    finally:
        ids.close()
    return {
        **scan_metrics(counted),
        "engine": engine_name,
        "workers": workers,
        "vocab_seconds": round(counted.seconds, 3),
        "model_bytes": preflight.model_bytes(cfg, scratch, len(vocab), workers),
        "memory_available": preflight.available_memory(),
        "output_bytes": preflight.output_bytes(vocab.words, cfg.dim),
        "id_file_bytes": 4 * (counted.scan.tokens + counted.scan.counts.size),
        "disk_free": preflight.free_disk(where),
        "words_per_second": round(speed) if speed else None,
        "train_seconds_estimate": round(cfg.epochs * counted.train_words / speed, 1) if speed else None,
        "problems": problems,
    }


def _problems(check: Callable[[], None]) -> list[str]:
    """[the check's error message], or [] if it passes."""
    try:
        check()
    except W2VError as e:
        return [str(e)]
    return []


def recorder(tracker: Tracker, pb, check: Callable[[], object] = lambda: None) -> Callable[[Job, float, int], None]:
    """The runners' `on_result`: record a finished job's (loss, pairs), move the progress bar, call `check`."""

    def on_result(job: Job, loss: float, pairs: int) -> None:
        tracker.add(job, loss, pairs)
        check()
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
