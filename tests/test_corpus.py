import bz2
import gzip
import lzma
import threading

import pytest
from conftest import write

from w2v_cli.corpus import expand_paths, iter_blocks, read_ahead
from w2v_cli.errors import W2VError


def test_blocks_end_on_whitespace_and_keep_every_token(tmp_path):
    words = [f"w{i}" for i in range(5000)]
    path = write(tmp_path / "one_line.txt", " ".join(words))  # no newline at all
    blocks = [b for b, _ in iter_blocks(path, block_size=97)]
    assert all(b[-1:].isspace() for b in blocks[:-1])
    assert b"".join(blocks).split() == [w.encode() for w in words]
    assert max(len(b) for b in blocks) < 97 + 10


@pytest.mark.parametrize("suffix, opener", [(".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)])
def test_compressed_files_are_read_transparently(tmp_path, suffix, opener):
    path = tmp_path / f"c.txt{suffix}"
    with opener(path, "wb") as f:
        f.write(b"alpha beta\ngamma\n" * 100)
    data = b"".join(b for b, _ in iter_blocks(path, block_size=64))
    assert data == b"alpha beta\ngamma\n" * 100


def test_directories_expand_to_sorted_visible_files(tmp_path):
    write(tmp_path / "d" / "b.txt", "b")
    write(tmp_path / "d" / "a.txt", "a")
    write(tmp_path / "d" / ".hidden", "h")
    write(tmp_path / "d" / "sub" / "c.txt", "c")
    names = [p.name for p in expand_paths([str(tmp_path / "d")])]
    assert names == ["a.txt", "b.txt", "c.txt"]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing.txt", "does not exist"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "contains no files"),
    ],
)
def test_bad_corpus_paths(tmp_path, make, message):
    with pytest.raises(W2VError, match=message):
        expand_paths([str(make(tmp_path))])


def test_corrupt_compressed_file_is_a_clear_error(tmp_path):
    path = write(tmp_path / "bad.gz", b"this is not gzip data")
    with pytest.raises(W2VError, match="cannot read corpus file"):
        list(iter_blocks(path))


def test_read_ahead_gives_the_same_blocks_in_order(tmp_path):
    path = tmp_path / "c.txt.gz"
    with gzip.open(path, "wb") as f:
        f.write(" ".join(f"w{i}" for i in range(20_000)).encode())
    assert list(read_ahead(iter_blocks(path, block_size=200))) == list(iter_blocks(path, block_size=200))


def test_read_ahead_raises_a_reading_error_after_the_blocks_before_it(tmp_path):
    path = tmp_path / "cut.txt.gz"
    data = gzip.compress(" ".join(f"w{i}" for i in range(50_000)).encode())
    path.write_bytes(data[: len(data) // 2])  # truncated mid-stream
    got = []
    with pytest.raises(W2VError, match="cannot read corpus file"):
        for block, _ in read_ahead(iter_blocks(path, block_size=1000)):
            got.append(block)
    assert got and b"".join(got).split()[:3] == [b"w0", b"w1", b"w2"]


def test_a_consumer_that_stops_early_stops_the_thread_and_closes_the_file(tmp_path):
    closed = threading.Event()

    def blocks():
        try:
            yield from range(1_000_000)
        finally:
            closed.set()

    reader = read_ahead(blocks())
    assert [next(reader) for _ in range(3)] == [0, 1, 2]
    reader.close()
    assert closed.is_set()
    assert not any(t.name == "w2v-read-ahead" for t in threading.enumerate())
