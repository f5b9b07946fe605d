"""Benchmark w2v against gensim on the same corpus, machine and settings.

    python bench/peer.py ../shared/corpora/wiki100m.txt.xz [--epochs 5] [--workers 2] [--rounds 2]

1. Decompresses the corpus once into WORKDIR/corpus.txt, with lines of at most
   10,000 words (gensim silently truncates longer ones); every system reads it.
2. Runs each system as a whole separate process, in turn, for --rounds rounds:
   `w2v train`, gensim `Word2Vec(corpus_file=...)`, gensim `Word2Vec(LineSentence(...))`,
   all skip-gram (or with --model cbow, CBOW at lr 0.05), negative 5, window 5, dim 100, sample 1e-3,
   min_count 5, lr 0.025, seed 1.
   Each time covers everything: reading, vocabulary, training, writing the text file.
   Peak memory is the process's peak RSS, or its process tree's summed PSS (sampled)
   where that is larger, as with the numpy engine's forked workers.
3. Scores every output with one referee, gensim's evaluate_word_analogies
   (restrict_vocab 30000) and evaluate_word_pairs (wordsim353).
4. Prints one table and the median time ratio gensim corpus_file / w2v.
Needs the bench extra: pip install '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from w2v_cli.corpus import iter_blocks  # noqa: E402

SYSTEMS = ["w2v", "gensim-corpus_file", "gensim-linesentence"]


def prepare_corpus(src: Path, dst: Path, max_words: int = 10_000) -> int:
    """Write `src` (any compression) to `dst` with at most `max_words` words a line; return words.

    Reuses an earlier `dst` only if it was made from the same source file (path, size, mtime).
    """
    st = src.stat()
    key = {"source": str(src.resolve()), "size": st.st_size, "mtime": st.st_mtime, "max_words": max_words}
    meta = dst.with_suffix(".json")
    if dst.exists() and meta.exists():
        saved = json.loads(meta.read_text())
        if saved.get("key") == key:
            return int(saved["words"])
    words = 0
    tmp = dst.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        line: list[bytes] = []
        for block, _ in iter_blocks(src):
            parts = block.split(b"\n")
            for i, part in enumerate(parts):
                for tok in part.split():
                    line.append(tok)
                    if len(line) == max_words:
                        out.write(b" ".join(line) + b"\n")
                        words += len(line)
                        line = []
                if i < len(parts) - 1 and line:
                    out.write(b" ".join(line) + b"\n")
                    words += len(line)
                    line = []
        if line:
            out.write(b" ".join(line) + b"\n")
            words += len(line)
    tmp.replace(dst)
    meta.write_text(json.dumps({"key": key, "words": words}))
    return words


LR = {"skipgram": "0.025", "cbow": "0.05"}  # word2vec.c's defaults, given to both systems


def command(system: str, corpus: Path, out: Path, a) -> tuple[list[str], Path]:
    common = ["--epochs", str(a.epochs), "--workers", str(a.workers)]
    if system == "w2v":
        return [
            sys.executable,
            "-m",
            "w2v_cli",
            "train",
            str(corpus),
            "-o",
            str(out),
            "-q",
            "--dim",
            "100",
            "--window",
            "5",
            "--negative",
            "5",
            "--sample",
            "1e-3",
            "--min-count",
            "5",
            "--lr",
            LR[a.model],
            "--model",
            a.model,
            "--loss",
            a.loss,
            "--seed",
            "1",
            "--engine",
            a.engine,
            *common,
        ], out / "vectors.txt"
    mode = system.split("-", 1)[1]
    out.mkdir(parents=True, exist_ok=True)
    return [
        sys.executable,
        str(HERE / "gensim_train.py"),
        mode,
        str(corpus),
        str(out / "vectors.txt"),
        *common,
        "--model",
        a.model,
        "--lr",
        LR[a.model],
        "--loss",
        a.loss,
    ], out / "vectors.txt"


def tree_pss_mib(pid: int) -> float:
    """Summed PSS of `pid` and all its descendants, in MiB (0 once it has exited; Linux /proc).

    PSS splits each shared page among the processes that map it, so forked workers
    sharing W and C count it once. Example: `tree_pss_mib(os.getpid())` -> about 60.0.
    """
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, ValueError):
            continue
        total += sum(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
    return total / 1024


class TreePeak(threading.Thread):
    """Samples `tree_pss_mib(pid)` every `every` seconds until stopped; `.peak` is the largest.

    Only while `pid` has children: alone, its PSS is below its RSS, which the kernel
    measures exactly. Reading smaps costs CPU, about 1.5% of a core at one read a second.
    """

    def __init__(self, pid: int, every: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak = pid, every, 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        while not self.stopped.wait(self.every):
            try:
                if not children.read_text().strip():
                    continue
            except OSError:
                continue
            self.peak = max(self.peak, tree_pss_mib(self.pid))


def timed(cmd: list[str]) -> tuple[float, float]:
    """Run `cmd`; return (wall seconds, peak memory in MiB).

    Peak memory is the larger of the process's peak RSS (exact, from the kernel) and
    the sampled peak of its process tree's summed PSS, which counts the memory of
    worker processes (the numpy engine forks them) that RSS alone would leave out.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = TreePeak(proc.pid)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    sampler.stopped.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return wall, max(usage.ru_maxrss / 1024, sampler.peak)


