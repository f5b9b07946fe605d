"""The epochs as a stream of jobs, the learning-rate schedule, and the loss bookkeeping.

`JobStream` walks the id file once per epoch, a segment at a time, and draws
everything random in a fixed order (subsampling, window radii, then whatever
the engine's `make_jobs` draws) from a Generator seeded by the run's seed and
the segment's place, so one seed fixes every job, and a run stopped at any
segment boundary continues with exactly the jobs it would have run.
Each job carries its share of the corpus words and of the linear learning-rate
decay. `Tracker` adds up each finished job's loss and pairs, keeps a running
loss for the progress bar and a loss curve, and stops a diverging run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from w2v_cli import sampling
from w2v_cli.engines import Engine, Job
from w2v_cli.engines.base import Stream
from w2v_cli.errors import W2VError
from w2v_cli.scan import IdFile
from w2v_cli.vocab import SEGMENT_IDS, iter_segments

CURVE_POINTS = 200  # points of the loss curve over a whole run


class Schedule:
    """Linear learning-rate decay by words processed; `Schedule(0.1, 0.0, 100).at(50)` -> 0.05."""

    def __init__(self, lr: float, final: float, total_words: int) -> None:
        self.lr, self.final, self.total = lr, final, max(total_words, 1)

    def at(self, words_done: int) -> float:
        frac = min(words_done / self.total, 1.0)
        return self.lr - (self.lr - self.final) * frac


@dataclass
class Position:
    """Where a run is in its job stream: the next segment to train, and the corpus words done before it."""

    epoch: int = 0
    offset: int = 0  # id number where the segment starts in the id file
    done: int = 0  # corpus words accounted for so far (drives the learning rate)


class JobStream(Stream):
    """Every job of every epoch from `start`, in order; a segment's randomness comes from its own Generator.

    Segment s of epoch e draws everything (subsampling, window radii, then the
    engine's `make_jobs`) from `default_rng(SeedSequence(seed, spawn_key=(e, offset)))`,
    so the jobs from any position are the same whether the run got there in one
    go or was stopped and continued. It stops early (`Stream`) at a segment
    boundary, after at least one segment; then `position` is where to continue.
    """

    def __init__(
        self, epochs: int, window: int, engine: Engine, ids: IdFile, mapping: np.ndarray, keep: np.ndarray,
        sched: Schedule, seed: int, start: Position,
    ) -> None:  # fmt: skip
        self.epochs, self.window, self.engine, self.ids = epochs, window, engine, ids
        self.mapping, self.keep, self.sched, self.seed = mapping, keep, sched, seed
        super().__init__()
        self.start = self.position = start
        self.yielded = 0  # jobs given so far
        self.epoch_complete = False

    @property
    def position(self) -> Position:
        return Position(*self.where)

    @position.setter
    def position(self, pos: Position) -> None:
        self.where = (pos.epoch, pos.offset, pos.done)

    def __iter__(self) -> Iterator[Job]:
        pos = self.position
        first = True
        for epoch in range(pos.epoch, self.epochs):
            offset = pos.offset if epoch == pos.epoch else 0
            for end, segment in iter_segments(self.ids, self.mapping, offset, SEGMENT_IDS):
                if not first and self._stopping():
                    self.position, self.stopped, self.epoch_complete = Position(epoch, offset, pos.done), True, False
                    return
                first = False
                rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(epoch, offset)))
                done = yield from self._segment_jobs(epoch, segment, rng, pos.done)
                pos = self.position = Position(epoch, end, done)
                offset = end
            if epoch + 1 < self.epochs and self._stopping():  # stop at the epoch boundary
                self.position, self.stopped, self.epoch_complete = Position(epoch + 1, 0, pos.done), True, True
                return
        self.epoch_complete = True

    def _stopping(self) -> bool:
        return self.stop_requested or self.yielded >= self.stop_at[0]

    def _segment_jobs(self, epoch: int, segment: np.ndarray, rng, done: int):
        """Yield one segment's jobs with their share of the schedule; return the words done after it."""
        words = int(np.count_nonzero(segment >= 0))
        tokens, sentence = sampling.subsample_and_split(rng, segment, self.keep)
        radius = sampling.draw_radii(rng, tokens.size, self.window)
        parts = list(self.engine.make_jobs(tokens, sentence, radius, rng))
        total_centers = max(sum(c for _, c in parts), 1)
        given = 0
        sched = self.sched
        for payload, centers in parts:
            share = words * centers // total_centers
            given += share
            self.yielded += 1
            yield Job(epoch, sched.at(done), sched.at(done + share), share, payload)
            done += share
        if words > given:  # rounding remainder, or a segment with no kept tokens
            self.yielded += 1
            yield Job(epoch, sched.at(done), sched.at(done + words - given), words - given, None)
            done += words - given
        return done


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

    def state(self) -> dict:
        """Everything the tracker holds, as plain data (JSON keeps the floats exact)."""
        return {k: list(v) if isinstance(v, list) else v for k, v in vars(self).items()}

    @classmethod
    def from_state(cls, state: dict) -> Tracker:
        """The tracker `state()` described; `Tracker.from_state(t.state())` carries on exactly as t."""
        tracker = cls.__new__(cls)
        vars(tracker).update(state)
        tracker.curve = [tuple(point) for point in state["curve"]]
        return tracker

    def epoch_means(self) -> list[float | None]:
        """Mean loss per pair in each epoch; None for an epoch that trained no pair."""
        return [l / p if p else None for l, p in zip(self.loss, self.pairs)]
