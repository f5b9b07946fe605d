"""Real processes against real limits: kill -9, a file-size limit, a full file system, a memory budget."""

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import write

W2V = [sys.executable, "-m", "w2v_cli"]


def repeated(tmp_path, small_corpus, times: int) -> Path:
    """The small corpus `times` over (about 50k words each)."""
    return write(tmp_path / f"x{times}.txt", small_corpus.read_bytes() * times)


def unnamed_files(pid: int, directory: Path) -> list[str]:
    """Open files of `pid` in `directory` that have no name any more (O_TMPFILE or unlinked)."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory)) and target.endswith("(deleted)"):
            found.append(target)
    return found


def test_the_id_file_has_no_name_and_kill_9_leaves_nothing(tmp_path, small_corpus):
    corpus = repeated(tmp_path, small_corpus, 4)
    out = tmp_path / "out"
    args = ["train", str(corpus), "-o", str(out), "--engine", "numpy", "--workers", "1", "--epochs", "100", "-q"]
    proc = subprocess.Popen(W2V + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while not unnamed_files(proc.pid, out) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert unnamed_files(proc.pid, out), "the id file was never open"
        assert list(out.iterdir()) == []  # open and written, yet no name in the directory
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert list(out.iterdir()) == []


def limited(nbytes: int):
    """A preexec_fn capping every file the child writes at `nbytes` (writes past it fail with EFBIG)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))


def run_limited(args: list[str], nbytes: int) -> subprocess.CompletedProcess:
    return subprocess.run(W2V + args, capture_output=True, text=True, timeout=120, preexec_fn=limited(nbytes))


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()}


@pytest.fixture
def earlier_run(tmp_path, small_corpus) -> Path:
    out = tmp_path / "out"
    done = subprocess.run(W2V + ["train", str(small_corpus), "-o", str(out), "--dim", "4", "--epochs", "1", "-q"])
    assert done.returncode == 0
    return out


def test_a_write_failure_in_the_vocabulary_pass_is_one_line_and_keeps_earlier_outputs(
    tmp_path, small_corpus, earlier_run
):
    before = snapshot(earlier_run)
    corpus = repeated(tmp_path, small_corpus, 20)  # about 1M words: a 4 MB id file
    done = run_limited(["train", str(corpus), "-o", str(earlier_run), "-q"], 1 << 20)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: cannot write the temporary id file") and "File too large" in done.stderr
    assert done.stderr.count("\n") == 1
    assert snapshot(earlier_run) == before


def test_a_write_failure_while_saving_is_one_line_and_leaves_no_temporary_files(small_corpus, earlier_run):
    before = snapshot(earlier_run)
    args = ["train", str(small_corpus), "-o", str(earlier_run), "--dim", "1000", "--epochs", "1", "-q"]
    done = run_limited(args, 1 << 20)  # vectors.txt of ~300 words x 1000 dims is about 3 MB
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: cannot write output in") and done.stderr.count("\n") == 1
    assert snapshot(earlier_run) == before  # the old files, and no .tmp ones


@pytest.fixture
def tiny_fs(tmp_path):
    """A real 2 MB tmpfs: writes past it fail with ENOSPC. Needs root (CI's containers run as root)."""
    mount = tmp_path / "fs"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root; the file-size limit tests above cover the write failure")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)]).returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs")
    yield mount
    subprocess.run(["umount", str(mount)])


