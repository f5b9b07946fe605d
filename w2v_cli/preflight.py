"""Checks before the work: will the id file, the model and the outputs fit?

Each check compares what a run will need with what the machine has and raises
one `W2VError` line with both numbers and what to change, before the work
that would fail:
- `check_id_disk`, before the vocabulary pass: the id file (4 bytes per corpus
  word, the words estimated from the text size) against the output
  directory's free space;
- `check_model_memory`, after it and before allocating: W and C and the
  engines' scratch against the memory available;
- `check_output_disk`, after it: the three vector files and the rest.
The estimates (`id_file_bytes`, `model_bytes`, `output_bytes`) are also what
`w2v train --dry-run` reports.

Left out: other processes that grow while the run goes on.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from w2v_cli.config import TrainConfig
from w2v_cli.corpus import text_size
from w2v_cli.errors import W2VError

BYTES_PER_TOKEN = 5  # text bytes per corpus word, low for English (about 6), so the id estimate errs high
GB = 1e9


def gb(n: float) -> str:
    """`gb(1.5e9)` -> `"1.50 GB"`."""
    return f"{n / GB:.2f} GB"


def free_disk(path: Path) -> int:
    """Free bytes on the file system of `path` (or of its nearest existing parent)."""
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def available_memory() -> int:
    """Memory the kernel can give this process without swapping (MemAvailable), in bytes."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def id_file_bytes(files: list[Path]) -> int:
    """The id file's size, estimated: 4 bytes per word, a word per BYTES_PER_TOKEN bytes of text."""
    return 4 * sum(text_size(f) for f in files) // BYTES_PER_TOKEN


def check_id_disk(files: list[Path], where: Path) -> None:
    need, free = id_file_bytes(files), free_disk(where)
    if need > free:
        raise W2VError(
            f"the temporary id file needs about {gb(need)} (4 bytes per corpus word) but {where} has "
            f"{gb(free)} free; free some space or use another -o"
        )


def model_bytes(cfg: TrainConfig, scratch: int, vocab_size: int, workers: int) -> int:
    """W and C (float32), the per-word tables, and each worker's scratch."""
    return 2 * vocab_size * cfg.dim * 4 + 40 * vocab_size + workers * scratch


def check_model_memory(cfg: TrainConfig, scratch: int, vocab_size: int, workers: int) -> None:
    need, have = model_bytes(cfg, scratch, vocab_size, workers), available_memory()
    if need > have:
        raise W2VError(
            f"the model needs {gb(need)} of memory (W and C: 2 x {vocab_size:,} words x {cfg.dim} dims x 4 bytes, "
            f"plus {workers} worker(s)' scratch) but {gb(have)} is available; lower --dim or --max-vocab"
        )


def output_bytes(words: list[str], dim: int) -> int:
    """vectors.txt (about 12 characters a number), vectors.bin, and model.w2v (W and C)."""
    text = sum(len(w.encode("utf-8")) + 2 for w in words)
    n = len(words)
    return (text + 12 * dim * n) + (text + 4 * dim * n) + (text + 8 * dim * n) + (1 << 20)


def check_output_disk(words: list[str], dim: int, where: Path) -> None:
    need, free = output_bytes(words, dim), free_disk(where)
    if need > free:
        raise W2VError(
            f"the output files need about {gb(need)} ({len(words):,} words x {dim} dims, three formats) but "
            f"{where} has {gb(free)} free; free some space, use another -o, or lower --dim or --max-vocab"
        )
