"""Checkpoints and exact resume: stopped anywhere, continued, the vectors are the uninterrupted run's, bit for bit."""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import C_AND_NUMPY, write

from w2v_cli import schedule
from w2v_cli.checkpoint import NAME, Interrupted, Stop
from w2v_cli.cli import main, stop_on_signals
from w2v_cli.config import resolve_config
from w2v_cli.errors import W2VError
from w2v_cli.files import load_vectors
from w2v_cli.formats import read_native
from w2v_cli.pipeline import resume_and_save, train_and_save

W2V = [sys.executable, "-m", "w2v_cli"]
TIMINGS = {"train_seconds", "words_per_second", "vocab_seconds"}


class InterruptAt(Stop):
    """An interrupt that arrives once `words` corpus words are done, as a signal would."""

    def __init__(self, words: int) -> None:
        super().__init__(0)
        self.at = words

    def wanted(self, done: int) -> bool:
        if done >= self.at:
            self.interrupted = True
        return super().wanted(done)


def config(corpus, out, engine="c", **extra):
    settings = dict(corpus=[str(corpus)], output=str(out), dim=8, epochs=3, workers=1, engine=engine, min_count=2)
    return resolve_config(None, {**settings, **extra})


def outputs(out: Path) -> dict:
    """What must be equal between runs: the vector files' bytes, W and C, and the metrics without timings."""
    model = read_native(out / "model.w2v", mmap=False)
    metrics = {k: v for k, v in json.loads((out / "metrics.json").read_text()).items() if k not in TIMINGS}
    for key in ("output", "checkpoint_every"):  # where and how often checkpoints went: not what is computed
        metrics["config"].pop(key)
    return {
        "txt": (out / "vectors.txt").read_bytes(),
        "bin": (out / "vectors.bin").read_bytes(),
        "W": model.matrix.tobytes(),
        "C": model.output.tobytes(),
        "metrics": metrics,
    }


@pytest.fixture
def small_segments(monkeypatch):
    """Segments of 5,000 ids, so the 50k-word corpus has ten per epoch to stop between."""
    monkeypatch.setattr(schedule, "SEGMENT_IDS", 5000)


@pytest.mark.parametrize("engine", C_AND_NUMPY)
@pytest.mark.parametrize(
    "fraction, where",
    [(0.1, "mid first epoch"), (0.95 / 3, "epoch boundary"), (0.5, "mid second epoch"), (0.9, "last epoch")],
)
def test_a_run_stopped_anywhere_and_resumed_equals_the_uninterrupted_run(
    tmp_path, small_corpus, small_segments, engine, fraction, where
):
    train_and_save(config(small_corpus, tmp_path / "whole", engine), stop=Stop(0))
    cfg = config(small_corpus, tmp_path / "split", engine)
    total = 3 * json.loads((tmp_path / "whole" / "metrics.json").read_text())["train_words"]
    with pytest.raises(Interrupted, match="resume with: w2v train --resume"):
        train_and_save(cfg, stop=InterruptAt(int(fraction * total)))
    state = read_native(tmp_path / "split" / NAME).meta["checkpoint"]
    pos = state["position"]
    assert (pos["offset"] == 0 and pos["epoch"] == 1) == (where == "epoch boundary")
    assert pos["epoch"] == {"mid first epoch": 0, "epoch boundary": 1, "mid second epoch": 1, "last epoch": 2}[where]
    assert not (tmp_path / "split" / "vectors.bin").exists()
    resume_and_save(str(tmp_path / "split"), None, stop=Stop(0))
    assert outputs(tmp_path / "split") == outputs(tmp_path / "whole")
    assert not (tmp_path / "split" / NAME).exists()  # removed once the outputs are written


def test_frequent_checkpoints_change_nothing_and_keep_checkpoint_keeps_the_last(tmp_path, small_corpus, small_segments):
    train_and_save(config(small_corpus, tmp_path / "a"), stop=Stop(0))
    cfg = config(small_corpus, tmp_path / "b", keep_checkpoint=True, checkpoint_every=1e-6)
    train_and_save(cfg, stop=Stop(cfg.checkpoint_every))
    a, b = outputs(tmp_path / "a"), outputs(tmp_path / "b")
    assert a["bin"] == b["bin"] and a["W"] == b["W"] and a["C"] == b["C"] and a["metrics"]["loss_curve"]
    assert (tmp_path / "b" / NAME).exists()


def test_resume_refuses_a_changed_corpus_and_new_settings(runner, tmp_path, small_corpus):
    corpus = write(tmp_path / "c.txt", small_corpus.read_bytes())
    out = tmp_path / "out"
    with pytest.raises(Interrupted):
        train_and_save(config(corpus, out), stop=InterruptAt(1))
    result = runner.invoke(main, ["train", "--resume", str(out), "--dim", "50"])
    assert result.exit_code == 1 and "only --workers and --quiet may change (got --dim)" in result.stderr
    result = runner.invoke(main, ["train", str(corpus), "-o", str(out), "-q"])
    assert result.exit_code == 1 and "holds a checkpoint of an unfinished run" in result.stderr
    with open(corpus, "ab") as f:
        f.write(b"one more line\n")
    result = runner.invoke(main, ["train", "--resume", str(out)])
    assert result.exit_code == 1 and "changed (size) since the run started" in result.stderr
    result = runner.invoke(main, ["train", "--resume", str(tmp_path)])
    assert result.exit_code == 1 and "holds no checkpoint" in result.stderr


