"""The epochs as a stream of jobs, the learning-rate schedule, and the loss bookkeeping.

`iter_jobs` walks the id file once per epoch, a segment at a time, and draws
everything random on one thread in a fixed order (subsampling, window radii,
then whatever the engine's `make_jobs` draws), so one seed fixes every job.
Each job carries its share of the corpus words and of the linear learning-rate
decay. `Tracker` adds up each finished job's loss and pairs, keeps a running
loss for the progress bar and a loss curve, and stops a diverging run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from w2v_cli import sampling
from w2v_cli.engines import Engine, Job
from w2v_cli.errors import W2VError
from w2v_cli.scan import IdFile
from w2v_cli.vocab import iter_segments

CURVE_POINTS = 200  # points of the loss curve over a whole run


class Schedule:
    """Linear learning-rate decay by words processed; `Schedule(0.1, 0.0, 100).at(50)` -> 0.05."""

    def __init__(self, lr: float, final: float, total_words: int) -> None:
        self.lr, self.final, self.total = lr, final, max(total_words, 1)

    def at(self, words_done: int) -> float:
        frac = min(words_done / self.total, 1.0)
        return self.lr - (self.lr - self.final) * frac


def iter_jobs(
    epochs: int, window: int, engine: Engine, ids: IdFile, mapping: np.ndarray, keep: np.ndarray,
    sched: Schedule, rng: np.random.Generator,
) -> Iterator[Job]:  # fmt: skip
    """Every job of every epoch, in order; all randomness drawn here, on one thread."""
    done = 0
    for epoch in range(epochs):
        for segment in iter_segments(ids, mapping):
            words = int(np.count_nonzero(segment >= 0))
            kept = sampling.subsample(rng, segment, keep)
            tokens, sentence = sampling.split_sentences(kept)
            radius = sampling.draw_radii(rng, tokens.size, window)
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
    """Loss per epoch, a running loss for the progress bar, a loss curve, divergence detection."""

    def __init__(self, epochs: int, total_words: int = 0) -> None:
        self.loss = [0.0] * epochs
        self.pairs = [0] * epochs
        self.running: float | None = None
        self.curve: list[tuple[int, float]] = []  # (words processed, mean loss since the last point)
        self.window = [0.0, 0]  # loss and pairs since the last curve point
        self.done = 0
        self.step = max(total_words // CURVE_POINTS, 1)
        self.next_mark = self.step

    def add(self, job: Job, loss: float, pairs: int) -> None:
        """Record one finished job; a W2VError if its loss is not finite."""
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
        """Mean loss per pair in each epoch; None for an epoch that trained no pair."""
        return [l / p if p else None for l, p in zip(self.loss, self.pairs)]
