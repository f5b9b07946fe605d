"""The two tokenisers and counters of the vocabulary pass: `PyScanner` (the reference) and `CScanner`.

Tokens are runs of characters between Unicode whitespace (the set
`str.isspace` accepts: ASCII whitespace, 0x1C-0x1F, U+0085, U+00A0, U+1680,
U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), so every token fits the
word2vec formats. Newlines end sentences, and so does every `max_sentence`-th
token. With `lowercase` or `strip_punctuation` each token is normalised
(`normalise.py`) before it is counted; a token normalised to nothing is dropped.

Both give the same ids and counts: each word gets a provisional id in order of
first appearance. `CScanner` (`native/scan.c`) is about 10x faster;
`make_scanner` picks it when the kernel is installed. Each holds at most what
its `Limit` allows only if the caller prunes between blocks (`scan.py`), and
can be frozen (no new words) for a second pass or a given vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from w2v_cli import native
from w2v_cli.errors import W2VError
from w2v_cli.normalise import normalise_bytes, tables

SEP = -1  # sentence end in an id stream
LOWERCASE, STRIP, FROZEN = 1, 2, 4  # scan.c's flags
# Unicode whitespace that bytes.split() does not split on, as UTF-8 (scan.c's space_len).
OTHER_SPACE = re.compile(
    rb"[\x1c-\x1f]|\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81\x9f|\xe3\x80\x80"
)
# per distinct word: hash, offset, length, count (32), hash table (up to 24 while it doubles), pruning (16)
C_WORD_BYTES = 72
PY_WORD_BYTES = 240  # per distinct word in PyScanner: dict entry, bytes object, list slot, count


@dataclass(frozen=True)
class Limit:
    """The most distinct words and bytes of word text a scanner may hold."""

    words: int
    pool: int

    @classmethod
    def of(cls, memory: int, word_bytes: int) -> Limit:
        """Split `memory`: about 3/4 for per-word arrays (a power of 2 words), the rest for text.

        Example: `Limit.of(256 << 20, 64)` -> `Limit(words=2097152, pool=134217728)`.
        """
        words = 1 << max(int(0.75 * memory / word_bytes).bit_length() - 1, 10)
        return cls(words, max(memory - words * word_bytes, 1 << 16))


@dataclass(frozen=True)
class ScanOptions:
    """How the vocabulary pass tokenises and how much it may hold."""

    max_sentence: int = 10_000
    lowercase: bool = False
    strip_punctuation: bool = False
    memory: int = 1 << 30  # bytes the count may hold (`Limit.of`)
    scanner: str = "auto"  # "c", "python" or "auto" (`make_scanner`)
    limit: Limit | None = None  # the limit itself, instead of one derived from `memory`

    @property
    def flags(self) -> int:
        return LOWERCASE * self.lowercase + STRIP * self.strip_punctuation


class PyScanner:
    """Pure-Python tokeniser and counter: provisional ids in order of first appearance.

    Example: `PyScanner(ScanOptions(10)).feed(b"a b a\\n")` -> `array([0, 1, 0, -1])`.
    """

    word_bytes = PY_WORD_BYTES

    def __init__(self, opts: ScanOptions) -> None:
        self.max_sentence, self.opts = opts.max_sentence, opts
        self.index: dict[bytes, int] = {}
        self.words_: list[bytes] = []
        self.counts_ = np.zeros(0, np.int64)
        self.run = 0  # tokens so far in the unfinished sentence
        self.tokens = 0
        self.frozen = False
        self.pool_used = 0
        self.norm: dict[bytes, bytes] = {}  # raw token -> normalised, per block

    def feed(self, block: bytes) -> np.ndarray:
        """Ids of the tokens in `block`, with SEP at line ends and every max_sentence tokens."""
        toks: list[bytes] = []
        seps: list[int] = []
        lines = OTHER_SPACE.sub(b" ", block).split(b"\n")
        for i, line in enumerate(lines):
            words = self._normalised(line.split())
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
        self.tokens += len(toks)
        ids = self._ids(toks)
        out = np.insert(ids, seps, SEP) if seps else ids
        return out[out != -2] if self.frozen else out

    def _normalised(self, words: list[bytes]) -> list[bytes]:
        opts = self.opts
        if not (opts.lowercase or opts.strip_punctuation):
            return words
        norm = self.norm
        if len(norm) > 1 << 16:  # a cache of recent tokens, not of the whole vocabulary
            norm.clear()
        for w in words:
            if w not in norm:
                norm[w] = normalise_bytes(w, opts.lowercase, opts.strip_punctuation)
        return [n for n in map(norm.__getitem__, words) if n]

    def _ids(self, toks: list[bytes]) -> np.ndarray:
        index, words = self.index, self.words_
        if not self.frozen:
            for w in dict.fromkeys(toks):
                if w not in index:
                    index[w] = len(words)
                    words.append(w)
                    self.pool_used += len(w)
        ids = np.fromiter((index.get(w, -2) for w in toks), np.int32, len(toks))
        block_counts = np.bincount(ids[ids >= 0], minlength=len(words))
        block_counts[: len(self.counts_)] += self.counts_
        self.counts_ = block_counts
        return ids

    def end_file(self) -> np.ndarray:
        """A SEP if the last sentence of a file has no line end."""
        ended, self.run = self.run > 0, 0
        return np.array([SEP] * ended, np.int32)

    @property
    def n_words(self) -> int:
        return len(self.words_)

    @property
    def counts(self) -> np.ndarray:
        return self.counts_.copy()

    def word_bytes_of(self, ids: np.ndarray) -> list[bytes]:
        return [self.words_[i] for i in ids.tolist()]

    @property
    def words(self) -> list[bytes]:
        return list(self.words_)

    def valid_utf8(self) -> np.ndarray:
        return np.array([_valid(w) for w in self.words_], bool)

    def word_lengths(self) -> np.ndarray:
        """(n_words,) bytes of each word's text."""
        return np.fromiter(map(len, self.words_), np.int64, self.n_words)

    def prune(self, keep: np.ndarray) -> None:
        """Keep only the words with `keep` set, renumbered in order."""
        self.words_ = [w for w, k in zip(self.words_, keep.tolist()) if k]
        self.index = {w: i for i, w in enumerate(self.words_)}
        self.counts_ = self.counts_[keep]
        self.pool_used = sum(map(len, self.words_))

    def restart(self, frozen: bool = True) -> None:
        """Zero the counts and tokens for another pass; frozen: no new words from now on."""
        self.counts_[:] = 0
        self.tokens = self.run = 0
        self.frozen = frozen

    def preload(self, words: list[bytes], frozen: bool = True) -> None:
        """Start with these words (ids 0..), counted zero; frozen: add no others."""
        self.words_ = list(words)
        self.index = {w: i for i, w in enumerate(words)}
        self.counts_ = np.zeros(len(words), np.int64)
        self.pool_used = sum(map(len, words))
        self.frozen = frozen


