"""Compiled tokeniser and counter for the vocabulary pass (the C kernel library).

Does exactly what `vocab.PyScanner` does, ids and all: split on ASCII
whitespace, give each distinct token a provisional id in order of first
appearance, count it, and end sentences at newlines and every `max_sentence`
tokens. Tokens are hashed (FNV-1a) into an open-addressing table whose keys
live in one byte pool, like word2vec.c's vocabulary hash (`csrc/kernel.c`).

Capacity is ensured before each block for its worst case (every token new), so
the kernel never runs out of room mid-block.
"""

from __future__ import annotations

import numpy as np

from w2v_cli import ckernel
from w2v_cli.vocab import SEP


def _grow(a: np.ndarray, need: int) -> np.ndarray:
    """`a`, or a zero-padded copy of at least `need` items (at least twice as long)."""
    if a.size >= need:
        return a
    out = np.zeros(max(need, 2 * a.size), a.dtype)
    out[: a.size] = a
    return out


class CScanner:
    """Same interface and ids as `vocab.PyScanner`, about 10x faster."""

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
            ckernel.rehash(self.table, self.hashes, n_words)

    def feed(self, block: bytes) -> np.ndarray:
        buf = np.frombuffer(block, np.uint8)
        self._reserve(buf.size)
        out = np.empty(buf.size + 1, np.int32)
        m = ckernel.scan_block(
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
