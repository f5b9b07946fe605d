"""Raw text through the CLI: Unicode whitespace, normalisation, vocabulary files, dry runs, preflight errors."""

import json
import sys

import numpy as np
import pytest
import yaml
from conftest import write

from w2v_cli.cli import main
from w2v_cli.files import load_vectors

SPACES = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]


def train(runner, corpus, out, *extra):
    args = ["train", str(corpus), "-o", str(out), "--dim", "8", "--epochs", "1", "--min-count", "1", "-q", *extra]
    return runner.invoke(main, args)


def test_a_corpus_with_every_unicode_whitespace_trains_and_gensim_reads_both_files(runner, tmp_path):
    from gensim.models import KeyedVectors

    lines = [f"Champions{s}{s}league{s}w{i} ok" for i, s in enumerate(SPACES)]
    corpus = write(tmp_path / "raw.txt", "\n".join(lines * 3) + "\n")
    result = train(runner, corpus, tmp_path / "out")
    assert result.exit_code == 0, result.output
    expected = {"Champions", "league", "ok"} | {f"w{i}" for i in range(len(SPACES))}
    assert set(load_vectors(tmp_path / "out").words) == expected
    for name, binary in (("vectors.txt", False), ("vectors.bin", True)):
        kv = KeyedVectors.load_word2vec_format(str(tmp_path / "out" / name), binary=binary)
        assert set(kv.index_to_key) == expected


@pytest.fixture(scope="module")
def normalised(tmp_path_factory):
    from click.testing import CliRunner

    tmp = tmp_path_factory.mktemp("normalised")
    text = '"Hello, world." The cat sat (on) the MAT. Éire ΣΟΦΙΑ -- ...\n' * 20
    corpus = write(tmp / "raw.txt", text)
    result = train(CliRunner(), corpus, tmp / "out", "--lowercase", "--strip-punctuation")
    assert result.exit_code == 0, result.output
    return tmp / "out"


def test_lowercase_and_strip_punctuation_shape_the_vocabulary(normalised):
    words = set(load_vectors(normalised).words)
    assert words == {"hello", "world", "the", "cat", "sat", "on", "mat", "éire", "σοφια"}
    config = yaml.safe_load((normalised / "config.yaml").read_text())
    assert config["lowercase"] is True and config["strip_punctuation"] is True
    metrics = json.loads((normalised / "metrics.json").read_text())
    assert metrics["corpus_words"] == 20 * 10  # "--" and "..." are dropped


def test_queries_are_normalised_as_the_corpus_was(runner, normalised, tmp_path):
    result = runner.invoke(main, ["similar", str(normalised), "(CAT),", "-k", "3"])
    assert result.exit_code == 0, result.output
    assert "mat" in result.output or "sat" in result.output
    pairs = write(tmp_path / "pairs.txt", "Cat Mat. 5\nThe, HELLO 1\nunknown cat 2\n")
    result = runner.invoke(main, ["evaluate", str(normalised), "-s", str(pairs), "--json"])
    assert json.loads(result.output)["similarity"][0]["used"] == 2


def test_a_query_on_an_unnormalised_model_gets_a_case_hint(runner, tmp_path):
    corpus = write(tmp_path / "c.txt", "Jesus said so . Jesus went\n" * 5)
    assert train(runner, corpus, tmp_path / "out").exit_code == 0
    result = runner.invoke(main, ["similar", str(tmp_path / "out"), "jesus"])
    assert result.exit_code == 1 and "did you mean 'Jesus'" in result.output


def test_vocab_file_round_trip_trains_with_its_words_and_counts(runner, tmp_path, small_corpus):
    vocab = tmp_path / "vocab.txt"
    result = runner.invoke(main, ["vocab", str(small_corpus), "-o", str(vocab), "--min-count", "3", "-q"])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in vocab.read_text().splitlines()]
    counts = [int(c) for _, c in rows]
    assert counts == sorted(counts, reverse=True) and min(counts) >= 3
    # a shared vocabulary: another run with the same words and counts, one count edited
    rows[0][1] = str(counts[0] * 10)
    vocab.write_text("</s> 99\n" + "".join(f"{w} {c}\n" for w, c in rows))
    result = train(runner, small_corpus, tmp_path / "out", "--vocab", str(vocab))
    assert result.exit_code == 0, result.output
    vecs = load_vectors(tmp_path / "out" / "model.w2v")
    assert vecs.words == [w for w, _ in rows] and vecs.counts.tolist() == [int(c) for _, c in rows]
    assert vecs.metrics["train_words"] == sum(counts)  # the schedule counts what the corpus holds


