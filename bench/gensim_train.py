"""Train gensim Word2Vec as the benchmark peer and write the word2vec text format.

Run by bench/peer.py as its own process so that its time and peak RSS are its own.
"""

import argparse

from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["corpus_file", "linesentence"])
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--model", default="skipgram", choices=["skipgram", "cbow"])
    ap.add_argument("--lr", type=float, default=0.025)
    ap.add_argument("--loss", default="neg", choices=["neg", "hs"])
    a = ap.parse_args()
    common = dict(
        sg=int(a.model == "skipgram"),
        hs=int(a.loss == "hs"),
        negative=5 if a.loss == "neg" else 0,
        window=5,
        vector_size=100,
        sample=1e-3,
        min_count=5,
        alpha=a.lr,
        epochs=a.epochs,
        workers=a.workers,
        seed=1,
    )
    if a.mode == "corpus_file":
        model = Word2Vec(corpus_file=a.corpus, **common)
    else:
        model = Word2Vec(LineSentence(a.corpus), **common)
    model.wv.save_word2vec_format(a.out, binary=False)


if __name__ == "__main__":
    main()
