"""What the machine itself allows: N processes at once against one, nothing shared.

    python bench/machine.py [--workers 2] [--rounds 5]

Two kinds of numpy work, each run by 1 process and then by N processes at
the same time (each on its own data, started together at a barrier):
- gather: random rows of a (140,000, 100) float32 matrix (56 MB, the size of
  W and C for wiki100m), summed; memory-bound, like most of the numpy engine's
  step (its row gathers and scatter-adds);
- matmul: 200 x 200 float32 products on one BLAS thread; compute-bound, in cache;
- numpy-step: the numpy engine's own step (`engines.numpy_engine.step`, batches of
  1,024 centers of Zipf-distributed words, 70,000 x 100 W and C per process):
  its ceiling when nothing is shared and there is no GIL to wait for.
The throughput ratio is N x (time of 1) / (mean time of the N). On a machine
whose cores share a memory system, the gather ratio is the ceiling for an
engine that is memory-bound, whatever it does about the GIL.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # w2v_cli from this checkout

ROWS, DIM = 140_000, 100
GATHER, REPS = 20_000, 60  # rows per gather, gathers per run
MATMUL, PRODUCTS = 200, 1500
VOCAB, BATCH, STEPS = 70_000, 1024, 120


def _zipf_batches(rng, n: int):
    """`n` engine batches: Zipf tokens, window 5, 5 negatives from counts ** 0.75."""
    from w2v_cli.engines.base import Batch

    p = 1.0 / np.arange(1, VOCAB + 1)
    noise = p**0.75 / (p**0.75).sum()
    p /= p.sum()
    size = BATCH + 10
    for _ in range(n):
        centers = np.zeros(size, bool)
        centers[5:-5] = True
        yield Batch(
            rng.choice(VOCAB, size, p=p).astype(np.int32),
            np.zeros(size, np.int32),
            rng.integers(1, 6, size).astype(np.int32),
            centers,
            rng.choice(VOCAB, (size, 5), p=noise).astype(np.int32),
        )


def _prepare(kind: str, rng, scale: float):
    """The data for one unit of work, made before the clock starts, and the work itself."""
    if kind == "gather":
        M = rng.random((ROWS, DIM), dtype=np.float32)
        idx = rng.integers(0, ROWS, (max(1, int(REPS * scale)), GATHER))
        return lambda: [M[rows].sum() for rows in idx]
    if kind == "matmul":
        A = rng.random((MATMUL, MATMUL), dtype=np.float32)
        return lambda: [A @ A for _ in range(max(1, int(PRODUCTS * scale)))]
    from w2v_cli.engines.numpy_engine import step

    W = (rng.random((VOCAB, DIM), dtype=np.float32) - 0.5) / DIM
    C = np.zeros_like(W)
    batches = list(_zipf_batches(rng, max(1, int(STEPS * scale))))
    return lambda: [step(W, C, b, 5, 0.025) for b in batches]


def _work(kind: str, seed: int, scale: float, barrier, results) -> None:
    run = _prepare(kind, np.random.default_rng(seed), scale)
    barrier.wait()
    t = time.perf_counter()
    run()
    results.put(time.perf_counter() - t)


def timed_processes(kind: str, n: int, scale: float = 1.0) -> list[float]:
    """Seconds each of `n` simultaneous processes took for one unit of `kind` work."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(n), ctx.Queue()
    saved = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # inherited by the spawned processes
    try:
        procs = [ctx.Process(target=_work, args=(kind, i, scale, barrier, results)) for i in range(n)]
        for p in procs:
            p.start()
        times = [results.get() for _ in procs]
        for p in procs:
            p.join()
    finally:
        if saved is None:
            os.environ.pop("OPENBLAS_NUM_THREADS", None)
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = saved
    return times


def throughput_ratio(one: float, many: list[float]) -> float:
    """N processes' throughput over one's: `throughput_ratio(1.0, [1.25, 1.25])` -> 1.6."""
    return len(many) * one / statistics.mean(many)


def reference(workers: int, rounds: int, scale: float = 1.0) -> dict[str, list[float]]:
    """Per-round throughput ratios of `workers` processes against one, for each kind of work."""
    ratios: dict[str, list[float]] = {"gather": [], "matmul": [], "numpy-step": []}
    for _ in range(rounds):
        for kind, row in ratios.items():
            one = timed_processes(kind, 1, scale)[0]
            row.append(throughput_ratio(one, timed_processes(kind, workers, scale)))
    return ratios


def describe(ratios: dict[str, list[float]], workers: int) -> str:
    """One line per kind: the median ratio and the per-round ones."""
    lines = [f"machine reference, {workers} processes at once against 1, nothing shared (median of rounds):"]
    for kind, row in ratios.items():
        per_round = ", ".join(f"{x:.2f}" for x in row)
        lines.append(f"  {kind:<8} {statistics.median(row):.2f}x   (per round {per_round})")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    print(describe(reference(a.workers, a.rounds), a.workers))


if __name__ == "__main__":
    main()
