"""Checkpoints: everything a run needs to continue exactly, in one file in the output directory.

`checkpoint.w2v` is a native model file (`formats.write_native`): the words and
counts, W and C, and in its header the resolved config, the stream position
(`schedule.Position`), the tracker's state, the per-epoch evaluations and a
fingerprint of the corpus files. It is written atomically (temporary name,
fsync, rename), so a crash while writing leaves the previous one intact.

The id stream is not in it: it has no name on disk (`scan.IdFile`), and a
resumed run rebuilds it by scanning the corpus again, which is deterministic
(a second or two per 17M words). The fingerprint (size, modification time, and
a hash of the first and last MiB of every file) catches a corpus that changed.

`Stop` is how a run learns that it should stop at the next segment boundary:
a signal, or a checkpoint that is due.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np

from w2v_cli.errors import W2VError

NAME = "checkpoint.w2v"
HASHED = 1 << 20  # bytes hashed at each end of a corpus file


class Interrupted(W2VError):
    """The run stopped on a signal; `str()` says where the checkpoint is and how to resume."""


class Stop:
    """Stop requests for a training run: interrupts, and checkpoints every `every_minutes` (0: none).

    `armed` is True while epochs run: then a first signal asks for a stop at the
    next segment boundary (`request`), where the pipeline writes a checkpoint.
    Example: `Stop(10).wanted(0)` -> False until 10 minutes after `start()`.
    """

    def __init__(self, every_minutes: float = 0.0) -> None:
        self.every = 60.0 * every_minutes
        self.armed = False
        self.interrupted = False
        self.next_due = float("inf")

    def start(self) -> None:
        """Arm, and time the next checkpoint from now."""
        self.armed = True
        self.next_due = time.monotonic() + self.every if self.every > 0 else float("inf")

    def request(self) -> None:
        """An interrupt: stop at the next segment boundary."""
        self.interrupted = True

    def wanted(self, done: int) -> bool:
        """Whether the run, `done` words in, should stop at the next boundary (interrupted, or a checkpoint is due)."""
        return self.interrupted or time.monotonic() >= self.next_due


def fingerprint(files: list[Path]) -> list[dict]:
    """Size, mtime and the hash of the first and last MiB of each corpus file."""
    out = []
    for path in files:
        st = path.stat()
        h = hashlib.sha256()
        with open(path, "rb") as f:
            h.update(f.read(HASHED))
            if st.st_size > HASHED:
                f.seek(max(st.st_size - HASHED, HASHED))
                h.update(f.read(HASHED))
        out.append({"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": h.hexdigest()})
    return out


def check_fingerprint(saved: list[dict], files: list[Path]) -> None:
    """A W2VError naming the first corpus file that is not what the run started with."""
    now = fingerprint(files)
    if [s["path"] for s in saved] != [n["path"] for n in now]:
        raise W2VError("the corpus files are not the ones the run started with; cannot resume")
    for s, n in zip(saved, now):
        for key, what in (("size", "size"), ("mtime_ns", "modification time"), ("sha256", "contents")):
            if s[key] != n[key]:
                raise W2VError(f"corpus file {s['path']} changed ({what}) since the run started; cannot resume")


def save(outdir: Path, words: list[str], counts: np.ndarray, W: np.ndarray, C: np.ndarray, state: dict) -> Path:
    """Write `checkpoint.w2v` atomically; `state` holds config, position, tracker, evals and fingerprint."""
    from w2v_cli.formats import atomic_dir, write_native

    with atomic_dir(outdir) as open_tmp:
        write_native(open_tmp(NAME), words, counts, W, C, {"config": state["config"], "checkpoint": state})
    return outdir / NAME


def load(outdir: Path):
    """The checkpoint's `Vectors` (W, C in memory, not mapped) and its state; a W2VError if there is none."""
    from w2v_cli.formats import read_native

    path = outdir / NAME
    if not path.is_file():
        raise W2VError(f"{outdir} holds no checkpoint ({NAME}) to resume from")
    vecs = read_native(path, mmap=False)
    state = vecs.meta.get("checkpoint")
    if not state:
        raise W2VError(f"{path} is not a checkpoint")
    return vecs, state


def remove(outdir: Path) -> None:
    """Delete the checkpoint once the run's outputs are written."""
    try:
        os.unlink(outdir / NAME)
    except FileNotFoundError:
        pass
