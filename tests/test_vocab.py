import tracemalloc

import numpy as np
import pytest
from conftest import needs_kernel, write

from w2v_cli import native
from w2v_cli.scan import IdFile, ScanResult, scan_corpus
from w2v_cli.scanners import PyScanner, ScanOptions, make_scanner
from w2v_cli.vocab import build_vocab, end_cut, iter_segments, map_ids

SCANNERS = ["python", pytest.param("c", marks=needs_kernel)]


def scan_text(tmp_path, text, engine="python", max_sentence=10_000):
    """(scan, the id stream as a list)."""
    path = write(tmp_path / "c.txt", text)
    ids = IdFile(tmp_path)
    scan = scan_corpus([path], ids, ScanOptions(max_sentence, scanner=engine))
    return scan, ids.read(0, 1 << 20).tolist()


def result(words: list[bytes], counts: list[int]) -> ScanResult:
    """A ScanResult as a scan of these words would give."""
    valid = np.array([_ok(w) for w in words])
    return ScanResult(np.array(counts), sum(counts), 1, 0, lambda ids: [words[i] for i in ids.tolist()], valid)


def _ok(raw: bytes) -> bool:
    try:
        raw.decode()
        return True
    except UnicodeDecodeError:
        return False


@needs_kernel
def test_auto_scanner_is_the_compiled_one_whenever_the_kernel_is_installed(monkeypatch):
    """The numpy engine scans with C too when it can: same ids, 5x faster."""
    from w2v_cli import native
    from w2v_cli.scanners import CScanner

    assert isinstance(make_scanner(ScanOptions()), CScanner)
    monkeypatch.setattr(native, "available", lambda: False)
    assert isinstance(make_scanner(ScanOptions()), PyScanner)
    assert isinstance(make_scanner(ScanOptions(scanner="python")), PyScanner)


@pytest.mark.parametrize("engine", SCANNERS)
def test_scan_counts_and_sentence_ends(tmp_path, engine):
    scan, ids = scan_text(tmp_path, "a b a\n\nc a\tb\r\nd", engine)
    assert scan.words == [b"a", b"b", b"c", b"d"]
    assert scan.counts.tolist() == [3, 2, 1, 1]
    assert scan.tokens == 7
    assert ids == [0, 1, 0, -1, 2, 0, 1, -1, 3, -1]


@pytest.mark.parametrize("engine", SCANNERS)
def test_long_lines_split_every_max_sentence_tokens(tmp_path, engine):
    _, ids = scan_text(tmp_path, "x " * 7 + "\n" + "y " * 3, engine, max_sentence=3)
    assert ids == [0, 0, 0, -1, 0, 0, 0, -1, 0, -1, 1, 1, 1, -1]


def test_compiled_scanner_matches_python_scanner_on_random_text(tmp_path):
    from w2v_cli.scanners import CScanner

    rng = np.random.default_rng(0)
    alphabet = np.array(list(b"ab \n\tc\xc3\xa9"), np.uint8)
    data = rng.choice(alphabet, 20_000).tobytes()
    py, nb = PyScanner(ScanOptions(5)), CScanner(ScanOptions(5))
    for start in range(0, len(data), 777):
        block = data[start : start + 777]
        assert np.array_equal(py.feed(block), nb.feed(block))
    assert py.words == nb.words and np.array_equal(py.counts, nb.counts)


def test_build_vocab_prunes_sorts_and_caps():
    scan = result([b"b", b"a", b"c", b"d"], [5, 5, 9, 1])
    vocab, mapping, bad = build_vocab(scan, min_count=2, max_vocab=0)
    assert vocab.words == ["c", "a", "b"]  # by count, ties by word
    assert mapping.tolist() == [2, 1, 0, -2]
    vocab, mapping, _ = build_vocab(scan, min_count=1, max_vocab=2)
    assert vocab.words == ["c", "a"] and mapping.tolist() == [-2, 1, 0, -2]


def test_invalid_utf8_is_replaced_counted_and_merged():
    scan = result([b"caf\xe9", b"caf\xff", b"ok"], [2, 3, 1])
    vocab, mapping, bad = build_vocab(scan, min_count=1, max_vocab=0)
    assert vocab.words == ["caf\ufffd", "ok"] and vocab.counts.tolist() == [5, 1]
    assert bad == 5 and mapping.tolist() == [0, 0, 1]
    # each invalid form is below min_count 4, together they pass it
    vocab, mapping, _ = build_vocab(scan, min_count=4, max_vocab=0)
    assert vocab.words == ["caf\ufffd"] and mapping.tolist() == [0, 0, -2]


