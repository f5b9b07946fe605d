"""Run an engine's jobs: in order on this thread, on a thread pool, or on forked processes.

Every runner takes the job stream, the engine, W and C, and `on_result(job,
loss, pairs)`, called on this thread for every finished job in job order (the
forked runner passes a stand-in job with the same epoch, words and lr), and
`on_epoch_end(epoch)`, called once every job of that epoch has finished. A
stream may stop early (`schedule.JobStream`); then every job it gave has
finished when the runner returns, and its last epoch ends only if the stream
says it was complete. The runners know nothing of the tracker or the progress bar.

With threads, if `engine.main_thread_steps`, this thread, which prepares the
jobs, is one of the workers: a pool of workers - 1 threads, and this one runs a
job itself whenever the pool has two per thread waiting.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import numpy as np

from w2v_cli.engines import forked
from w2v_cli.engines.base import Engine, Job, Stream

# Jobs queued per worker before this thread waits for the oldest. More than a
# segment's worth (a segment is about 20 jobs of the C engine), so the workers
# still have work while this thread prepares the next segment.
QUEUED_JOBS = 16

OnResult = Callable[[Job, float, int], None]
OnEpochEnd = Callable[[int], None]


def use_processes(engine: Engine, workers: int) -> bool:
    """Whether `workers` should be forked processes: the engine asks for them, and this is Linux."""
    return workers > 1 and engine.processes and sys.platform.startswith("linux")


def run_job(engine: Engine, W: np.ndarray, C: np.ndarray, job: Job) -> tuple[float, int]:
    """(loss, pairs) of one job; a job without payload (words left over, no positions) trains nothing."""
    return (0.0, 0) if job.payload is None else engine.run(W, C, job)


def run_jobs(jobs: Stream, engine: Engine, W, C, workers: int, on_result: OnResult, on_epoch_end: OnEpochEnd) -> None:
    """Run `jobs` on `workers` threads (in order on this one when workers == 1)."""
    run = partial(run_job, engine, W, C)
    if workers == 1:
        return _run_inline(jobs, run, on_result, on_epoch_end)
    pending: deque[tuple[Job, Future]] = deque()
    helps = engine.main_thread_steps
    threads = workers - 1 if helps else workers
    pool = ThreadPoolExecutor(threads)

    def drain(limit: int) -> None:
        while len(pending) > limit:
            job, fut = pending.popleft()
            on_result(job, *fut.result())

    try:
        for job, ends_epoch in _with_epoch_ends(jobs):
            if ends_epoch is not None:
                drain(0)
                on_epoch_end(ends_epoch)
            if job is None:
                continue
            inline = helps and sum(not f.done() for _, f in pending) >= 2 * threads
            pending.append((job, _finished(run(job)) if inline else pool.submit(run, job)))
            drain(QUEUED_JOBS * workers)
    finally:
        for _, fut in pending:
            fut.cancel()
        pool.shutdown(wait=True)


def _run_inline(jobs: Stream, run: Callable, on_result: OnResult, on_epoch_end: OnEpochEnd) -> None:
    for job, ends_epoch in _with_epoch_ends(jobs):
        if ends_epoch is not None:
            on_epoch_end(ends_epoch)
        if job is not None:
            on_result(job, *run(job))


def _with_epoch_ends(jobs: Stream) -> Iterator[tuple[Job | None, int | None]]:
    """(job, epoch that ended just before it, or None); a final (None, last epoch) closes a complete stream.

    Example: jobs of epochs [0, 0, 1] -> (j0, None), (j1, None), (j2, 0), (None, 1).
    The final pair is left out when the stream stopped within its last epoch.
    """
    epoch = None
    for job in jobs:
        ended = epoch if epoch is not None and job.epoch != epoch else None
        epoch = job.epoch
        yield job, ended
    if epoch is not None and jobs.epoch_complete:
        yield None, epoch


def _finished(result) -> Future:
    """A Future that already holds `result`, for a job run on the calling thread."""
    fut: Future = Future()
    fut.set_result(result)
    return fut


def run_processes(
    jobs: Stream, engine: Engine, W, C, workers: int, on_result: OnResult, on_epoch_end: OnEpochEnd
) -> None:
    """Run `jobs` on `workers` forked processes (see `forked`); W and C must be `forked.shared_copy` arrays."""

    def report(epoch: int, words: int, lr: float, loss: float, pairs: int) -> None:
        on_result(Job(epoch, lr, lr, words, None), loss, pairs)

    forked.run_forked(jobs, partial(run_job, engine, W, C), workers, report, on_epoch_end)


def share(engine: Engine, workers: int, W: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """W and C where the workers can all update them: shared-memory copies for processes, else as they are."""
    if use_processes(engine, workers):
        return forked.shared_copy(W), forked.shared_copy(C)
    return W, C


def run(jobs: Stream, engine: Engine, W, C, workers: int, on_result: OnResult, on_epoch_end: OnEpochEnd) -> str:
    """Run on processes where `use_processes` says so (W, C from `share`), else on threads.

    Returns how the workers ran: "processes", "threads" or "none" (one worker).
    """
    if use_processes(engine, workers):
        run_processes(jobs, engine, W, C, workers, on_result, on_epoch_end)
        return "processes"
    run_jobs(jobs, engine, W, C, workers, on_result, on_epoch_end)
    return "threads" if workers > 1 else "none"
