"""The vocabulary pass: count the corpus in bounded memory and write its id stream.

`scan_corpus` feeds every block of every file to a scanner (`scanners.py`) and
writes the provisional ids, with SEP at sentence ends, to an `IdFile` that has
no name on disk, so it cannot outlive the run.

Bounded memory: the count holds at most `Limit.words` distinct words and
`Limit.pool` bytes of their text. When a block could overflow it, the rarest
words are dropped and the floor rises (word2vec.c's ReduceVocab); then a second
pass recounts the survivors exactly and writes the id stream. A word that
occurs more often than the sum of the floors is certain to survive with its
exact count (`Pruning.guaranteed`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from w2v_cli.corpus import iter_blocks, read_ahead, total_size
from w2v_cli.errors import W2VError
from w2v_cli.heap import huge_empty
from w2v_cli.progress import Progress
from w2v_cli.scanners import SEP, Limit, ScanOptions, make_scanner

__all__ = ["SEP", "IdFile", "Pruning", "ScanOptions", "ScanResult", "scan_corpus"]


@dataclass
class Pruning:
    """What bounding the count did: how often it pruned, and what that can have changed."""

    prunes: int = 0
    floors: list[int] = field(default_factory=list)  # each prune dropped the words counted <= floor so far
    dropped: int = 0  # word entries dropped, over all prunes
    protected: int = 0  # ids below this are never dropped (words given before the scan)

    @property
    def guaranteed(self) -> int:
        """Words occurring more often than this are certainly in the count, with exact counts."""
        return sum(self.floors)

    def as_dict(self) -> dict:
        return {"prunes": self.prunes, "floors": self.floors, "dropped": self.dropped, "exact_above": self.guaranteed}


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
        self.written = 0  # bytes
        try:
            self.file = tempfile.TemporaryFile(dir=directory, prefix=".w2v-ids-")
        except OSError as e:
            raise W2VError(f"cannot create the temporary id file in {directory}: {e.strerror or e}") from None

    def write(self, ids: np.ndarray) -> None:
        try:
            self.written += self.file.write(np.ascontiguousarray(ids, np.int32).tobytes())
        except OSError as e:
            raise self._error(e) from None

    def finish(self) -> None:
        """Flush what was written, so that `read` sees it."""
        try:
            self.file.flush()
        except OSError as e:
            raise self._error(e) from None

    def _error(self, e: OSError) -> W2VError:
        return W2VError(
            f"cannot write the temporary id file in {self.directory} after {self.written / 1e6:.0f} MB: "
            f"{e.strerror or e}; free some space or use another -o"
        )

    def restart(self) -> None:
        """Throw away everything written."""
        self.file.seek(0)
        self.file.truncate()
        self.written = 0

    def read(self, start: int, count: int) -> np.ndarray:
        """Up to `count` ids from id number `start`, in a fresh array (`heap.huge_empty`)."""
        out = huge_empty(count, np.int32)
        return out[: read_into(self.file.fileno(), out.view(np.uint8), 4 * start) // 4]

    def close(self) -> None:
        self.file.close()


def read_into(fd: int, buf: np.ndarray, offset: int) -> int:
    """Fill the uint8 array `buf` from byte `offset` of the file `fd` (less at its end); returns the bytes read.

    os.preadv writes straight into buf; where it is missing (Windows), os.pread's bytes are copied.
    """
    got = 0
    while got < buf.size:
        if hasattr(os, "preadv"):
            n = os.preadv(fd, [buf[got:]], offset + got)
        else:
            data = os.pread(fd, buf.size - got, offset + got)
            n = len(data)
            buf[got : got + n] = np.frombuffer(data, np.uint8)
        if n == 0:
            break
        got += n
    return got


def scan_corpus(
    files: list[Path],
    ids: IdFile | None,
    opts: ScanOptions,
    progress: Progress | None = None,
    vocab_words: list[bytes] | None = None,
    more_words: bool = False,
) -> ScanResult:
    """Count every token of `files` and write their ids to `ids` (if given), within `opts.memory`.

    With `vocab_words`, those words get the first ids (in their order); then only
    they are counted, in one pass, unless `more_words`, and pruning never drops
    them. If the count had to be pruned, a second pass recounts the survivors
    exactly and writes the id stream.
    """
    progress = progress or Progress()
    scanner = make_scanner(opts)
    limit = opts.limit or Limit.of(opts.memory, scanner.word_bytes)
    pruning = Pruning()
    if vocab_words is not None:
        scanner.preload(vocab_words, frozen=not more_words)
        pruning.protected = len(vocab_words)
    frozen = vocab_words is not None and not more_words
    done = _one_pass(files, scanner, ids, limit, None if frozen else pruning, progress, "vocab")
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
            for block, read_now in read_ahead(iter_blocks(path)):
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
    bytes_above = np.bincount(capped, scanner.word_lengths(), minlength=top + 2)[::-1].cumsum()[::-1]
    del capped
    fits = np.flatnonzero((words_above[1:] <= room_words) & (bytes_above[1:] <= room_pool))
    floor = max(int(fits[0]) if fits.size else top, 1)
    keep = counts > floor
    keep[: pruning.protected] = True
    pruning.prunes += 1
    pruning.floors.append(floor)
    pruning.dropped += int(n - np.count_nonzero(keep))
    scanner.prune(keep)
