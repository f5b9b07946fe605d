"""The Python API: train and load give Vectors that answer queries and save themselves."""

import numpy as np
import pytest
from conftest import DEFAULT_DIR

import w2v_cli
from w2v_cli.errors import W2VError


@pytest.fixture(scope="module")
def trained():
    return w2v_cli.train(DEFAULT_DIR / "default.txt", dim=30, epochs=4, workers=1, seed=2)


def test_train_takes_config_keys_and_returns_vectors_that_answer_queries(trained):
    assert trained.dim == 30 and "paris" in trained and len(trained) == len(trained.words)
    assert trained.metrics["epochs"] == 4 and trained.output.shape == trained.matrix.shape
    assert trained.analogy("man", "king", "woman", k=1)[0][0] == "queen"
    assert trained.most_similar(["paris", "germany"], ["france"], k=1)[0][0] == "berlin"
    assert np.array_equal(trained["paris"], trained.matrix[trained.words.index("paris")])


def test_train_without_output_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w2v_cli.train(DEFAULT_DIR / "default.txt", dim=8, epochs=1, workers=1)
    assert list(tmp_path.iterdir()) == []


def test_train_with_output_writes_the_run_and_load_reads_it_back(tmp_path):
    vecs = w2v_cli.train([str(DEFAULT_DIR / "default.txt")], output=str(tmp_path / "run"), dim=8, epochs=1)
    back = w2v_cli.load(tmp_path / "run")
    assert back.words == vecs.words and np.array_equal(back.matrix, vecs.matrix)
    assert back.meta["config"]["dim"] == 8


@pytest.mark.parametrize("name", ["v.txt", "v.bin", "v.w2v", "v.tsv"])
def test_save_and_load_round_trip(trained, tmp_path, name):
    trained.save(tmp_path / name)
    back = w2v_cli.load(tmp_path / name)
    assert back.words == trained.words
    assert np.allclose(back.matrix, trained.matrix, rtol=1e-6, atol=1e-7)


def test_unknown_settings_and_words_are_clear_errors(trained):
    with pytest.raises(W2VError, match="unknown setting 'dimension'"):
        w2v_cli.train(DEFAULT_DIR / "default.txt", dimension=3)
    with pytest.raises(W2VError, match="unknown word: 'atlantis'"):
        trained.vector("atlantis")


@pytest.mark.parametrize(
    "words, query, hint",
    [(["Jesus", "christ"], "jesus", "Jesus"), (["jesus", "christ"], "Jesus", "jesus"), (["USA", "x"], "usa", "USA")],
)
def test_unknown_word_hint_works_in_both_directions_of_case(words, query, hint):
    vecs = w2v_cli.Vectors(words, np.eye(2, dtype=np.float32))
    with pytest.raises(W2VError, match=f"did you mean '{hint}'"):
        vecs.most_similar(query)
