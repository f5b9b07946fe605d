"""Corpus files: finding them, opening them, and reading them in bounded blocks.

Tokens are runs of bytes between ASCII whitespace (space, tab, newline, CR, VT,
FF), the way word2vec.c splits; a line is a sentence. Files are read in blocks
of about `block_size` bytes that always end on whitespace, so no token is ever
cut, and a 100 MB single-line file (text8 style) never sits in memory whole.
Decoding to text happens once per distinct word, in `vocab.py`.

Left out: any tokenisation beyond whitespace (lowercasing, punctuation); do
that before training, as word2vec.c users do.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from w2v_cli.errors import W2VError

WHITESPACE = b" \t\n\r\x0b\x0c"
BLOCK_SIZE = 1 << 20
OPENERS = {".gz": lambda f: gzip.GzipFile(fileobj=f), ".bz2": bz2.BZ2File, ".xz": lzma.LZMAFile}


def expand_paths(paths: list[str]) -> list[Path]:
    """Files named, plus every non-hidden file under named directories, sorted.

    Example: `expand_paths(["data"])` -> `[Path("data/default.txt"), ...]`.
    """
    if not paths:
        raise W2VError("no corpus given: pass CORPUS files or set 'corpus' in the config")
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                raise W2VError(f"corpus directory {path} contains no files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise W2VError(f"corpus {path} is not a regular file or directory")
        else:
            raise W2VError(f"corpus file {path} does not exist")
    for path in files:
        if not os.access(path, os.R_OK):
            raise W2VError(f"corpus file {path} is not readable (permission denied)")
    return files


class CountingReader(io.RawIOBase):
    """A raw file that counts the bytes read from disk (for progress on compressed files)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        n = self.raw.readinto(buf)
        self.bytes_read += n or 0
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_binary(path: Path) -> tuple[BinaryIO, CountingReader]:
    """Open `path` for binary reading, decompressing by extension.

    Returns the decoded stream and the counting raw reader under it.
    """
    try:
        raw = CountingReader(open(path, "rb"))
    except OSError as e:
        raise W2VError(f"cannot read corpus file {path}: {e.strerror or e}") from None
    opener = OPENERS.get(path.suffix.lower())
    stream = opener(io.BufferedReader(raw)) if opener else io.BufferedReader(raw)
    return stream, raw  # type: ignore[return-value]


def _last_whitespace(data: bytes) -> int:
    """Index of the last ASCII whitespace byte in `data`, or -1."""
    return max(data.rfind(bytes([c])) for c in WHITESPACE)


def iter_blocks(path: Path, block_size: int = BLOCK_SIZE) -> Iterator[tuple[bytes, int]]:
    """Yield `(block, raw_bytes_read_so_far)`; each block ends on whitespace.

    The last block of a file may end mid-token (end of file ends the token).
    Example: a file "ab cd\\nef" read with block_size=4 gives b"ab ", b"cd\\n", b"ef".
    """
    stream, raw = open_binary(path)
    carry = b""
    try:
        with stream:
            while True:
                try:
                    chunk = stream.read(block_size)
                except (OSError, EOFError, lzma.LZMAError) as e:
                    raise W2VError(f"cannot read corpus file {path}: {e}") from None
                if not chunk:
                    break
                data = carry + chunk
                cut = _last_whitespace(data)
                if cut < 0:
                    carry = data
                    continue
                carry = data[cut + 1 :]
                yield data[: cut + 1], raw.bytes_read
    except gzip.BadGzipFile as e:
        raise W2VError(f"cannot read corpus file {path}: {e}") from None
    if carry:
        yield carry, raw.bytes_read


def total_size(files: list[Path]) -> int:
    """Bytes on disk of all `files` (compressed size for compressed ones)."""
    return sum(f.stat().st_size for f in files)