def score(vectors: Path, eval_dir: Path) -> tuple[float, float]:
    """(analogy accuracy %, wordsim353 Spearman) by gensim's evaluators."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(str(vectors), binary=False)
    acc, _ = kv.evaluate_word_analogies(str(eval_dir / "questions-words.txt"), restrict_vocab=30000)
    pearson, spearman, oov = kv.evaluate_word_pairs(str(eval_dir / "wordsim353.tsv"))
    return 100 * acc, float(spearman[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--engine", default="auto", choices=["auto", "c", "numpy"])
    ap.add_argument("--model", default="skipgram", choices=["skipgram", "cbow"],
                    help="both systems train this model, at word2vec.c's learning rate for it")  # fmt: skip
    ap.add_argument("--loss", default="neg", choices=["neg", "hs"], help="negative sampling or hierarchical softmax")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of " + ",".join(SYSTEMS))
    ap.add_argument("--workdir", type=Path, default=HERE / ".work")
    ap.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    a = ap.parse_args()
    a.workdir.mkdir(parents=True, exist_ok=True)
    systems = a.systems.split(",")
    words = prepare_corpus(a.corpus, a.workdir / "corpus.txt")
    print(f"corpus: {words:,} words; {os.cpu_count()} cores; {a.model}, {a.loss}, epochs {a.epochs}, "
          f"workers {a.workers}", flush=True)  # fmt: skip
    rows = []
    for r in range(a.rounds):
        for system in systems:
            out = a.workdir / f"{system}-r{r}"
            cmd, vec = command(system, a.workdir / "corpus.txt", out, a)
            wall, rss = timed(cmd)
            acc, rho = score(vec, a.eval_dir)
            rows.append(
                dict(
                    system=system,
                    round=r,
                    seconds=wall,
                    words_per_s=words * a.epochs / wall,
                    peak_rss_mib=rss,
                    analogy=acc,
                    spearman=rho,
                )
            )
            print(
                f"  round {r} {system:<20} {wall:7.1f}s  {rss:7.0f} MiB  analogy {acc:5.1f}%  spearman {rho:.3f}",
                flush=True,
            )
    (a.workdir / "results.json").write_text(json.dumps(rows, indent=2))
    print_table(rows, systems)


def print_table(rows: list[dict], systems: list[str]) -> None:
    med = {
        s: {
            k: statistics.median(r[k] for r in rows if r["system"] == s)
            for k in ("seconds", "words_per_s", "peak_rss_mib", "analogy", "spearman")
        }
        for s in systems
    }
    print(
        f"\n| system (median of {len(rows) // len(systems)} runs) | time s | words/s | peak memory MiB "
        "| analogy % | wordsim353 ρ |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for s in systems:
        m = med[s]
        print(
            f"| {s} | {m['seconds']:.1f} | {m['words_per_s']:,.0f} | {m['peak_rss_mib']:.0f} "
            f"| {m['analogy']:.1f} | {m['spearman']:.3f} |"
        )
    if "w2v" in systems and "gensim-corpus_file" in systems:
        pairs = [
            g["seconds"] / w["seconds"]
            for w, g in zip(
                [r for r in rows if r["system"] == "w2v"], [r for r in rows if r["system"] == "gensim-corpus_file"]
            )
        ]
        print(
            f"\nmedian time ratio gensim corpus_file / w2v: {statistics.median(pairs):.2f} "
            f"(per round: {', '.join(f'{p:.2f}' for p in pairs)})"
        )


if __name__ == "__main__":
    main()
