"""Compiled tokeniser and counter for the vocabulary pass (numba).

Does exactly what `vocab.PyScanner` does, ids and all: split on ASCII
whitespace, give each distinct token a provisional id in order of first
appearance, count it, and end sentences at newlines and every `max_sentence`
tokens. Tokens are hashed (FNV-1a) into an open-addressing table whose keys
live in one byte pool, like word2vec.c's vocabulary hash.

Capacity is ensured before each block for its worst case (every token new), so
the kernel never runs out of room mid-block.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from w2v_cli.vocab import SEP


@njit(inline="always")
def _is_space(b):
    return b == 32 or b == 10 or b == 9 or b == 13 or b == 11 or b == 12


@njit(inline="always")
def _find(table, pool, word_off, word_len, buf, start, length, h):
    """Slot of the token buf[start:start+length] (or the empty slot where it goes)."""
    mask = table.size - 1
    slot = h & mask
    while True:
        w = table[slot]
        if w < 0:
            return slot
        if word_len[w] == length:
            off = word_off[w]
            same = True
            for k in range(length):
                if pool[off + k] != buf[start + k]:
                    same = False
                    break
            if same:
                return slot
        slot = (slot + 1) & mask


@njit(nogil=True, cache=True)
def scan_block(buf, table, hashes, word_off, word_len, counts, pool, state, out, max_sentence):
    """Tokenise `buf` (uint8); write ids and SEPs to `out`; return how many.

    `state` = [n_words, pool_used, run] is updated in place.
    """
    n_words, pool_used, run = state[0], state[1], state[2]
    n, i, m = buf.size, 0, 0
    while i < n:
        b = buf[i]
        if _is_space(b):
            if b == 10 and run > 0:
                out[m] = -1
                m += 1
                run = 0
            i += 1
            continue
        start = i
        h = np.uint64(14695981039346656037)
        while i < n and not _is_space(buf[i]):
            h = (h ^ np.uint64(buf[i])) * np.uint64(1099511628211)
            i += 1
        length = i - start
        slot = _find(table, pool, word_off, word_len, buf, start, length, h)
        w = table[slot]
        if w < 0:
            w = n_words
            n_words += 1
            table[slot] = w
            hashes[w] = h
            word_off[w] = pool_used
            word_len[w] = length
            pool[pool_used : pool_used + length] = buf[start:i]
            pool_used += length
        counts[w] += 1
        out[m] = w
        m += 1
        run += 1
        if run == max_sentence:
            out[m] = -1
            m += 1
            run = 0
    state[0], state[1], state[2] = n_words, pool_used, run
    return m


@njit(nogil=True, cache=True)
def _rehash(table, hashes, n_words):
    mask = table.size - 1
    for w in range(n_words):
        slot = hashes[w] & mask
        while table[slot] >= 0:
            slot = (slot + 1) & mask
        table[slot] = w


def _grow(a: np.ndarray, need: int) -> np.ndarray:
    if a.size >= need:
        return a
    out = np.zeros(max(need, 2 * a.size), a.dtype)
    out[: a.size] = a
    return out


class NumbaScanner:
    """Same interface and ids as `vocab.PyScanner`, about 10x faster."""

    def __init__(self, max_sentence: int) -> None:
        self.max_sentence = max_sentence
        self.table = np.full(1 << 16, -1, np.int32)
        self.hashes = np.zeros(1 << 14, np.uint64)
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
            _rehash(self.table, self.hashes, n_words)

    def feed(self, block: bytes) -> np.ndarray:
        buf = np.frombuffer(block, np.uint8)
        self._reserve(buf.size)
        out = np.empty(buf.size + 1, np.int32)
        m = scan_block(
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
        pool = self.pool
        return [
            pool[o : o + n].tobytes()
            for o, n in zip(self.word_off[: int(self.state[0])].tolist(), self.word_len[: int(self.state[0])].tolist())
        ]