@pytest.mark.parametrize(
    "text, needle",
    [
        ("the 10\ncat x\n", "line 2 is not 'word count'"),
        ("the 10\nthe 3\n", "repeats the word 'the'"),
        ("The 10\n", "is not as the tokenisation options leave words"),
        ("\n\n", "holds no 'word count' lines"),
    ],
)
def test_bad_vocabulary_files_are_one_line_errors(runner, tmp_path, small_corpus, text, needle):
    vocab = write(tmp_path / "v.txt", text)
    result = train(runner, small_corpus, tmp_path / "out", "--vocab", str(vocab), "--lowercase")
    assert result.exit_code == 1 and needle in result.stderr and "Traceback" not in result.output


def test_dry_run_reports_needs_and_writes_nothing(runner, tmp_path, small_corpus):
    out = tmp_path / "not" / "yet"
    result = runner.invoke(main, ["train", str(small_corpus), "-o", str(out), "--dry-run", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "vocabulary:" in result.output and "memory:" in result.output and "disk:" in result.output
    assert "training: about" in result.output and "words/s (measured here" in result.output
    assert not (tmp_path / "not").exists()


def test_a_model_too_big_for_memory_fails_before_training(runner, tmp_path, small_corpus, monkeypatch):
    """--dim 50M on a small corpus's vocabulary is a model of hundreds of GB: refused with the numbers."""
    from w2v_cli import pipeline

    monkeypatch.setattr(pipeline, "train_epochs", lambda *a, **k: pytest.fail("training started"))
    result = runner.invoke(main, ["train", str(small_corpus), "-o", str(tmp_path / "o"), "--dim", "50000000", "-q"])
    assert result.exit_code == 1 and "the model needs" in result.stderr and "lower --dim" in result.stderr
    assert list((tmp_path / "o").iterdir()) == []
    dry = runner.invoke(main, ["train", str(small_corpus), "-o", str(tmp_path / "o"), "--dim", "50000000", "--dry-run"])
    assert dry.exit_code == 1 and "the model needs" in dry.stderr and "memory:" in dry.output


@pytest.mark.parametrize("value, needle", [("lots", "must be a size"), ("1M", "at least 64M"), ("9000T", "more than")])
def test_bad_vocab_memory_is_one_line(runner, tmp_path, small_corpus, value, needle):
    result = train(runner, small_corpus, tmp_path / "o", "--vocab-memory", value)
    assert result.exit_code == 1 and needle in result.stderr


def test_yaml_sets_the_tokenisation_flags(runner, tmp_path):
    corpus = write(tmp_path / "c.txt", "The Cat. the cat\n" * 5)
    config = write(tmp_path / "c.yaml", f"corpus: {corpus}\nlowercase: true\nstrip_punctuation: true\nmin_count: 1\n")
    result = runner.invoke(main, ["train", "-c", str(config), "-o", str(tmp_path / "o"), "--dim", "4", "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(load_vectors(tmp_path / "o").words) == ["cat", "the"]
    bad = write(tmp_path / "bad.yaml", f"corpus: {corpus}\nlowercase: yes please\n")
    result = runner.invoke(main, ["train", "-c", str(bad), "-q"])
    assert result.exit_code == 1 and "'lowercase' must be true or false" in result.stderr


def test_invalid_utf8_never_reaches_the_vector_files(runner, tmp_path):
    corpus = write(tmp_path / "c.txt", b"caf\xe9 caf\xff ok \xc2 ok\n" * 5)
    assert train(runner, corpus, tmp_path / "out").exit_code == 0
    words = load_vectors(tmp_path / "out" / "vectors.txt").words
    assert sorted(words) == ["caf\ufffd", "ok", "\ufffd"]
    assert np.all(np.isfinite(load_vectors(tmp_path / "out").matrix))


def test_the_python_api_normalises_queries_like_the_cli(tmp_path):
    import w2v_cli

    corpus = write(tmp_path / "c.txt", "The Cat sat. The cat, SAT\n" * 20)
    vecs = w2v_cli.train(str(corpus), dim=4, epochs=1, min_count=1, lowercase=True, strip_punctuation=True)
    assert sorted(vecs.words) == ["cat", "sat", "the"]
    assert vecs.most_similar("CAT.", k=1)[0][0] in ("sat", "the")
    assert np.array_equal(vecs["Sat"], vecs["sat"])
