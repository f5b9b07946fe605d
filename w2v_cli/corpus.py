"""Corpus files: finding them, opening them, and reading them in bounded blocks.

Files are read in blocks of about `block_size` bytes that always end on ASCII
whitespace, so no token is ever cut (`scan.py` splits them into tokens), and a
100 MB single-line file (text8 style) never sits in memory whole. `text_size`
tells, before reading, how many bytes of text a file holds, for the preflight.

`read_ahead` runs such a reader on a thread of its own, a few blocks ahead:
decompression (zlib, bz2 and lzma release the GIL) then overlaps the scanning.

Left out: cutting blocks at non-ASCII whitespace, so a file whose only
separators are characters such as U+00A0 is read whole.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import queue
import struct
import threading
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


READ_AHEAD = 2  # blocks a reader thread may hold ready: 2 MiB


def read_ahead(items: Iterator, depth: int = READ_AHEAD) -> Iterator:
    """The items of `items`, produced on a thread of its own at most `depth` ahead of the consumer.

    Same items in the same order; an exception raised by `items` is raised here, at
    the point in the sequence where it occurred. If the consumer stops early, the
    thread stops at its next item and closes `items` (so its file is closed).
    Example: `list(read_ahead(iter(range(3))))` -> `[0, 1, 2]`.
    """
    ready: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                ready.put((True, item))
                if stop.is_set():
                    break
            ready.put((False, None))
        except BaseException as e:  # handed to the consumer, raised there
            ready.put((False, e))
        finally:
            getattr(items, "close", lambda: None)()

    worker = threading.Thread(target=produce, name="w2v-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            more, item = ready.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a put() the thread may be waiting in
            try:
                ready.get(timeout=0.05)
            except queue.Empty:
                pass


def total_size(files: list[Path]) -> int:
    """Bytes on disk of all `files` (compressed size for compressed ones)."""
    return sum(f.stat().st_size for f in files)


BZ2_RATIO = 5  # typical text compression of bzip2, for a size it does not record


def text_size(path: Path) -> int:
    """Bytes of text in `path` once decompressed: exact for plain and single-stream .xz/.gz, estimated for .bz2.

    Example: `text_size(Path("wiki100m.txt.xz"))` -> `100000000`.
    """
    size = path.stat().st_size
    suffix = path.suffix.lower()
    try:
        with open(path, "rb") as f:
            if suffix == ".gz" and size >= 18:
                f.seek(-4, os.SEEK_END)
                return max(struct.unpack("<I", f.read(4))[0], size)  # ISIZE, the size mod 2**32
            if suffix == ".xz":
                return _xz_size(f, size)
    except (OSError, ValueError, struct.error):
        pass
    return size * BZ2_RATIO if suffix in (".bz2", ".xz") else size


def _varint(data: bytes, i: int) -> tuple[int, int]:
    """The xz multibyte integer at data[i:] and the index after it."""
    value = shift = 0
    while True:
        b = data[i]
        value |= (b & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if b < 0x80:
            return value, i


def _xz_size(f, size: int) -> int:
    """Uncompressed size from the index of the last xz stream (its footer points at it)."""
    f.seek(-12, os.SEEK_END)
    footer = f.read(12)
    if footer[10:] != b"YZ":
        raise ValueError("not an xz footer")
    index_size = (struct.unpack("<I", footer[4:8])[0] + 1) * 4
    f.seek(-12 - index_size, os.SEEK_END)
    index = f.read(index_size)
    records, i = _varint(index, 1)
    total = 0
    for _ in range(records):
        _, i = _varint(index, i)  # unpadded size
        uncompressed, i = _varint(index, i)
        total += uncompressed
    return total
