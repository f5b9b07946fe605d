"""The vocabulary pass: tokenise and count the corpus in bounded memory, and write its id stream.

Tokens are runs of characters between Unicode whitespace (the set
`str.isspace` accepts: ASCII whitespace, 0x1C-0x1F, U+0085, U+00A0, U+1680,
U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), so every token fits the
word2vec formats. Newlines end sentences, and so does every `max_sentence`-th
token. With `lowercase` or `strip_punctuation` each token is normalised
(`normalise.py`) before it is counted.

Two scanners give the same ids and counts: `PyScanner` (the reference) and
`CScanner` (`native/scan.c`, about 5x faster); `make_scanner` picks C when the
kernel is installed. Each word gets a provisional id in order of first
appearance; `scan_corpus` writes the ids, with SEP at sentence ends, to an
`IdFile` that has no name on disk, so it cannot outlive the run.

Bounded memory: the count holds at most `Limit.words` distinct words and
`Limit.pool` bytes of their text. When a block could overflow it, the rarest
words are dropped and the floor rises (word2vec.c's ReduceVocab); then a second
pass recounts the survivors exactly and writes the id stream. A word that
occurs more often than the sum of the floors is certain to survive with its
exact count (`Pruning.guaranteed`).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from w2v_cli import native
from w2v_cli.corpus import iter_blocks, total_size
from w2v_cli.errors import W2VError
from w2v_cli.normalise import normalise_bytes, tables
from w2v_cli.progress import Progress

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


@dataclass
class Pruning:
    """What bounding the count did: how often it pruned, and what that can have changed."""

    prunes: int = 0
    floors: list[int] = field(default_factory=list)  # each prune dropped the words counted <= floor so far
    dropped: int = 0  # word entries dropped, over all prunes

    @property
    def guaranteed(self) -> int:
        """Words occurring more often than this are certainly in the count, with exact counts."""
        return sum(self.floors)

    def as_dict(self) -> dict:
        return {"prunes": self.prunes, "floors": self.floors, "dropped": self.dropped, "exact_above": self.guaranteed}


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

    def preload(self, words: list[bytes]) -> None:
        """Start with these words (ids 0..), counted zero, and add no others."""
        self.words_ = list(words)
        self.index = {w: i for i, w in enumerate(words)}
        self.counts_ = np.zeros(len(words), np.int64)
        self.frozen = True


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

    def preload(self, words: list[bytes]) -> None:
        if len(words) > self.hashes.size or sum(map(len, words)) > self.pool.size:
            raise W2VError(f"the vocabulary file's {len(words)} words do not fit --vocab-memory; raise it")
        self.flags = 0  # the words as they are: the vocabulary file holds normalised words
        self.feed(b"\n".join(words) + b"\n")
        if self.n_words != len(words):
            raise W2VError("the vocabulary file has repeated words")
        self.restart(frozen=True)


def make_scanner(opts: ScanOptions) -> PyScanner | CScanner:
    """`CScanner` for "c", `PyScanner` for "python"; "auto" picks C when the kernel is installed."""
    if opts.scanner == "c" or (opts.scanner == "auto" and native.available()):
        return CScanner(opts)
    return PyScanner(opts)


@dataclass
class ScanResult:
    """What the vocabulary pass found: a count per provisional id, and the words on demand."""

    counts: np.ndarray  # (n_words,) int64
    tokens: int
    files: int
    bytes: int
    word_bytes: Callable[[np.ndarray], list[bytes]]  # provisional ids -> their bytes
    valid: np.ndarray  # (n_words,) bool: the word is valid UTF-8
    pruning: Pruning | None = None

    @property
    def words(self) -> list[bytes]:
        """Every scanned word, in id order (all of them in memory: for small counts and tests)."""
        return self.word_bytes(np.arange(self.counts.size))


class IdFile:
    """The id stream (int32) in an unnamed temporary file in `directory`: it disappears with the process.

    Linux's O_TMPFILE gives a file that never has a name; elsewhere it is
    unlinked as soon as it is created. A write error is one W2VError line.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            self.file = tempfile.TemporaryFile(dir=directory, prefix=".w2v-ids-")
        except OSError as e:
            raise W2VError(f"cannot create the temporary id file in {directory}: {e.strerror or e}") from None

    def write(self, ids: np.ndarray) -> None:
        try:
            self.file.write(np.ascontiguousarray(ids, np.int32).tobytes())
        except OSError as e:
            size = self.file.tell() / 1e6
            raise W2VError(
                f"cannot write the temporary id file in {self.directory} after {size:.0f} MB: "
                f"{e.strerror or e}; free some space or use another -o"
            ) from None

    def finish(self) -> None:
        """Flush what was written, so that `read` sees it."""
        self.write(np.zeros(0, np.int32))
        try:
            self.file.flush()
        except OSError as e:
            raise W2VError(f"cannot write the temporary id file in {self.directory}: {e.strerror or e}") from None

    def restart(self) -> None:
        """Throw away everything written."""
        self.file.seek(0)
        self.file.truncate()

    def read(self, start: int, count: int) -> np.ndarray:
        """Up to `count` ids from id number `start`."""
        return np.frombuffer(os.pread(self.file.fileno(), 4 * count, 4 * start), np.int32)

    def close(self) -> None:
        self.file.close()


