"""Thread scaling: training words/s of `w2v train` with 1 and with N workers.

    python bench/scaling.py ../shared/corpora/wiki100m.txt.xz [--epochs 1] [--rounds 3] [--engine c]
        [--model skipgram|cbow] [--loss neg|hs]

Uses the same prepared corpus as `bench/peer.py` (WORKDIR/corpus.txt). Runs
are whole processes, alternating 1 worker and N workers so that machine noise
hits both alike; words/s is the training phase from metrics.json (the
vocabulary pass and the writing are excluded, since they do not use threads).
For comparison it also runs N one-worker processes at once, each on its own
copy of everything: the speedup the machine itself allows when nothing is
shared. Prints the medians and the ratios, then `machine.py`'s reference: what N
processes at once allow for memory-bound, compute-bound and numpy-engine-step
work when nothing is shared (--reference-rounds 0 skips it).

It also says where a multi-worker run's time goes, from each process's own
CPU accounting (whole process: the vocabulary pass and the writing included):
- CPU: its user + system seconds against the 1-worker run's. More than 1.00x
  means the same work cost more CPU when split over threads (caches, the
  interpreter moving between cores at each GIL handoff, shared rows);
- busy: CPU seconds / wall seconds, the cores it kept busy on average. Below N
  means threads waited (for the GIL, for each other) or the OS ran others;
- waits: voluntary context switches per 1,000 corpus words. A thread that finds
  the GIL taken sleeps until it is free, and that is one voluntary switch.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe, reference
from peer import HERE, ROOT, prepare_corpus


def train_cmd(corpus: Path, out: Path, workers: int, a) -> list[str]:
    return (
        [sys.executable, "-m", "w2v_cli", "train", str(corpus), "-o", str(out), "-q", "--seed", "1"]
        + [
            "--epochs",
            str(a.epochs),
            "--workers",
            str(workers),
            "--engine",
            a.engine,
            "--model",
            a.model,
            "--loss",
            a.loss,
            "--checkpoint-every",
            "0",
        ]
        + (["--batch-words", str(a.batch_words)] if a.batch_words else [])
    )


def metrics(out: Path) -> dict:
    """The metrics.json that `w2v train` wrote into `out`."""
    return json.loads((out / "metrics.json").read_text())


def words_per_second(out: Path) -> float:
    return float(metrics(out)["words_per_second"])


class Usage:
    """CPU seconds, wall seconds and voluntary context switches of the child processes run inside it."""

    def __enter__(self) -> Usage:
        self._ru, self._t = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.wall = time.perf_counter() - self._t
        self.cpu = (ru.ru_utime - self._ru.ru_utime) + (ru.ru_stime - self._ru.ru_stime)
        self.waits = ru.ru_nvcsw - self._ru.ru_nvcsw


def run_alone(corpus: Path, tmp: Path, workers: int, a) -> tuple[float, Usage]:
    with Usage() as use:
        subprocess.run(train_cmd(corpus, tmp / f"w{workers}", workers, a), cwd=ROOT, check=True, capture_output=True)
    return words_per_second(tmp / f"w{workers}"), use


def run_side_by_side(corpus: Path, tmp: Path, a) -> tuple[float, Usage]:
    """N one-worker processes at the same time; returns their summed words/s."""
    outs = [tmp / f"solo{i}" for i in range(a.workers)]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    with Usage() as use:
        procs = [subprocess.Popen(train_cmd(corpus, out, 1, a), cwd=ROOT, **quiet) for out in outs]
        failed = [p.wait() for p in procs]
    if any(failed):
        raise SystemExit("a side-by-side run failed")
    return sum(words_per_second(out) for out in outs), use


def words_trained(out: Path) -> int:
    """Corpus words a run went through: train_words x epochs, from its metrics.json."""
    m = metrics(out)
    return int(m["train_words"]) * int(m["epochs"])


def where_time_goes(key: str, uses: list[Usage], base_cpu: float, words: int) -> str:
    """One line: median CPU per unit of work against `base_cpu`, busy cores, waits per 1,000 words.

    `words` is what one round of this row trained (N runs' worth for N processes side by side).
    Example: CPU 11 s in 6 s wall for 2 workers, against 10 s for 1 -> "CPU 1.10x  busy 1.83 cores".
    """
    cpu = statistics.median(u.cpu for u in uses)
    busy = statistics.median(u.cpu / u.wall for u in uses)
    waits = statistics.median(u.waits for u in uses) * 1000 / max(words, 1)
    return f"  {key:<28} CPU {cpu / base_cpu:.2f}x   busy {busy:.2f} cores   waits {waits:.2f} per 1,000 words"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--engine", default="auto", choices=["auto", "c", "numpy"])
    ap.add_argument("--model", default="skipgram", choices=["skipgram", "cbow"])
    ap.add_argument("--loss", default="neg", choices=["neg", "hs"])
    ap.add_argument("--batch-words", type=int, default=0, help="centers per numpy-engine step (0: w2v's default)")
    ap.add_argument("--workdir", type=Path, default=HERE / ".work")
    ap.add_argument("--reference-rounds", type=int, default=3, help="rounds of machine.py's reference (0: skip)")
    a = ap.parse_args()
    a.workdir.mkdir(parents=True, exist_ok=True)
    corpus = a.workdir / "corpus.txt"
    prepare_corpus(a.corpus, corpus)
    rows, uses, words = measure(corpus, a)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(
        f"\n{a.model} {a.loss}, engine {a.engine}, {a.epochs} epoch(s), median of {a.rounds} rounds (training words/s):"
    )
    for key, value in med.items():
        print(f"  {key:<28} {value:>12,.0f}   {value / med['1 worker']:.2f}x")
    ratios = [m / o for o, m in zip(rows["1 worker"], rows[f"{a.workers} workers"])]
    print(f"per-round {a.workers}-vs-1 ratios: " + ", ".join(f"{x:.2f}" for x in ratios))
    print("\nwhere the time goes (whole processes; CPU per run of the corpus, against 1 worker's):")
    base = statistics.median(u.cpu for u in uses["1 worker"])
    side = f"{a.workers} x 1-worker processes"
    for key, us in uses.items():
        n = a.workers if key == side else 1  # side by side, one round trains the corpus N times
        print(where_time_goes(key, us, base * n, words * n))
    if a.reference_rounds:
        print("\n" + describe(reference(a.workers, a.reference_rounds), a.workers))


def measure(corpus: Path, a) -> tuple[dict[str, list[float]], dict[str, list[Usage]], int]:
    """Alternating rounds of 1 worker, N workers, N processes: words/s and usage per row, words per run."""
    keys = ["1 worker", f"{a.workers} workers", f"{a.workers} x 1-worker processes"]
    rows: dict[str, list[float]] = {k: [] for k in keys}
    uses: dict[str, list[Usage]] = {k: [] for k in keys}
    with tempfile.TemporaryDirectory(dir=a.workdir) as tmp:
        for r in range(a.rounds):
            results = (run_alone(corpus, Path(tmp), 1, a), run_alone(corpus, Path(tmp), a.workers, a))
            results += (run_side_by_side(corpus, Path(tmp), a),)
            for key, (wps, use) in zip(keys, results):
                rows[key].append(wps)
                uses[key].append(use)
            print(f"round {r + 1}: " + " / ".join(f"{w:,.0f}" for w, _ in results) + " words/s", flush=True)
        words = words_trained(Path(tmp) / "w1")
    return rows, uses, words


if __name__ == "__main__":
    main()
