"""Forked worker processes (the numpy engine's workers on Linux): every job once, epochs whole, failures loud."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from w2v_cli.config import resolve_config
from w2v_cli.engines import Job, forked
from w2v_cli.engines.base import Stream
from w2v_cli.engines.numpy_engine import NumpyEngine
from w2v_cli.engines.runners import use_processes
from w2v_cli.errors import W2VError
from w2v_cli.pipeline import train

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers are Linux only")


def make_jobs(epochs: int, per_epoch: int) -> list[Job]:
    """Job i carries payload i and accounts for i + 1 words."""
    n = epochs * per_epoch
    return [Job(i // per_epoch, 0.1, 0.1, i + 1, payload=i) for i in range(n)]


class Results:
    """What the parent hears: every result, and what it had heard at each epoch end."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []  # (epoch, words) per finished job
        self.at_epoch_end: list[tuple[int, list[int]]] = []

    def on_result(self, epoch, words, lr, loss, pairs) -> None:
        assert loss == words and pairs == 1
        self.seen.append((epoch, words))

    def on_epoch_end(self, epoch) -> None:
        self.at_epoch_end.append((epoch, sorted(e for e, _ in self.seen)))


@pytest.fixture(autouse=True)
def deadline():
    """Fail, instead of hanging the suite, if a run waits for a child that will never report."""

    def expired(signum, frame):
        raise TimeoutError("run_forked still waiting after 30 s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """The pids of the children forked during the test."""
    pids, fork = [], os.fork

    def recording_fork():
        pid = fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recording_fork)
    return pids


def all_reaped(pids: list[int]) -> bool:
    """True if every pid has exited and been waited for (none running, no zombie)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return bool(pids)


@pytest.mark.parametrize("workers", [2, 3])
def test_every_job_runs_exactly_once_and_every_worker_runs_some(workers, forks):
    jobs = make_jobs(1, 60)
    runs = forked.shared_copy(np.zeros(len(jobs), np.int64))  # runs of each job, across processes
    who = forked.shared_copy(np.zeros(len(jobs), np.int64))  # the pid that ran it

    def run(job):
        time.sleep(0.002)
        runs[job.payload] += 1
        who[job.payload] = os.getpid()
        return float(job.words), 1

    got = Results()
    forked.run_forked(Stream(jobs), run, workers, got.on_result, got.on_epoch_end)
    assert runs.tolist() == [1] * len(jobs)
    assert sorted(w for _, w in got.seen) == [j.words for j in jobs]
    assert len(set(who.tolist())) == workers and os.getpid() not in who
    assert all_reaped(forks)


def test_each_epoch_end_comes_after_all_its_jobs_and_sees_their_updates():
    epochs, per_epoch = 3, 20
    done = forked.shared_copy(np.zeros(epochs * per_epoch, np.int64))  # set by the child that ran the job

    def run(job):
        time.sleep(0.001 * (job.payload % 3))  # uneven jobs, so the children drift apart
        done[job.payload] = 1
        return float(job.words), 1

    got, flags = Results(), []

    def on_epoch_end(epoch):
        got.on_epoch_end(epoch)
        flags.append(done.reshape(epochs, per_epoch).all(axis=1).tolist() + [done[(epoch + 1) * per_epoch :].any()])

    forked.run_forked(Stream(make_jobs(epochs, per_epoch)), run, 2, got.on_result, on_epoch_end)
    assert [e for e, _ in got.at_epoch_end] == [0, 1, 2]
    for e, seen_epochs in got.at_epoch_end:
        assert seen_epochs == sorted(list(range(e + 1)) * per_epoch)  # this epoch whole, nothing later
    # in shared memory too: epoch e's jobs all done at its end, and no later job started
    assert flags == [[True, False, False, False], [True, True, False, False], [True, True, True, False]]


@pytest.mark.parametrize(
    "error, message",
    [
        (ValueError("boom"), "worker process failed: ValueError: boom"),
        (W2VError("cannot read ids"), "^cannot read ids$"),
    ],
)
def test_a_job_that_raises_stops_the_run_with_its_message(error, message, forks):
    def run(job):
        if job.payload == 7:
            raise error
        return float(job.words), 1

    with pytest.raises(W2VError, match=message):
        forked.run_forked(Stream(make_jobs(2, 20)), run, 2, Results().on_result)
    assert all_reaped(forks)


def test_a_killed_worker_is_reported_and_the_others_are_not_waited_for(forks):
    def run(job):
        if job.payload == 5:
            os.kill(os.getpid(), signal.SIGKILL)
        return float(job.words), 1

    t = time.perf_counter()
    with pytest.raises(W2VError, match="killed by signal 9"):
        forked.run_forked(Stream(make_jobs(3, 20)), run, 2, Results().on_result)
    assert time.perf_counter() - t < 10 * forked.POLL_SECONDS
    assert all_reaped(forks)


def test_an_error_in_the_parent_kills_the_children(forks):
    def run(job):
        time.sleep(0.01)
        return float(job.words), 1

    def on_result(*args):
        raise W2VError("training diverged (loss is nan)")

    with pytest.raises(W2VError, match="diverged"):
        forked.run_forked(Stream(make_jobs(1, 200)), run, 2, on_result)
    assert all_reaped(forks)


def test_processes_only_on_linux_and_only_for_an_engine_that_asks(monkeypatch):
    from w2v_cli.engines.c_engine import CEngine

    engine = NumpyEngine.__new__(NumpyEngine)
    assert use_processes(engine, 2) and not use_processes(engine, 1)
    assert not use_processes(CEngine.__new__(CEngine), 2)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not use_processes(engine, 2)


def test_numpy_training_on_two_processes_trains_every_pair_once(small_corpus, tmp_path, forks):
    """The same job stream as one worker: the same trained pairs, and vectors that moved."""

    def run(workers):
        cfg = {"corpus": [str(small_corpus)], "output": str(tmp_path), "engine": "numpy", "epochs": 2, "dim": 16}
        return train(resolve_config(None, {**cfg, "workers": workers}))

    one, two = run(1), run(2)
    assert two.metrics["parallel"] == "processes" and one.metrics["parallel"] == "none"
    assert two.metrics["pairs_per_epoch"] == one.metrics["pairs_per_epoch"]
    loss1, loss2 = one.metrics["loss_per_epoch"], two.metrics["loss_per_epoch"]
    assert loss2[1] < loss2[0] and loss2[1] == pytest.approx(loss1[1], rel=0.05)
    assert np.isfinite(two.matrix).all() and not np.allclose(two.output, 0.0)
    assert all_reaped(forks)


def child_pids(pid: int) -> list[int]:
    """The children of process `pid`, from /proc."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_ctrl_c_stops_the_workers_and_writes_a_checkpoint(small_corpus, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "w2v_cli", "train", str(small_corpus), "--engine", "numpy", "--workers", "2"]
    cmd += ["--epochs", "500", "--output", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True)
    for _ in range(300):  # until both workers have started
        kids = child_pids(proc.pid)
        if len(kids) == 2 or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert len(kids) == 2, "the run did not start its 2 worker processes"
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole process group
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and "checkpoint in" in err and f"w2v train --resume {out}" in err, err
    assert "Traceback" not in err
    for pid in kids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert [p.name for p in out.iterdir()] == ["checkpoint.w2v"]  # the workers stopped together, consistently


def gone(pid: int) -> bool:
    """The process has exited (reaped, or a zombie waiting for its new parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_until(check, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    """One worker waits at the epoch end, the other is still in a job: both must exit, not hang."""
    release = tmp_path / "release"

    def run(job):
        if job.payload == 0:  # the child that takes job 0 holds it until the test says so
            wait_until(release.exists, 20)
        return float(job.words), 1

    parent = os.fork()
    if parent == 0:  # the training parent, which the test will kill
        try:
            forked.run_forked(Stream(make_jobs(2, 10)), run, 2, lambda *a: None)
        finally:
            os._exit(0)
    try:
        assert wait_until(lambda: len(child_pids(parent)) == 2, 10)
        kids = child_pids(parent)
        time.sleep(0.3)  # the free worker runs epoch 0's other 9 jobs and waits at its end
        os.kill(parent, signal.SIGKILL)
        os.waitpid(parent, 0)
        assert wait_until(lambda: sum(gone(k) for k in kids) == 1, 10), "the waiting worker hung"
        release.touch()  # the busy worker finishes job 0; its report then finds no reader
        assert wait_until(lambda: all(gone(k) for k in kids), 10), "the busy worker hung"
    finally:
        release.touch()