def test_the_first_signal_asks_for_a_checkpoint_and_a_second_exits_at_once():
    stop = stop_on_signals(Stop(0))
    try:
        handler = signal.getsignal(signal.SIGTERM)
        stop.armed = True
        handler(signal.SIGTERM, None)
        assert stop.interrupted
        with pytest.raises(KeyboardInterrupt):
            handler(signal.SIGINT, None)  # while the checkpoint is written: out at once
        stop.armed, stop.interrupted = False, False
        with pytest.raises(KeyboardInterrupt):  # before training: nothing to save, interrupt as before
            handler(signal.SIGINT, None)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_info_shows_a_checkpoint_and_queries_need_allow_partial(runner, tmp_path, small_corpus, small_segments):
    out = tmp_path / "out"
    with pytest.raises(Interrupted):
        train_and_save(config(small_corpus, out), stop=InterruptAt(30_000))
    info = runner.invoke(main, ["info", str(out)])
    assert info.exit_code == 0 and "checkpoint" in info.output and "epoch 1 of 3" in info.output
    refused = runner.invoke(main, ["similar", str(out), "the"])
    assert refused.exit_code == 1 and "--resume" in refused.stderr and "--allow-partial" in refused.stderr
    partial = runner.invoke(main, ["similar", str(out), "the", "--allow-partial", "-k", "2"])
    assert partial.exit_code == 0, partial.output
    with pytest.raises(W2VError, match="allow-partial"):
        load_vectors(out)


def long_corpus(tmp_path, small_corpus) -> Path:
    """About 4.2M words: four segments per epoch, training about 80% of the run's CPU time."""
    return write(tmp_path / "long.txt", small_corpus.read_bytes() * 80)


def train_cmd(corpus, out, *extra):
    return W2V + ["train", str(corpus), "-o", str(out), "--dim", "8", "--epochs", "3", "--workers", "1", "-q", *extra]


def wait_for(predicate, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc), which load on the machine does not stretch."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory, small_corpus):
    """The uninterrupted run's outputs, and the CPU time it took."""
    tmp = tmp_path_factory.mktemp("whole")
    corpus = long_corpus(tmp, small_corpus)
    proc = subprocess.Popen(train_cmd(corpus, tmp / "out"))
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return corpus, outputs(tmp / "out"), usage.ru_utime + usage.ru_stime


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sigterm_at(cmd: list[str], fraction: float, cpu: float, out: Path, tries: int = 3) -> tuple[subprocess.Popen, str]:
    """Run `cmd`, SIGTERM it at `fraction` of a whole run's `cpu` seconds; (process, stderr) of the last try.

    On this shared VM the same run's CPU time varies by a third from hour to hour,
    so a run may finish before the signal: then its outputs go, its own CPU time
    becomes the whole run's if it was shorter, and it runs again, up to `tries` times.
    """
    for _ in range(tries):
        shutil.rmtree(out, ignore_errors=True)
        before = children_cpu()
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        wait_for(lambda p=proc, t=fraction * cpu: p.poll() is not None or cpu_seconds(p.pid) >= t)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        if proc.returncode != 0:
            break
        cpu = min(cpu, children_cpu() - before)
    return proc, err


@pytest.mark.parametrize("fraction", [0.35, 0.85])  # of the run's CPU time: in the first and in the last epoch
def test_sigterm_writes_a_checkpoint_and_resume_gives_the_same_vectors(tmp_path, whole_run, fraction):
    corpus, whole, cpu = whole_run
    out = tmp_path / "out"
    proc, err = sigterm_at(train_cmd(corpus, out), fraction, cpu, out)
    assert proc.returncode == 130, err
    assert err.startswith("interrupted at") and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == [NAME]
    done = subprocess.run(W2V + ["train", "--resume", str(out), "-q"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert outputs(out) == whole


def test_kill_9_after_a_checkpoint_resumes_from_it_to_the_same_vectors(tmp_path, whole_run):
    corpus, whole, _ = whole_run
    out = tmp_path / "out"
    proc = subprocess.Popen(train_cmd(corpus, out, "--checkpoint-every", "0.005"))
    wait_for(lambda: proc.poll() is not None or (out / NAME).exists())
    proc.kill()
    proc.wait()
    assert (out / NAME).exists(), "the run ended before its first checkpoint"
    assert sorted(p.name for p in out.iterdir()) == [NAME]  # no half-written file beside it
    done = subprocess.run(W2V + ["train", "--resume", str(out), "-q", "--workers", "1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert outputs(out) == whole


def test_forked_workers_stop_together_and_the_run_resumes(tmp_path, small_corpus, small_segments):
    """Two numpy worker processes: both stop at the same boundary (the parent checks), and the run finishes."""
    cfg = config(small_corpus, tmp_path / "out", engine="numpy", workers=2)
    with pytest.raises(Interrupted):
        train_and_save(cfg, stop=InterruptAt(60_000))
    state = read_native(tmp_path / "out" / NAME).meta["checkpoint"]
    assert 60_000 <= state["tracker"]["done"] < 3 * 52_599 and state["position"]["done"] == state["tracker"]["done"]
    vectors, _ = resume_and_save(str(tmp_path / "out"), None, stop=Stop(0))
    assert vectors.metrics["parallel"] == "processes" and len(vectors.metrics["loss_per_epoch"]) == 3
    assert all(p > 0 for p in vectors.metrics["pairs_per_epoch"])
