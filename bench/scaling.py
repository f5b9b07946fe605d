"""Thread scaling: training words/s of `w2v train` with 1 and with N workers.

    python bench/scaling.py ../shared/corpora/wiki100m.txt.xz [--epochs 1] [--rounds 3] [--engine c]

Uses the same prepared corpus as `bench/peer.py` (WORKDIR/corpus.txt). Runs
are whole processes, alternating 1 worker and N workers so that machine noise
hits both alike; words/s is the training phase from metrics.json (the
vocabulary pass and the writing are excluded, since they do not use threads).
For comparison it also runs N one-worker processes at once, each on its own
copy of everything: the speedup the machine itself allows when nothing is
shared. Prints the medians and the ratios, then `machine.py`'s reference: what N
processes at once allow for memory-bound, compute-bound and numpy-engine-step
work when nothing is shared (--reference-rounds 0 skips it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
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
        ]
        + (["-c", str(batch_config(a))] if a.batch_words else [])
    )


def batch_config(a) -> Path:
    """A config file with only batch_words (a config key, not a flag); the flags give the rest."""
    path = a.workdir / f"batch{a.batch_words}.yaml"
    path.write_text(f"batch_words: {a.batch_words}\n")
    return path


def words_per_second(out: Path) -> float:
    return float(json.loads((out / "metrics.json").read_text())["words_per_second"])


def run_alone(corpus: Path, tmp: Path, workers: int, a) -> float:
    subprocess.run(train_cmd(corpus, tmp / f"w{workers}", workers, a), cwd=ROOT, check=True, capture_output=True)
    return words_per_second(tmp / f"w{workers}")


def run_side_by_side(corpus: Path, tmp: Path, a) -> float:
    """N one-worker processes at the same time; returns their summed words/s."""
    outs = [tmp / f"solo{i}" for i in range(a.workers)]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen(train_cmd(corpus, out, 1, a), cwd=ROOT, **quiet) for out in outs]
    if any(p.wait() for p in procs):
        raise SystemExit("a side-by-side run failed")
    return sum(words_per_second(out) for out in outs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--engine", default="auto", choices=["auto", "c", "numpy"])
    ap.add_argument("--batch-words", type=int, default=0, help="centers per numpy-engine step (0: w2v's default)")
    ap.add_argument("--workdir", type=Path, default=HERE / ".work")
    ap.add_argument("--reference-rounds", type=int, default=3, help="rounds of machine.py's reference (0: skip)")
    a = ap.parse_args()
    a.workdir.mkdir(parents=True, exist_ok=True)
    corpus = a.workdir / "corpus.txt"
    prepare_corpus(a.corpus, corpus)
    rows: dict[str, list[float]] = {"1 worker": [], f"{a.workers} workers": [], f"{a.workers} x 1-worker processes": []}
    with tempfile.TemporaryDirectory(dir=a.workdir) as tmp:
        for r in range(a.rounds):
            one = run_alone(corpus, Path(tmp), 1, a)
            many = run_alone(corpus, Path(tmp), a.workers, a)
            side = run_side_by_side(corpus, Path(tmp), a)
            for key, value in zip(rows, (one, many, side)):
                rows[key].append(value)
            print(f"round {r + 1}: {one:,.0f} / {many:,.0f} / {side:,.0f} words/s", flush=True)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"\nengine {a.engine}, {a.epochs} epoch(s), median of {a.rounds} rounds (training words/s):")
    for key, value in med.items():
        print(f"  {key:<28} {value:>12,.0f}   {value / med['1 worker']:.2f}x")
    ratios = [m / o for o, m in zip(rows["1 worker"], rows[f"{a.workers} workers"])]
    print(f"per-round {a.workers}-vs-1 ratios: " + ", ".join(f"{x:.2f}" for x in ratios))
    if a.reference_rounds:
        print("\n" + describe(reference(a.workers, a.reference_rounds), a.workers))


if __name__ == "__main__":
    main()