def test_a_full_file_system_is_caught_before_the_vocabulary_pass(tmp_path, small_corpus, tiny_fs):
    corpus = repeated(tmp_path, small_corpus, 20)
    args = ["train", str(corpus), "-o", str(tiny_fs / "out"), "-q"]
    done = subprocess.run(W2V + args, capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: the temporary id file needs about") and "free" in done.stderr
    assert list((tiny_fs / "out").iterdir()) == []


def test_outputs_that_cannot_fit_are_caught_before_training(small_corpus, tiny_fs):
    args = ["train", str(small_corpus), "-o", str(tiny_fs / "out"), "--dim", "600", "-q"]
    done = subprocess.run(W2V + args, capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.startswith("error: the output files need about")
    assert list((tiny_fs / "out").iterdir()) == []


def many_distinct(path: Path, distinct: int, frequent: dict[str, int]) -> Path:
    """`distinct` words seen once (r0000000, ...) in random order, and `frequent` words spread among them."""
    rng = np.random.default_rng(5)
    chunks = 10
    with open(path, "wb") as f:
        for ids in np.array_split(rng.permutation(distinct), chunks):
            digits = (ids[:, None] // 10 ** np.arange(6, -1, -1)) % 10 + ord("0")
            rows = np.concatenate([np.full((ids.size, 1), ord("r")), digits, np.full((ids.size, 1), ord(" "))], 1)
            rows[999::1000, -1] = ord("\n")
            f.write(rows.astype(np.uint8).tobytes())
            f.write(("\n" + " ".join(w for w, c in frequent.items() for _ in range(c // chunks)) + "\n").encode())
    return path


# Runs a command and prints its peak RSS. A wrapper, because a child forked from this (large) test process
# would count the parent's pages it shared before exec in its own peak.
MEASURE = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def peak_rss(args: list[str]) -> tuple[int, str]:
    """(peak resident memory in bytes, stderr) of one w2v process."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *W2V, *args], capture_output=True, text=True, timeout=300)
    code, kib = map(int, done.stdout.split())
    assert code == 0, done.stderr
    return kib * 1024, done.stderr


BUDGET = 256 << 20
CONSTANT = 150 << 20  # the interpreter, numpy and click (~60 MB), blocks in flight, the word list of the result


def test_a_vocabulary_memory_budget_bounds_the_scan_and_keeps_the_frequent_counts(tmp_path):
    frequent = {f"f{i}": 10 * (20 + i) for i in range(500)}  # counts 200..5190
    corpus = many_distinct(tmp_path / "c.txt", 10_000_000, frequent)
    bounded, unbounded = tmp_path / "bounded.txt", tmp_path / "unbounded.txt"
    common = ["--min-count", "5"]
    rss, err = peak_rss(["vocab", str(corpus), "-o", str(bounded), "--vocab-memory", "256M", *common])
    assert "was pruned" in err and "a second pass counts" in err
    rss_free, _ = peak_rss(["vocab", str(corpus), "-o", str(unbounded), "--vocab-memory", "4G", "-q", *common])
    assert rss < BUDGET + CONSTANT < rss_free  # the budget is what holds it down
    assert bounded.read_text() == unbounded.read_text()
    rows = dict(line.split() for line in bounded.read_text().splitlines())
    assert {w: int(c) for w, c in rows.items()} == frequent


def test_a_write_failure_in_convert_is_one_line_and_leaves_nothing(tmp_path, earlier_run):
    dest = tmp_path / "conv"
    dest.mkdir()
    args = ["convert", str(earlier_run / "model.w2v"), str(dest / "v.txt")]
    done = run_limited(args, 100)
    assert done.returncode == 1 and done.stderr.startswith("error: cannot write output in")
    assert "Traceback" not in done.stderr and list(dest.iterdir()) == []


def test_the_id_file_check_runs_before_the_vocabulary_pass(runner, tmp_path, small_corpus, monkeypatch):
    """Where no tmpfs can be mounted: the same decision, with the free space reported smaller than the need."""
    from w2v_cli import pipeline, preflight
    from w2v_cli.cli import main

    monkeypatch.setattr(preflight, "free_disk", lambda path: 1000)
    monkeypatch.setattr(pipeline, "scan_corpus", lambda *a, **k: pytest.fail("the vocabulary pass started"))
    result = runner.invoke(main, ["train", str(small_corpus), "-o", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 1 and "the temporary id file needs about" in result.stderr
    assert "0.00 GB free" in result.stderr