@pytest.mark.parametrize("min_count, max_vocab", [(1, 0), (3, 0), (3, 5), (40, 0)])
def test_build_vocab_matches_a_plain_count_of_decoded_words(min_count, max_vocab):
    """Random words, some invalid UTF-8 and some with a real U+FFFD, against collections.Counter."""
    from collections import Counter

    rng = np.random.default_rng(7)
    pieces = [b"a", b"b", "\ufffd".encode(), b"\xff", b"\xc3", "\u00e9".encode()]
    words = sorted({b"".join(rng.choice(pieces, rng.integers(1, 4))) for _ in range(300)})
    counts = rng.integers(1, 60, len(words)).tolist()
    vocab, mapping, bad = build_vocab(result(words, counts), min_count, max_vocab)
    total = Counter()
    for w, c in zip(words, counts):
        total[w.decode("utf-8", "replace")] += c
    expected = sorted((w for w, c in total.items() if c >= min_count), key=lambda w: (-total[w], w))
    expected = expected[:max_vocab] if max_vocab else expected
    assert vocab.words == expected and vocab.counts.tolist() == [total[w] for w in expected]
    index = {w: i for i, w in enumerate(expected)}
    assert mapping.tolist() == [index.get(w.decode("utf-8", "replace"), -2) for w in words]
    assert bad == sum(c * (w.decode("utf-8", "replace").count("\ufffd") - w.count("\ufffd".encode()))
                      for w, c in zip(words, counts))  # fmt: skip


def without_kernel(monkeypatch, compiled: bool) -> None:
    """With compiled False, the numpy fallbacks run even where the kernel is installed."""
    if not compiled:
        monkeypatch.setattr(native, "available", lambda: False)


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=needs_kernel)])
def test_segments_drop_oov_and_end_at_sentence_ends(tmp_path, monkeypatch, compiled):
    without_kernel(monkeypatch, compiled)
    ids = IdFile(tmp_path)
    ids.write(np.array([0, 1, -1, 2, 0, -1, 1, 2], np.int32))  # no final sentence end
    ids.finish()
    mapping = np.array([5, -2, 7], np.int32)
    segs = list(iter_segments(ids, mapping, block=3))
    assert [end for end, _ in segs] == [3, 6, 8]  # each cut after the last sentence end within 3 ids
    assert all(s[-1] == -1 for _, s in segs)
    assert np.concatenate([s for _, s in segs]).tolist() == [5, -1, 7, 5, -1, 7, -1]
    assert [s.tolist() for _, s in iter_segments(ids, mapping, start=3, block=3)] == [[7, 5, -1], [7, -1]]


@needs_kernel
def test_compiled_segments_are_the_numpy_ones(tmp_path, monkeypatch):
    """Random ids with dropped words and sentences longer than the block (so it doubles): the same segments."""
    rng = np.random.default_rng(3)
    stream = rng.integers(0, 50, 20_000).astype(np.int32)
    stream[rng.random(stream.size) < 0.08] = -1
    stream[5000:9000] = 7  # one sentence of 4,000 ids, more than a block
    ids = IdFile(tmp_path)
    ids.write(stream)
    ids.finish()
    mapping = np.where(rng.random(50) < 0.3, -2, rng.permutation(50)).astype(np.int32)
    compiled = [(end, s.tolist()) for end, s in iter_segments(ids, mapping, start=11, block=1000)]
    monkeypatch.setattr(native, "available", lambda: False)
    assert compiled == [(end, s.tolist()) for end, s in iter_segments(ids, mapping, start=11, block=1000)]
    ends = [11] + [end for end, _ in compiled]
    assert max(np.diff(ends)) > 4000 and ends[-1] == stream.size  # the long sentence doubled the block


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=needs_kernel)])
def test_map_ids_and_end_cut_by_example(monkeypatch, compiled):
    without_kernel(monkeypatch, compiled)
    mapped = map_ids(np.array([3, -1, 0, 2, -1], np.int32), np.array([7, -2, -2, 5], np.int32))
    assert mapped.tolist() == [5, -1, 7, -1]
    assert end_cut(np.array([5, -1, 7, 8], np.int32)) == 2
    assert end_cut(np.array([5, 7], np.int32)) == 0 and end_cut(np.array([], np.int32)) == 0


@pytest.mark.parametrize("preadv", [True, False])
def test_id_file_reads_back_what_was_written_from_any_offset(tmp_path, monkeypatch, preadv):
    """os.preadv where there is one; os.pread's bytes copied where not (Windows)."""
    if not preadv:
        monkeypatch.delattr("os.preadv", raising=False)
    stream = np.arange(-1, 3_000_000, dtype=np.int32)  # 12 MB: several huge pages, past huge_empty's padding
    ids = IdFile(tmp_path)
    ids.write(stream)
    ids.finish()
    assert np.array_equal(ids.read(0, stream.size), stream)
    assert np.array_equal(ids.read(1000, 5), stream[1000:1005])
    assert np.array_equal(ids.read(stream.size - 3, 1 << 20), stream[-3:])  # a short read at the end
    assert ids.read(stream.size, 10).size == 0


def test_scan_memory_does_not_grow_with_corpus_size(tmp_path):
    """A single-line corpus 4x larger must not need more memory to scan."""
    rng = np.random.default_rng(1)
    words = np.array([f"w{i}" for i in range(3000)])

    def peak(n_words):
        text = " ".join(rng.choice(words, n_words))
        path = write(tmp_path / f"c{n_words}.txt", text)
        del text
        tracemalloc.start()
        scan_corpus([path], IdFile(tmp_path), ScanOptions(scanner="python"))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(300_000), peak(1_200_000)
    assert large < 1.5 * small
