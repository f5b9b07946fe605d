"""Vector quality on raw text: w2v with and without its normalisation, next to gensim.

    python bench/rawtext.py ../shared/corpora/wikiraw-5m.txt.xz [--epochs 5] [--workers 2]

1. Decompresses the raw corpus into WORKDIR/raw.txt, and writes WORKDIR/simple.txt:
   each line as gensim's `simple_preprocess` tokenises it (lower case, alphabetic
   tokens of 2-15 characters), the cleaning gensim users usually apply.
2. Trains, each as its own process, with bench/peer.py's settings (skip-gram,
   negative 5, window 5, dim 100, sample 1e-3, min_count 5, lr 0.025, seed 1):
   w2v on the raw text, w2v --lowercase --strip-punctuation on the raw text,
   gensim LineSentence on the raw text, gensim LineSentence and w2v on simple.txt.
3. Scores each with gensim's evaluate_word_analogies (restrict_vocab 30000) and
   evaluate_word_pairs (wordsim353), as bench/peer.py does, and prints one table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from peer import score, timed  # noqa: E402

from w2v_cli.corpus import iter_blocks  # noqa: E402

W2V_SETTINGS = ["--dim", "100", "--window", "5", "--negative", "5", "--sample", "1e-3", "--min-count", "5"]


def prepare(src: Path, workdir: Path) -> tuple[Path, Path]:
    """WORKDIR/raw.txt (the text as it is) and WORKDIR/simple.txt (simple_preprocess per line)."""
    from gensim.utils import simple_preprocess

    raw, simple = workdir / "raw.txt", workdir / "simple.txt"
    if raw.exists() and simple.exists():
        return raw, simple
    workdir.mkdir(parents=True, exist_ok=True)
    with open(raw, "wb") as r, open(simple, "w", encoding="utf-8") as s:
        for block, _ in iter_blocks(src):
            r.write(block)
            for line in block.decode("utf-8", "replace").splitlines():
                s.write(" ".join(simple_preprocess(line)) + "\n")
    return raw, simple


def runs(raw: Path, simple: Path, workdir: Path, a) -> list[tuple[str, list[str], Path]]:
    """(name, command, vectors.txt) for every system."""
    common = ["--epochs", str(a.epochs), "--workers", str(a.workers)]

    def w2v(name: str, corpus: Path, *extra: str):
        out = workdir / name
        cmd = [sys.executable, "-m", "w2v_cli", "train", str(corpus), "-o", str(out), "-q", *W2V_SETTINGS, *common]
        return name, cmd + list(extra), out / "vectors.txt"

    def gensim(name: str, corpus: Path):
        out = workdir / name
        out.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, str(HERE / "gensim_train.py"), "linesentence", str(corpus), str(out / "vectors.txt")]
        return name, cmd + common, out / "vectors.txt"

    return [
        w2v("w2v raw", raw),
        w2v("w2v raw --lowercase --strip-punctuation", raw, "--lowercase", "--strip-punctuation"),
        gensim("gensim LineSentence raw", raw),
        gensim("gensim LineSentence simple_preprocess", simple),
        w2v("w2v simple_preprocess", simple),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=HERE / ".work-raw")
    ap.add_argument("--eval-dir", type=Path, default=HERE.parent.parent / "shared" / "eval")
    a = ap.parse_args()
    raw, simple = prepare(a.corpus, a.workdir)
    print("| system | time (s) | peak MiB | vocabulary | analogy % | wordsim353 |\n|---|---|---|---|---|---|")
    for name, cmd, vectors in runs(raw, simple, a.workdir, a):
        wall, peak = timed(cmd)
        analogy, ws = score(vectors, a.eval_dir)
        vocab = int(vectors.open().readline().split()[0])
        print(f"| {name} | {wall:.1f} | {peak:.0f} | {vocab:,} | {analogy:.1f} | {ws:.3f} |", flush=True)


if __name__ == "__main__":
    main()
