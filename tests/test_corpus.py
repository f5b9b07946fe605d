import bz2
import gzip
import lzma

import pytest
from conftest import write

from w2v_cli.corpus import expand_paths, iter_blocks
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
