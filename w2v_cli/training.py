"""The epochs of a run: the vectors, the job streams, the runners, the checkpoints.

`train_epochs` runs every epoch from a `Run`'s position: a `schedule.JobStream`
of engine jobs, run by `engines.runners`, their loss added up by the `Tracker`
(`recorder`), the evaluation files scored after each epoch (`epoch_evaluator`).
When `checkpoint.Stop` asks (a timer, or a signal), the stream stops at the next
segment boundary, every job in flight finishes, and the `Run` is checkpointed;
after an interrupt the run ends there (`checkpoint.Interrupted`), otherwise a
new stream continues from exactly that position. `measure_speed` runs a few
seconds of real jobs for the dry run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from w2v_cli import checkpoint, sampling
from w2v_cli.checkpoint import Interrupted, Stop
from w2v_cli.config import TrainConfig, to_dict, worker_count
from w2v_cli.engines import Job, make_engine, runners
from w2v_cli.engines.base import Stream, matching_nodes, node_signatures
from w2v_cli.errors import W2VError
from w2v_cli.progress import Progress
from w2v_cli.scan import IdFile
from w2v_cli.schedule import JobStream, Position, Schedule, Tracker
from w2v_cli.vectors import Vectors
from w2v_cli.vocab import Vocab

if TYPE_CHECKING:
    from w2v_cli.pipeline import Counted


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
        W, C = init_vectors(np.random.default_rng(cfg.seed), len(vocab), cfg.dim, cfg.loss)
        if start is not None:
            carry_over(start, vocab, W, C, cfg.loss)
        return Run(W, C, Tracker(cfg.epochs, cfg.epochs * counted.train_words), [], Position())
    vecs, state = resume
    if vecs.words != vocab.words or not np.array_equal(vecs.counts, vocab.counts):
        raise W2VError("the corpus now gives a different vocabulary than the checkpoint's; cannot resume")
    return Run(
        np.array(vecs.matrix, np.float32), np.array(vecs.output, np.float32), Tracker.from_state(state["tracker"]),
        state["evals"], Position(**state["position"]), state["train_seconds"],
    )  # fmt: skip


def carry_over(start: Vectors, vocab, W: np.ndarray, C: np.ndarray, loss: str) -> None:
    """`start`'s rows for the words it shares with `vocab`, into W and C.

    For hierarchical softmax, C is theta: an inner node of the new tree takes the
    vector of the old tree's node over the same set of words (all of them, when
    the vocabulary and counts are unchanged); the others keep their zeros.
    """
    rows = [start.index[w] for w in vocab.words if w in start.index]
    new_ids = [i for i, w in enumerate(vocab.words) if w in start.index]
    W[new_ids] = start.matrix[rows]
    if loss != "hs":
        C[new_ids] = start.output[rows]
    elif len(vocab) > 1 and len(start.words) > 1:
        old = node_signatures(start.words, start.counts)
        new_nodes, old_nodes = matching_nodes(old, node_signatures(vocab.words, vocab.counts))
        C[new_nodes] = start.output[old_nodes]


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


def init_vectors(
    rng: np.random.Generator, vocab_size: int, dim: int, loss: str = "neg"
) -> tuple[np.ndarray, np.ndarray]:
    """word2vec's init: W (V, d) uniform in [-0.5/d, 0.5/d), C zeros: (V, d), or (V - 1, d) inner nodes for hs."""
    W = rng.random((vocab_size, dim), dtype=np.float32)  # in place: no (V, d) temporaries
    W -= 0.5
    W /= dim
    return W, np.zeros((vocab_size - (loss == "hs"), dim), np.float32)


def setup_training(cfg: TrainConfig, engine_name: str, counted: Counted, W: np.ndarray, C: np.ndarray):
    """The engine and W, C where its workers can share them: (engine, W, C, keep probabilities, workers)."""
    workers = worker_count(cfg)
    vocab = counted.vocab
    keep = sampling.keep_probabilities(vocab.counts, cfg.sample)
    noise = sampling.alias_table(sampling.noise_cdf(vocab.counts, cfg.noise_exponent))
    engine = make_engine(engine_name, cfg, len(vocab), noise, vocab.counts)
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
    current = [Stream()]  # the stream that is running, for on_result to stop
    t1 = time.perf_counter()
    with progress.bar(total, "train", unit="w") as pb:
        pb.update(run.tracker.done)

        def asked() -> None:
            if stop.wanted(run.tracker.done):
                current[0].stop_requested = True

        on_result = recorder(run.tracker, pb, asked)
        on_epoch_end = epoch_evaluator(cfg, counted.vocab, run.W, progress, run.evals)
        stop.start()
        try:
            while True:
                stream = JobStream(cfg.epochs, cfg.window, engine, ids, counted.mapping, keep, sched, cfg.seed,
                                   run.position)  # fmt: skip
                current[0] = stream
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


def measure_speed(cfg: TrainConfig, engine_name: str, counted: Counted, ids: IdFile, seconds: float) -> float:
    """Training words per second on this machine: real jobs of the first epoch, for about `seconds`."""
    W, C = init_vectors(np.random.default_rng(cfg.seed), len(counted.vocab), cfg.dim, cfg.loss)
    engine, W, C, keep, workers = setup_training(cfg, engine_name, counted, W, C)
    sched = Schedule(cfg.lr, cfg.final_lr, cfg.epochs * counted.train_words)
    stream = JobStream(1, cfg.window, engine, ids, counted.mapping, keep, sched, cfg.seed, Position())
    done = [0]
    t0 = time.perf_counter()

    def on_result(job, loss, pairs) -> None:
        done[0] += job.words
        if time.perf_counter() - t0 > seconds:
            stream.stop_requested = True

    runners.run(stream, engine, W, C, workers, on_result, lambda epoch: None)
    return done[0] / max(time.perf_counter() - t0, 1e-9)


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
