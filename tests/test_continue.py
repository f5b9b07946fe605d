"""Continued training (--init-from): old words keep their vectors, new words join, both relations survive."""

import pytest
from conftest import write

from w2v_cli.cli import main
from w2v_cli.evaluate import evaluate_analogies
from w2v_cli.files import load_vectors
from w2v_cli.synthetic import analogies, generate

SETTINGS = ["--dim", "40", "--epochs", "8", "--workers", "1", "-q"]


def accuracy(model, questions, section: str) -> float | None:
    report = evaluate_analogies(load_vectors(model), questions, restrict_vocab=0)
    return next(s["accuracy"] for s in report["sections"] if s["section"] == section)


@pytest.fixture(scope="module")
def capitals_model(tmp_path_factory):
    from click.testing import CliRunner

    tmp = tmp_path_factory.mktemp("continue")
    corpus = write(tmp / "capitals.txt", generate(12_000, seed=1, families=("capital-world",)))
    result = CliRunner().invoke(main, ["train", str(corpus), "-o", str(tmp / "a"), *SETTINGS])
    assert result.exit_code == 0, result.output
    return tmp


def test_a_model_continued_on_another_relation_answers_both(runner, capitals_model):
    tmp = capitals_model
    questions = write(tmp / "q.txt", analogies())
    family = write(tmp / "family.txt", generate(12_000, seed=2, families=("family",)))
    assert accuracy(tmp / "a", questions, "capital-world") > 0.6
    result = runner.invoke(main, ["train", str(family), "-o", str(tmp / "b"), "--init-from", str(tmp / "a"), *SETTINGS])
    assert result.exit_code == 0, result.output
    assert accuracy(tmp / "b", questions, "capital-world") > 0.6  # kept
    assert accuracy(tmp / "b", questions, "family") > 0.6  # learnt
    old, new = load_vectors(tmp / "a"), load_vectors(tmp / "b")
    assert set(old.words) <= set(new.words) and "queen" in new.words and "queen" not in old.words
    # counts add up: "the" is in both corpora
    assert new.counts[new.index["the"]] > old.counts[old.index["the"]]
    assert new.counts[new.index["paris"]] == old.counts[old.index["paris"]]  # not in the second corpus


@pytest.mark.parametrize("args, needle", [(["--dim", "41"], "pass --dim 40"), (["--lowercase"], "lowercase=False")])
def test_init_from_mismatches_are_one_line(runner, capitals_model, small_corpus, args, needle):
    tmp = capitals_model
    cmd = ["train", str(small_corpus), "-o", str(tmp / "x"), "--init-from", str(tmp / "a"), "--epochs", "1", "-q"]
    result = runner.invoke(main, cmd + (args if "--dim" in args else ["--dim", "40", *args]))
    assert result.exit_code == 1 and needle in result.stderr


def test_init_from_needs_output_vectors(runner, capitals_model, small_corpus):
    tmp = capitals_model
    cmd = ["train", str(small_corpus), "-o", str(tmp / "y"), "--init-from", str(tmp / "a" / "vectors.bin"), "-q"]
    result = runner.invoke(main, cmd + ["--dim", "40"])
    assert result.exit_code == 1 and "needs a model.w2v with output vectors" in result.stderr