def scan_corpus(
    files: list[Path],
    ids: IdFile | None,
    opts: ScanOptions,
    progress: Progress | None = None,
    vocab_words: list[bytes] | None = None,
) -> ScanResult:
    """Count every token of `files` and write their ids to `ids` (if given), within `opts.memory`.

    With `vocab_words`, only those words are counted (ids in their order) and
    there is one pass. Otherwise, if the count had to be pruned, a second pass
    recounts the survivors exactly and writes the id stream.
    """
    progress = progress or Progress()
    scanner = make_scanner(opts)
    limit = opts.limit or Limit.of(opts.memory, scanner.word_bytes)
    pruning = Pruning()
    if vocab_words is not None:
        scanner.preload(vocab_words)
    done = _one_pass(files, scanner, ids, limit, None if vocab_words else pruning, progress, "vocab")
    if pruning.prunes:
        progress.note(
            f"the vocabulary count reached --vocab-memory and was pruned {pruning.prunes} time(s); "
            f"a second pass counts the {scanner.n_words:,} surviving words exactly "
            f"(any word seen more than {pruning.guaranteed:,} times is among them)"
        )
        if ids is not None:
            ids.restart()
        scanner.restart(frozen=True)
        done = _one_pass(files, scanner, ids, limit, None, progress, "vocab, 2nd pass")
    if ids is not None:
        ids.finish()
    return ScanResult(
        scanner.counts, scanner.tokens, len(files), done, scanner.word_bytes_of, scanner.valid_utf8(),
        pruning if pruning.prunes else None,
    )  # fmt: skip


def _one_pass(files, scanner, ids: IdFile | None, limit: Limit, pruning: Pruning | None, progress, desc: str) -> int:
    """Feed every block to `scanner`, pruning to stay within `limit`; ids are written until the first prune."""
    done = 0

    def write(out: np.ndarray) -> None:
        if ids is not None and (pruning is None or not pruning.prunes):
            ids.write(out)

    with progress.bar(total_size(files), desc, unit="B") as pb:
        for path in files:
            read = 0
            for block, read_now in iter_blocks(path):
                for piece in _pieces(block, limit):
                    if pruning is not None and _would_overflow(scanner, limit, len(piece)):
                        _prune(scanner, limit, len(piece), pruning)
                    write(scanner.feed(piece))
                pb.update(read_now - read)
                read = read_now
                pb.set_postfix_str(f"{scanner.tokens / 1e6:.1f}M words", refresh=False)
            write(scanner.end_file())
            done += read
    return done


def _pieces(block: bytes, limit: Limit) -> list[bytes]:
    """`block` cut at ASCII whitespace into pieces whose worst case fits a quarter of `limit`.

    Example: `_pieces(b"ab " * 50, Limit(128, 1 << 20))` -> three pieces (64 bytes of room each) ending on spaces.
    """
    room = max(min(limit.words // 2, limit.pool // 8), 64)
    pieces, start = [], 0
    while len(block) - start > room:
        cut = max(block.rfind(c, start, start + room) for c in (b" ", b"\n", b"\t", b"\r", b"\x0b", b"\x0c"))
        if cut < 0:  # a token longer than the room: the piece runs to its end
            cut = min((i for i in (block.find(c, start + room) for c in b" \n\t\r\x0b\x0c") if i >= 0), default=-1)
            if cut < 0:
                break
        pieces.append(block[start : cut + 1])
        start = cut + 1
    pieces.append(block[start:])
    return pieces


def _would_overflow(scanner, limit: Limit, nbytes: int) -> bool:
    """Whether a block of `nbytes` could, at worst (every token new), exceed `limit`."""
    return scanner.n_words + nbytes // 2 + 1 > limit.words or scanner.pool_used + 2 * nbytes > limit.pool


def _prune(scanner, limit: Limit, nbytes: int, pruning: Pruning) -> None:
    """Drop the rarest words: the smallest floor that leaves at most half the limit, and room for the block."""
    n = scanner.n_words
    counts = scanner.counts_[:n]
    room_words = min(limit.words // 2, limit.words - nbytes // 2 - 1)
    room_pool = min(limit.pool // 2, limit.pool - 2 * nbytes)
    top = min(int(counts.max()), 1 << 20)
    capped = np.minimum(counts, top)
    # above[f]: words (bytes) with a count >= f; those kept by floor f are above[f + 1]
    words_above = np.bincount(capped, minlength=top + 2)[::-1].cumsum()[::-1]
    bytes_above = np.bincount(capped, _lengths(scanner), minlength=top + 2)[::-1].cumsum()[::-1]
    del capped
    fits = np.flatnonzero((words_above[1:] <= room_words) & (bytes_above[1:] <= room_pool))
    floor = max(int(fits[0]) if fits.size else top, 1)
    keep = counts > floor
    pruning.prunes += 1
    pruning.floors.append(floor)
    pruning.dropped += int(n - np.count_nonzero(keep))
    scanner.prune(keep)


def _lengths(scanner) -> np.ndarray:
    """(n_words,) bytes of each word's text."""
    if isinstance(scanner, CScanner):
        return scanner.word_len[: scanner.n_words]
    return np.fromiter(map(len, scanner.words_), np.int64, scanner.n_words)
