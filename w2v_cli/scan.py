"""The vocabulary pass's tokeniser and counter, in Python and in C, and the id stream it writes.

Both scanners split on ASCII whitespace, give each distinct token a
provisional id in order of first appearance, count it, and end sentences at
newlines and every `max_sentence` tokens. They give the same ids and counts,
so the choice changes only the speed: `make_scanner` picks the compiled one
whenever the kernel library is installed, whichever engine trains afterwards.
The C scanner hashes tokens (FNV-1a) into an open-addressing table whose keys
live in one byte pool, like word2vec.c's vocabulary hash (`native/kernel.c`);
room for a block's worst case (every token new) is ensured before each block,
so the kernel never runs out of room mid-block.

The id stream (`scan_corpus`) is int32 provisional ids with SEP at sentence
ends, written to a file: memory holds the distinct words, never the corpus.
Left out: vocabulary pruning during the count (word2vec.c's reduce_vocab); the
distinct words of a corpus must fit in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from w2v_cli import native
from w2v_cli.corpus import iter_blocks, total_size
from w2v_cli.progress import Progress

SEP = -1  # sentence end in an id stream


class PyScanner:
    """Pure-Python tokeniser and counter: provisional ids in order of first appearance.

    Example: `PyScanner(10).feed(b"a b a\\n")` -> `array([0, 1, 0, -1])`.
    """

    def __init__(self, max_sentence: int) -> None:
        self.max_sentence = max_sentence
        self.index: dict[bytes, int] = {}
        self.words: list[bytes] = []
        self.counts = np.zeros(0, np.int64)
        self.run = 0  # tokens so far in the unfinished sentence

    def feed(self, block: bytes) -> np.ndarray:
        """Ids of the tokens in `block`, with SEP at line ends and every max_sentence tokens."""
        toks: list[bytes] = []
        seps: list[int] = []
        lines = block.split(b"\n")
        for i, line in enumerate(lines):
            words = line.split()
            if words:
                start = len(toks)
                toks.extend(words)
                j = self.max_sentence - self.run
                while j <= len(words):
                    seps.append(start + j)
                    j += self.max_sentence
                self.run = (self.run + len(words)) % self.max_sentence
            if i < len(lines) - 1 and self.run > 0:
                seps.append(len(toks))
                self.run = 0
        ids = self._ids(toks)
        return np.insert(ids, seps, SEP) if seps else ids

    def _ids(self, toks: list[bytes]) -> np.ndarray:
        index, words = self.index, self.words
        for w in dict.fromkeys(toks):
            if w not in index:
                index[w] = len(words)
                words.append(w)
        ids = np.fromiter(map(index.__getitem__, toks), np.int32, len(toks))
        block_counts = np.bincount(ids, minlength=len(words))
        block_counts[: len(self.counts)] += self.counts
        self.counts = block_counts
        return ids

    def end_file(self) -> np.ndarray:
        """A SEP if the last sentence of a file has no line end."""
        ended, self.run = self.run > 0, 0
        return np.array([SEP] * ended, np.int32)


@dataclass
class ScanResult:
    """What one pass over the corpus found."""

    words: list[bytes]  # provisional id -> raw word bytes
    counts: np.ndarray  # (n_raw,) int64
    tokens: int
    files: int
    bytes: int


def _grow(a: np.ndarray, need: int) -> np.ndarray:
    """`a`, or a zero-padded copy of at least `need` items (at least twice as long)."""
    if a.size >= need:
        return a
    out = np.zeros(max(need, 2 * a.size), a.dtype)
    out[: a.size] = a
    return out


class CScanner:
    """Same interface and ids as `PyScanner`, about 5x faster."""

    def __init__(self, max_sentence: int) -> None:
        self.max_sentence = max_sentence
        self.table = np.full(1 << 16, -1, np.int32)  # slot -> provisional id, -1 empty; size a power of 2
        self.hashes = np.zeros(1 << 14, np.uint64)  # (n_words,) per word: hash, offset and length in pool, count
        self.word_off = np.zeros(1 << 14, np.int64)
        self.word_len = np.zeros(1 << 14, np.int64)
        self.counts_ = np.zeros(1 << 14, np.int64)
        self.pool = np.zeros(1 << 20, np.uint8)
        self.state = np.zeros(3, np.int64)  # n_words, pool_used, run

    def _reserve(self, nbytes: int) -> None:
        n_words, pool_used = int(self.state[0]), int(self.state[1])
        worst = n_words + nbytes // 2 + 1
        for name in ("hashes", "word_off", "word_len", "counts_"):
            setattr(self, name, _grow(getattr(self, name), worst))
        self.pool = _grow(self.pool, pool_used + nbytes)
        if self.table.size < 2 * worst:
            size = self.table.size
            while size < 2 * worst:
                size *= 2
            self.table = np.full(size, -1, np.int32)
            native.rehash(self.table, self.hashes, n_words)

    def feed(self, block: bytes) -> np.ndarray:
        buf = np.frombuffer(block, np.uint8)
        self._reserve(buf.size)
        out = np.empty(buf.size + 1, np.int32)
        m = native.scan_block(
            buf,
            self.table,
            self.hashes,
            self.word_off,
            self.word_len,
            self.counts_,
            self.pool,
            self.state,
            out,
            self.max_sentence,
        )
        return out[:m].copy()

    def end_file(self) -> np.ndarray:
        ended = int(self.state[2] > 0)
        self.state[2] = 0
        return np.array([SEP] * ended, np.int32)

    @property
    def counts(self) -> np.ndarray:
        return self.counts_[: int(self.state[0])].copy()

    @property
    def words(self) -> list[bytes]:
        n, pool = int(self.state[0]), self.pool
        return [pool[o : o + k].tobytes() for o, k in zip(self.word_off[:n].tolist(), self.word_len[:n].tolist())]


def make_scanner(max_sentence: int, scanner: str = "auto") -> PyScanner | CScanner:
    """`CScanner` for "c", `PyScanner` for "python"; "auto" picks C when the kernel is installed."""
    if scanner == "c" or (scanner == "auto" and native.available()):
        return CScanner(max_sentence)
    return PyScanner(max_sentence)


def scan_corpus(
    files: list[Path],
    ids_file: BinaryIO,
    max_sentence: int,
    scanner_name: str = "auto",
    progress: Progress | None = None,
) -> ScanResult:
    """Count every token of `files` and write their provisional ids to `ids_file` (scanners: `make_scanner`)."""
    scanner = make_scanner(max_sentence, scanner_name)
    tokens = done = 0
    with (progress or Progress()).bar(total_size(files), "vocab", unit="B") as pb:
        for path in files:
            read = 0
            for block, read_now in iter_blocks(path):
                ids = scanner.feed(block)
                tokens += int(np.count_nonzero(ids != SEP))
                ids.tofile(ids_file)
                pb.update(read_now - read)
                read = read_now
                pb.set_postfix_str(f"{tokens / 1e6:.1f}M words", refresh=False)
            scanner.end_file().tofile(ids_file)
            done += read
    ids_file.flush()
    return ScanResult(scanner.words, scanner.counts, tokens, len(files), done)
