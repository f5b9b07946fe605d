"""The benchmark's corpus preparation: what gensim and w2v both read."""

import gzip
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from peer import prepare_corpus  # noqa: E402


def test_prepared_lines_hold_at_most_max_words_and_keep_every_word(tmp_path):
    src = tmp_path / "src.txt.gz"
    text = " ".join(f"w{i}" for i in range(25)) + "\nshort line\n" + " ".join("x" * 3 for _ in range(7))
    src.write_bytes(gzip.compress(text.encode()))
    dst = tmp_path / "corpus.txt"
    assert prepare_corpus(src, dst, max_words=10) == 25 + 2 + 7
    lines = dst.read_text().splitlines()
    assert [len(line.split()) for line in lines] == [10, 10, 5, 2, 7]
    assert " ".join(lines).split() == text.split()


def test_preparation_is_reused_only_for_the_same_source(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("a b c\n")
    dst = tmp_path / "corpus.txt"
    prepare_corpus(src, dst)
    dst.write_text("marker\n")  # a reused file keeps the marker
    assert prepare_corpus(src, dst) == 3 and dst.read_text() == "marker\n"
    src.write_text("a b c d e\n")  # a changed source is prepared again
    assert prepare_corpus(src, dst) == 5 and dst.read_text() == "a b c d e\n"
