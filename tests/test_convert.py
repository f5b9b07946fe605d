import numpy as np
import pytest
from conftest import write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from w2v_cli.errors import W2VError
from w2v_cli.files import convert, load_vectors, model_info, save_model
from w2v_cli.formats import read_native, read_tsv
from w2v_cli.vectors import Vectors


@pytest.mark.parametrize("source", ["model.w2v", "."])
def test_native_round_trip_is_exact_and_keeps_everything(default_model, tmp_path, source):
    out = convert(default_model / source, tmp_path / "copy.w2v")[0]
    a, b = read_native(default_model / "model.w2v"), read_native(out)
    assert a.words == b.words and np.array_equal(a.matrix, b.matrix) and np.array_equal(a.output, b.output)
    assert np.array_equal(a.counts, b.counts) and a.meta == b.meta


@pytest.mark.parametrize(
    "name, to",
    [("v.txt", None), ("v.vec", None), ("v.bin", None), ("tsvdir", "tsv"), ("vectors.tsv", None), ("weird.dat", "bin")],
)
def test_every_format_round_trips(default_model, tmp_path, name, to):
    src = load_vectors(default_model)
    out = tmp_path / name
    convert(default_model, out, to)
    back = read_tsv(out) if (to == "tsv" or name.endswith(".tsv")) else load_vectors(out)
    assert back.words == src.words
    assert np.allclose(back.matrix, src.matrix, rtol=1e-6, atol=1e-7)
    assert convert(out, tmp_path / "again.w2v")  # and back to native


def test_unknown_output_extension_is_an_error(default_model, tmp_path):
    with pytest.raises(W2VError, match="use --to"):
        convert(default_model, tmp_path / "x.dat")
    assert list(tmp_path.iterdir()) == []


def test_tsv_with_mismatched_metadata_is_an_error(tmp_path):
    write(tmp_path / "vectors.tsv", "1\t2\n3\t4\n")
    write(tmp_path / "metadata.tsv", "a\n")
    with pytest.raises(W2VError, match="1 words but"):
        read_tsv(tmp_path)


WORD = st.text(st.characters(exclude_categories=("Zs", "Zl", "Zp", "Cc", "Cs")), min_size=1, max_size=10).filter(
    lambda w: not any(c.isspace() for c in w)
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(WORD, min_size=1, max_size=15, unique=True), seed=st.integers(0, 2**32 - 1))
def test_round_trips_with_generated_vocabularies(tmp_path, words, seed):
    M = np.random.default_rng(seed).normal(size=(len(words), 3)).astype(np.float32)
    save_model(tmp_path, Vectors(words, M))
    for name in ["a.txt", "a.bin", "a.w2v", "a.tsv"]:
        convert(tmp_path / "model.w2v", tmp_path / name)
        back = read_tsv(tmp_path / name) if name.endswith(".tsv") else load_vectors(tmp_path / name)
        assert back.words == words
        exact = name.endswith((".bin", ".w2v"))
        assert np.array_equal(back.matrix, M) if exact else np.allclose(back.matrix, M, rtol=1e-6, atol=1e-7)


def test_info_of_native_and_word2vec_files(default_model):
    info = model_info(default_model)
    assert info["vocab_size"] > 100 and info["dim"] == 50 and info["has_output_matrix"]
    corpus = info["config"]["corpus"][0]
    assert info["config"]["epochs"] == 10 and info["metrics"]["corpus_words"] == len(open(corpus, "rb").read().split())
    plain = model_info(default_model / "vectors.txt")
    assert plain["vocab_size"] == info["vocab_size"] and "metrics" not in plain