def _valid(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


class CScanner:
    """Same interface, ids and counts as `PyScanner`, about 5x faster (`native/scan.c`).

    The per-word arrays are allocated once at `limit` size as lazily committed
    zero pages (memory grows only as words arrive); the hash table doubles as it fills.
    """

    word_bytes = C_WORD_BYTES

    def __init__(self, opts: ScanOptions) -> None:
        limit = opts.limit or Limit.of(opts.memory, C_WORD_BYTES)
        self.max_sentence, self.opts = opts.max_sentence, opts
        self.flags = opts.flags
        self.tables = tables() if self.flags else (np.zeros(1, np.uint8), np.zeros(1, np.int32), np.zeros(1, np.int32))
        self.table = np.full(1 << 16, -1, np.int32)  # slot -> provisional id, -1 empty; size a power of 2
        try:
            self.hashes = np.zeros(limit.words, np.uint64)  # per word: hash, offset and length in pool, count
            self.word_off = np.zeros(limit.words, np.int64)
            self.word_len = np.zeros(limit.words, np.int64)
            self.counts_ = np.zeros(limit.words, np.int64)
            self.pool = np.zeros(limit.pool, np.uint8)
        except MemoryError:
            raise W2VError("cannot reserve the vocabulary count's memory; lower --vocab-memory") from None
        self.state = np.zeros(4, np.int64)  # n_words, pool_used, run, tokens

    def _reserve(self, nbytes: int) -> None:
        worst = int(self.state[0]) + nbytes // 2 + 1
        if self.pool_used + 2 * nbytes > self.pool.size:  # only where pruning is off (a frozen pass)
            self.pool = np.concatenate([self.pool, np.zeros(2 * nbytes, np.uint8)])
        if self.table.size < 2 * worst:
            size = self.table.size
            while size < 2 * worst:
                size *= 2
            self.table = None  # type: ignore[assignment]  # free the old table before the new one
            self.table = np.full(size, -1, np.int32)
            native.rehash(self.table, self.hashes, int(self.state[0]))

    def feed(self, block: bytes) -> np.ndarray:
        buf = np.frombuffer(block, np.uint8)
        self._reserve(buf.size)
        out = np.empty(buf.size + 1, np.int32)
        m = native.scan_block(
            buf, self.table, self.hashes, self.word_off, self.word_len, self.counts_, self.pool, self.state, out,
            self.max_sentence, self.flags, self.tables,
        )  # fmt: skip
        return out[:m].copy()

    def end_file(self) -> np.ndarray:
        ended = int(self.state[2] > 0)
        self.state[2] = 0
        return np.array([SEP] * ended, np.int32)

    @property
    def n_words(self) -> int:
        return int(self.state[0])

    @property
    def pool_used(self) -> int:
        return int(self.state[1])

    @property
    def tokens(self) -> int:
        return int(self.state[3])

    @property
    def counts(self) -> np.ndarray:
        return self.counts_[: self.n_words].copy()

    def word_bytes_of(self, ids: np.ndarray) -> list[bytes]:
        pool, off, ln = self.pool, self.word_off[ids].tolist(), self.word_len[ids].tolist()
        return [pool[o : o + k].tobytes() for o, k in zip(off, ln)]

    @property
    def words(self) -> list[bytes]:
        return self.word_bytes_of(np.arange(self.n_words))

    def word_lengths(self) -> np.ndarray:
        return self.word_len[: self.n_words]

    def valid_utf8(self) -> np.ndarray:
        n = self.n_words
        return native.utf8_valid(self.pool, self.word_off[:n], self.word_len[:n])

    def prune(self, keep: np.ndarray) -> None:
        keep8 = np.ascontiguousarray(keep, np.uint8)
        k, used = native.compact(keep8, self.hashes, self.word_off, self.word_len, self.counts_, self.pool)
        self.counts_[k : keep.size] = 0
        self.state[0], self.state[1] = k, used
        self.table.fill(-1)
        native.rehash(self.table, self.hashes, k)

    def restart(self, frozen: bool = True) -> None:
        self.counts_[:] = 0
        self.state[2:] = 0
        self.flags = self.opts.flags | FROZEN * frozen

    def preload(self, words: list[bytes], frozen: bool = True) -> None:
        if len(words) > self.hashes.size // 2 or sum(map(len, words)) > self.pool.size // 2:
            raise W2VError(f"the {len(words):,} given words take more than half of --vocab-memory; raise it")
        self.flags = 0  # the words as they are: they are normalised already
        self.feed(b"\n".join(words) + b"\n")
        if self.n_words != len(words):
            raise W2VError("the given vocabulary has repeated words")
        self.restart(frozen=frozen)


def make_scanner(opts: ScanOptions) -> PyScanner | CScanner:
    """`CScanner` for "c", `PyScanner` for "python"; "auto" picks C when the kernel is installed."""
    if opts.scanner == "c" or (opts.scanner == "auto" and native.available()):
        return CScanner(opts)
    return PyScanner(opts)
