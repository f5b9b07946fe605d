"""Vocabulary: one pass that counts words and encodes the corpus, then pruning.

`scan_corpus` reads every corpus file once. Each distinct token gets a
provisional id in order of first appearance; the ids stream goes to a file on
disk (int32, -1 ends a sentence), so memory holds only the distinct words, never
the corpus. `build_vocab` then decodes words (UTF-8, invalid bytes replaced and
counted), applies min_count and max_vocab, sorts by frequency (ties by word),
and returns the map from provisional to final ids that training epochs apply.

Left out: vocabulary pruning during the count (word2vec.c's reduce_vocab); the
distinct words of a corpus must fit in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import numpy as np

from w2v_cli.corpus import iter_blocks, total_size
from w2v_cli.errors import W2VError
from w2v_cli.progress import bar

SEP = -1  # sentence end in an ids stream
DROP = -2  # a provisional id whose word did not make the vocabulary


@dataclass
class Vocab:
    """Words sorted by descending count; id i is `words[i]`."""

    words: list[str]
    counts: np.ndarray  # (V,) int64

    def __len__(self) -> int:
        return len(self.words)

    @cached_property
    def index(self) -> dict[str, int]:
        """Word -> id."""
        return {w: i for i, w in enumerate(self.words)}

    @property
    def total(self) -> int:
        """Tokens in the corpus that are in the vocabulary."""
        return int(self.counts.sum())


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


def make_scanner(max_sentence: int, scanner: str = "auto"):
    """`CScanner` for "c", `PyScanner` for "python"; "auto" picks C when the kernel is installed.

    Both give the same ids and counts, so the choice changes only the speed,
    whichever engine trains afterwards.
    """
    from w2v_cli import ckernel

    if scanner == "c" or (scanner == "auto" and ckernel.available()):
        from w2v_cli.fastscan import CScanner

        return CScanner(max_sentence)
    return PyScanner(max_sentence)


def scan_corpus(
    files: list[Path],
    ids_file: BinaryIO,
    max_sentence: int,
    scanner_name: str = "auto",
    quiet: bool = False,
) -> ScanResult:
    """Count every token of `files` and write their provisional ids to `ids_file` (scanners: `make_scanner`)."""
    scanner = make_scanner(max_sentence, scanner_name)
    tokens = done = 0
    with bar(total=total_size(files), desc="vocab", unit="B", unit_scale=True, quiet=quiet) as pb:
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


def decode_word(raw: bytes) -> tuple[str, int]:
    """Decode UTF-8, replacing invalid bytes; return the word and how many were replaced.

    Example: `decode_word(b"caf\\xe9")` -> `("caf\\ufffd", 1)`.
    """
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError:
        word = raw.decode("utf-8", "replace")
        return word, word.count("\ufffd") - raw.count("\ufffd".encode())


def build_vocab(scan: ScanResult, min_count: int, max_vocab: int) -> tuple[Vocab, np.ndarray, int]:
    """Decode, merge, prune and sort the scanned words.

    Returns the vocabulary, the provisional->final id map (DROP for pruned
    words), and the number of replaced invalid bytes in the corpus.
    """
    merged: dict[str, int] = {}
    to_merged = np.empty(len(scan.words), np.int64)
    merged_counts: list[int] = []
    bad = 0
    for i, (raw, count) in enumerate(zip(scan.words, scan.counts.tolist())):
        word, nbad = decode_word(raw)
        bad += nbad * count
        j = merged.setdefault(word, len(merged))
        if j == len(merged_counts):
            merged_counts.append(0)
        merged_counts[j] += count
        to_merged[i] = j
    words = list(merged)
    keep = [j for j, c in enumerate(merged_counts) if c >= min_count]
    keep.sort(key=lambda j: (-merged_counts[j], words[j]))
    if max_vocab:
        keep = keep[:max_vocab]
    final = np.full(len(words), DROP, np.int32)
    final[keep] = np.arange(len(keep), dtype=np.int32)
    vocab = Vocab([words[j] for j in keep], np.array([merged_counts[j] for j in keep], np.int64))
    return vocab, final[to_merged] if len(words) else final, bad


def check_vocab(vocab: Vocab, scan: ScanResult, min_count: int) -> None:
    """Raise a clear error when there is nothing to train on."""
    if scan.tokens == 0:
        raise W2VError("the corpus is empty: no words found")
    if len(vocab) < 2:
        raise W2VError(
            f"only {len(vocab)} word(s) occur at least min_count={min_count} times "
            f"in {scan.tokens} tokens; lower --min-count or use a larger corpus"
        )


def iter_segments(ids_path: Path, mapping: np.ndarray, block: int = 1 << 20) -> Iterator[np.ndarray]:
    """Final ids with SEP, OOV words removed; each segment ends at a SEP.

    `mapping` is the provisional->final map of `build_vocab`. Reads `block`
    ids at a time, so memory stays bounded whatever the corpus size.
    """
    lookup = np.append(mapping, np.int32(SEP))  # index -1 (SEP) maps to SEP
    carry = np.zeros(0, np.int32)
    with open(ids_path, "rb") as f:
        while True:
            raw = np.fromfile(f, np.int32, block)
            if raw.size == 0:
                break
            ids = lookup[raw]
            ids = np.concatenate([carry, ids[ids != DROP]])
            ends = np.flatnonzero(ids == SEP)
            if ends.size == 0:
                carry = ids
                continue
            cut = ends[-1] + 1
            carry = ids[cut:]
            yield ids[:cut]
    if carry.size:
        yield np.append(carry, np.int32(SEP))
