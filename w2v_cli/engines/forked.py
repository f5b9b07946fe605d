"""Worker processes for the numpy engine: its threads are bound by the GIL, processes are not.

The numpy engine holds the GIL for about a sixth of each step, so two threads
wait on each other; forked processes have a GIL each. W (V, d) and C (V, d)
live in shared memory (an anonymous MAP_SHARED mapping), and every child walks the same job stream: the unstarted job
generator and its seeded Generator are copied at the fork, so all children
prepare the same jobs. A child runs a job only if it claims it first (a counter
under a lock), so each job runs exactly once and a slower child simply runs
fewer. Updates race without locks, as the threads' do and as word2vec.c's do.

The parent runs no job. It reads each finished job's (loss, pairs) from a pipe
and hands it to the pipeline (so divergence stops the run). At the
end of each epoch the children wait until all of them have finished it, so the
epoch hook sees the whole epoch, as with threads.

Linux only (`runners.use_processes`): Windows has no fork, and on macOS forking a
process that has loaded system frameworks is unsafe; there the engine runs on
threads. Left out: handing prepared jobs to the children, so each child
prepares every job (subsampling, windows, negatives: a small share of a step).
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import select
import signal
import struct
import warnings
from collections.abc import Callable, Iterator

import numpy as np

from w2v_cli.engines.base import NEVER, Stream
from w2v_cli.errors import W2VError

RECORD = struct.Struct("<iiqdqd")  # kind, epoch, words (or message length), loss, pairs, lr
# record kinds: a job's result, an epoch finished, the stream ended, it stopped early (at epoch, offset, done), an error
JOB, EPOCH, END, STOPPED, FAILED = range(5)
POLL_SECONDS = 1.0  # how often the parent checks, while no record arrives, that no child has died
MESSAGE_MAX = 2048  # bytes of an error message; a record plus its message stays under PIPE_BUF, so writes are whole


def shared_copy(a: np.ndarray) -> np.ndarray:
    """A copy of `a` in memory that forked children share (writes are seen by all).

    Example: `shared_copy(np.zeros((2, 3), np.float32))` -> a (2, 3) float32 array of zeros.
    """
    buf = mmap.mmap(-1, max(a.nbytes, 1), flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    out = np.frombuffer(buf, a.dtype, count=a.size).reshape(a.shape)
    out[...] = a
    return out


class Claims:
    """Which child runs each job: the first to reach it. `claim(i)` is True once per i, in any child."""

    def __init__(self) -> None:
        self.lock = multiprocessing.get_context("fork").Lock()
        self.next = shared_copy(np.zeros(1, np.int64))  # the lowest job number nobody has claimed

    def claim(self, i: int) -> bool:
        with self.lock:
            if self.next[0] > i:
                return False
            self.next[0] = i + 1
            return True


def child_loop(jobs: Stream, run: Callable, claims: Claims, out: int, go: int) -> None:
    """Walk every job, run the ones this child claims, report each; wait for the others at epoch ends."""
    epoch = None
    for i, job in enumerate(jobs):
        if epoch is not None and job.epoch != epoch:
            os.write(out, RECORD.pack(EPOCH, epoch, 0, 0.0, 0, 0.0))
            if not os.read(go, 1):  # the parent is gone
                return
        epoch = job.epoch
        if claims.claim(i):
            loss, pairs = run(job)
            os.write(out, RECORD.pack(JOB, job.epoch, job.words, loss, pairs, job.lr))
    if jobs.stopped:  # every child stops at the same place: they walk the same stream
        at_epoch, offset, done = jobs.where
        os.write(out, RECORD.pack(STOPPED, at_epoch, offset, float(jobs.epoch_complete), done, float(epoch or 0)))
    else:
        os.write(out, RECORD.pack(END, epoch or 0, 0, 0.0, 0, 0.0))


def child_main(jobs: Stream, run: Callable, claims: Claims, out: int, go: int) -> None:
    """A forked child's whole life: never returns, never runs the parent's cleanup."""
    code = 0
    try:
        child_loop(jobs, run, claims, out, go)
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises it
        code = 1
        text = str(e) if isinstance(e, W2VError) else f"a training worker process failed: {type(e).__name__}: {e}"
        msg = text.encode("utf-8", "replace")[:MESSAGE_MAX]
        try:
            os.write(out, RECORD.pack(FAILED, 0, len(msg), 0.0, 0, 0.0) + msg)
        except OSError:
            pass
    os._exit(code)


def fork_worker() -> int:
    """`os.fork()`, the child ignoring Ctrl-C (the parent kills it) and dying on SIGTERM.

    Both signals are held back until the child has those handlers: one arriving
    in between would run the parent's handler in the child, which would then
    unwind through the parent's code (and its cleanup) instead of exiting.
    """
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads; children use none
            pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    return pid


def fork_children(jobs: Stream, run: Callable, workers: int, claims: Claims) -> tuple[list[int], int, list[int]]:
    """Start `workers` children: (pids, the read end of their result pipe, their go pipes)."""
    r, w = os.pipe()
    pids, gos = [], []
    try:
        for _ in range(workers):
            go_r, go_w = os.pipe()
            pid = fork_worker()
            if pid == 0:  # keep only our ends: a go pipe must read EOF once the parent is gone
                try:
                    close_all(gos + [go_w, r])
                    child_main(jobs, run, claims, w, go_r)
                finally:
                    os._exit(1)
            os.close(go_r)
            pids.append(pid)
            gos.append(go_w)
    except BaseException:
        Children(pids).stop()
        close_all(gos + [r])
        raise
    finally:
        os.close(w)
    return pids, r, gos


class Children:
    """The forked children: reap them, notice one that died, kill the rest."""

    def __init__(self, pids: list[int]) -> None:
        self.running = list(pids)

    def poll(self, block: bool = False) -> None:
        """Reap children that have exited (all of them if `block`); W2VError if one did not exit cleanly."""
        for pid in list(self.running):
            done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
            if not done:
                continue
            self.running.remove(pid)
            if os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
                raise W2VError(f"a training worker process was killed by signal {sig}; no output was written")
            if os.WEXITSTATUS(status):
                code = os.WEXITSTATUS(status)
                raise W2VError(f"a training worker process failed (exit {code}); no output was written")

    def stop(self) -> None:
        """Kill and reap every child still running."""
        for pid in self.running:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in self.running:
            os.waitpid(pid, 0)
        self.running = []


def close_all(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def read_records(r: int, children: Children) -> Iterator[tuple]:
    """The children's records, until every child has closed the pipe.

    While none arrives, checks every second that no child has died (a dead
    child would leave the others waiting for it at the next epoch end).
    """
    buf = bytearray()
    while True:
        if not select.select([r], [], [], POLL_SECONDS)[0]:
            children.poll()
            continue
        chunk = os.read(r, 1 << 16)
        if not chunk:
            return
        buf += chunk
        while len(buf) >= RECORD.size:
            kind, epoch, words, loss, pairs, lr = RECORD.unpack_from(buf)
            end = RECORD.size + (words if kind == FAILED else 0)
            if len(buf) < end:
                break
            msg = bytes(buf[RECORD.size : end]).decode("utf-8", "replace")
            del buf[:end]
            yield kind, epoch, words, loss, pairs, lr, msg


def run_forked(jobs: Stream, run: Callable, workers: int, on_result: Callable, on_epoch_end=None) -> None:
    """Run `jobs` on `workers` forked children; `run(job)` -> (loss, pairs) runs in a child.

    `on_result(epoch, words, lr, loss, pairs)` is called here for each finished
    job, `on_epoch_end(epoch)` once every child has finished that epoch. W and C
    must be in shared memory (`shared_copy`) for the children's updates to count.
    If the stream stops early in the children, this copy of it learns where.
    """
    claims = Claims()
    jobs.stop_at = shared_copy(jobs.stop_at)
    pids, r, gos = fork_children(jobs, run, workers, claims)
    children = Children(pids)
    try:
        ended = parent_loop(read_records(r, children), workers, gos, on_result, on_epoch_end, jobs, claims)
        children.poll(block=True)
        if not ended:
            raise W2VError("training worker processes stopped early; no output was written")
    finally:
        children.stop()
        close_all(gos + [r])


def parent_loop(
    records: Iterator[tuple], workers: int, gos: list[int], on_result: Callable, on_epoch_end, jobs: Stream,
    claims: Claims,
) -> bool:  # fmt: skip
    """Handle the children's records; True once all of them reached the end of the jobs (or stopped).

    Once `jobs.stop_requested`, the children's streams get a stop at the job after
    the next unclaimed one: no child has reached a segment boundary there yet, so
    all of them stop at the same one.
    """
    finished: dict[int, int] = {}  # epoch -> children done with it
    stopped = 0
    for kind, epoch, words, loss, pairs, lr, msg in records:
        if jobs.stop_requested and jobs.stop_at[0] == NEVER:
            with claims.lock:
                jobs.stop_at[0] = claims.next[0] + 1
        if kind == FAILED:
            raise W2VError(msg)
        if kind == JOB:
            on_result(epoch, words, lr, loss, pairs)
            continue
        if kind == STOPPED:
            stopped += 1
            if stopped > 1 and jobs.where != (epoch, words, pairs):
                raise W2VError("the training worker processes stopped at different places; no checkpoint was written")
            jobs.where = (epoch, words, pairs)
            if stopped == workers:
                jobs.stopped, jobs.epoch_complete = True, bool(loss)
                if loss and on_epoch_end:
                    on_epoch_end(int(lr))
                return True
            continue
        finished[epoch] = finished.get(epoch, 0) + 1
        if finished[epoch] < workers:
            continue
        if on_epoch_end:
            on_epoch_end(epoch)
        if kind == END:
            return True
        try:
            for go in gos:
                os.write(go, b"g")
        except BrokenPipeError:
            raise W2VError("a training worker process exited early; no output was written") from None
    return False
