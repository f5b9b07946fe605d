"""Vocabulary: decode, prune and sort what the scan counted; read the id stream back by epoch.

`build_vocab` decodes the scanned words (UTF-8, invalid bytes replaced and
counted), merges words that decode alike, applies min_count and max_vocab,
sorts by frequency (ties by word), and returns the map from provisional to
final ids. `iter_segments` applies that map to the id file `scan.scan_corpus`
wrote, a bounded block at a time, for every epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from w2v_cli.errors import W2VError
from w2v_cli.scan import SEP, ScanResult

DROP = -2  # a provisional id whose word did not make the vocabulary


@dataclass
class Vocab:
    """Words sorted by descending count; id i is `words[i]`."""

    words: list[str]
    counts: np.ndarray  # (V,) int64

    def __len__(self) -> int:
        return len(self.words)

    @property
    def total(self) -> int:
        """Tokens in the corpus that are in the vocabulary."""
        return int(self.counts.sum())


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
