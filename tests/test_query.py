import numpy as np
import pytest

from w2v_cli.errors import W2VError
from w2v_cli.query import Searcher, parse_query
from w2v_cli.vectors import Vectors


@pytest.mark.parametrize(
    "line, expected",
    [
        ("king - man + woman", (["king", "woman"], ["man"])),
        ("france", (["france"], [])),
        ("a b -c", (["a", "b"], ["c"])),
        ("- x y", (["y"], ["x"])),
    ],
)
def test_parse_query(line, expected):
    assert parse_query(line) == expected


def searcher():
    words = ["king", "queen", "man", "woman", "apple"]
    M = np.array([[1, 1, 0], [1, -1, 0], [0, 1, 0.1], [0, -1, 0.1], [0, 0, 1]], np.float32)
    return Searcher(Vectors(words, M))


def test_neighbours_exclude_query_words_and_are_sorted():
    res = searcher().most_similar(["king"], k=4)
    assert [w for w, _ in res][0] == "man" and "king" not in [w for w, _ in res]
    scores = [s for _, s in res]
    assert scores == sorted(scores, reverse=True)
    assert res[0][1] == pytest.approx(1 / np.sqrt(2) / np.sqrt(1.01), rel=1e-5)


def test_analogy_king_minus_man_plus_woman():
    assert searcher().most_similar(["king", "woman"], ["man"], k=1)[0][0] == "queen"


def test_unknown_words_are_named_with_a_hint():
    with pytest.raises(W2VError, match=r"unknown words: 'nope', 'King' \(did you mean 'king'\?\)"):
        searcher().most_similar(["nope", "King"])
