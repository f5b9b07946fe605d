import numpy as np
import pytest
from conftest import needs_kernel, write

from w2v_cli import files as vio
from w2v_cli import formats, native
from w2v_cli.errors import W2VError
from w2v_cli.vectors import Vectors

WORDS = ["the", "café", "naïve", "東京", "x"]


def matrix(seed=0, shape=(5, 4)):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def save(tmp_path, M, words=WORDS):
    counts = np.arange(len(words), 0, -1)
    meta = {"config": {"dim": M.shape[1]}, "metrics": {"epochs": 1}}
    return vio.save_model(tmp_path, Vectors(words, M, counts, meta, -M))


def test_all_formats_round_trip(tmp_path):
    M = matrix()
    save(tmp_path, M)
    native = formats.read_native(tmp_path / "model.w2v")
    assert native.words == WORDS and np.array_equal(native.matrix, M) and np.array_equal(native.output, -M)
    assert native.counts.tolist() == [5, 4, 3, 2, 1] and native.meta["config"] == {"dim": 4}
    binary = vio.load_vectors(tmp_path / "vectors.bin")
    assert binary.words == WORDS and np.array_equal(binary.matrix, M)
    text = vio.load_vectors(tmp_path / "vectors.txt")
    assert text.words == WORDS and np.allclose(text.matrix, M, rtol=1e-6, atol=1e-7)
    assert vio.load_vectors(tmp_path).words == WORDS  # a directory loads its model.w2v


def test_gensim_loads_text_and_binary(tmp_path):
    gensim = pytest.importorskip("gensim")
    M = matrix(1)
    save(tmp_path, M)
    KV = gensim.models.KeyedVectors
    for name, binary in [("vectors.txt", False), ("vectors.bin", True)]:
        kv = KV.load_word2vec_format(str(tmp_path / name), binary=binary)
        assert list(kv.index_to_key) == WORDS
        assert np.allclose(kv["東京"], M[3], rtol=1e-6)


def test_reads_files_written_by_gensim(tmp_path):
    gensim = pytest.importorskip("gensim")
    kv = gensim.models.KeyedVectors(3)
    kv.add_vectors(["a", "b", "ü"], matrix(2, (3, 3)))
    for name, binary in [("g.txt", False), ("g.bin", True)]:
        kv.save_word2vec_format(str(tmp_path / name), binary=binary)
        loaded = vio.load_vectors(tmp_path / name)
        assert loaded.words == ["a", "b", "ü"] and np.allclose(loaded.matrix, kv.vectors, atol=1e-6)


def test_binary_word_cut_mid_character_is_decoded_leniently(tmp_path):
    vec = np.ones(2, "<f4").tobytes()
    data = b"2 2\n" + "東".encode()[:2] + b" " + vec + b"\nok " + vec + b"\n"
    v = vio.load_vectors(write(tmp_path / "cut.bin", data))
    assert v.words == ["\ufffd", "ok"]


def test_fasttext_vec_with_trailing_spaces_and_headerless_glove(tmp_path):
    v = vio.load_vectors(write(tmp_path / "a.vec", "2 2\nfoo 1 2 \nbar 3 4 \n"))
    assert v.words == ["foo", "bar"] and v.matrix.tolist() == [[1, 2], [3, 4]]
    g = vio.load_vectors(write(tmp_path / "g.txt", "foo 1 2\nbar 3 4\n"))
    assert g.words == ["foo", "bar"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("hello world this is text\n", "not a word2vec"),
        ("3 2\nfoo 1 2\n", "header says 3 words"),
        (b"2 4\nfoo \x00\x00", "truncated"),
        (b"W2VMODEL\xff\xff", "not a w2v native"),
    ],
)
def test_files_that_are_not_models_give_clear_errors(tmp_path, content, message):
    with pytest.raises(W2VError, match=message):
        vio.load_vectors(write(tmp_path / "bad.bin", content))


def test_failed_save_keeps_the_earlier_output_and_leaves_no_temp_files(tmp_path, monkeypatch):
    save(tmp_path, matrix(0))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vio, "write_native", boom)
    with pytest.raises(W2VError, match="No space left"):
        save(tmp_path, matrix(1))
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before


def test_words_with_whitespace_cannot_be_written(tmp_path):
    with pytest.raises(W2VError, match="whitespace"):
        save(tmp_path, matrix(0, (2, 2)), ["a b", "c"])


@pytest.mark.parametrize(
    "words, bad",
    [
        (["a", "b"], None),
        (["a", " b"], " b"),
        (["a", ""], ""),
        (["a\u00a0b"], "a\u00a0b"),
        ([], None),
        (["x", "y\tz"], "y\tz"),
    ],
)
def test_unholdable_finds_the_first_empty_or_whitespace_word(words, bad):
    assert formats.unholdable(words) == bad


def tricky_values(rng) -> np.ndarray:
    """Every kind of float the text format meets: float32 bit patterns, ties at the 7th digit, edges."""
    bits = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    ties = (rng.integers(10**6, 10**7, 100_000) + 0.5) * 10.0 ** rng.integers(-12, 12, 100_000)
    wide = rng.normal(size=100_000) * 10.0 ** rng.integers(-40, 40, 100_000)
    edges = [0.0, -0.0, 1e-15, 1e15, 9999999.5, 0.00001, 0.0001, 99999995.0, 1e-45, 3.4e38, np.inf, -np.inf, np.nan]
    edges += [np.nextafter(10.0**e, s) for e in range(-16, 17) for s in (0, np.inf)]
    return np.concatenate([bits.astype(np.float64), ties, wide, np.array(edges, np.float64)])


@needs_kernel
def test_the_compiled_text_rows_are_python_s_byte_for_byte():
    values = tricky_values(np.random.default_rng(3))
    M = np.resize(values, (values.size // 50 + 1, 50))
    words = [f"w{i}é".encode() for i in range(M.shape[0])]
    out = np.empty(native.text_bound(words, M.shape[1]), np.uint8)
    assert bytes(native.format_text(words, M, out)) == formats.text_rows(words, M)
    assert formats.text_rows([b"a"], np.array([[np.nan, -np.inf, -0.0]])) == b"a nan -inf -0\n"


def test_text_files_are_the_same_with_and_without_the_kernel(tmp_path, monkeypatch):
    M = np.random.default_rng(0).normal(size=(3000, 7)).astype(np.float32)
    words = [f"w{i}" for i in range(3000)]
    vio.save_vectors(Vectors(words, M), tmp_path / "a.txt")
    monkeypatch.setattr(native, "load", lambda: None)
    vio.save_vectors(Vectors(words, M), tmp_path / "b.txt")
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()
