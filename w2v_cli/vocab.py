"""Vocabulary: decode, prune and sort what the scan counted; read the id stream back by epoch.

`build_vocab` decodes the scanned words (UTF-8, invalid bytes replaced and
counted), merges words that decode alike, applies min_count and max_vocab,
sorts by frequency (ties by word), and returns the map from provisional to
final ids. `iter_segments` applies that map to the id file `scan.scan_corpus`
wrote, a bounded block at a time, for every epoch. Vocabulary files
(`word count` lines, word2vec.c's -save-vocab/-read-vocab) are written and read
here too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from w2v_cli.errors import W2VError
from w2v_cli.normalise import normalise_word
from w2v_cli.scan import SEP, IdFile, ScanResult

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


def build_vocab(
    scan: ScanResult, min_count: int, max_vocab: int, base: np.ndarray | None = None
) -> tuple[Vocab, np.ndarray, int]:
    """Decode, merge, prune and sort the scanned words.

    Only words that can reach min_count become Python strings: those counted
    often enough, and those with invalid UTF-8 (which may merge with others).
    `base` (k,) are earlier counts of the first k provisional ids (a model
    trained on): those words are always kept, their counts added, and max_vocab
    counts only the others. Returns the vocabulary, the provisional->final id
    map (DROP for pruned words), and the number of replaced invalid bytes.
    """
    base = np.zeros(0, np.int64) if base is None else base
    counts = scan.counts.copy()
    counts[: base.size] += base
    kept = (counts >= min_count) | ~scan.valid
    kept[: base.size] = True
    candidates = np.flatnonzero(kept)
    merged: dict[str, int] = {}
    to_merged = np.empty(candidates.size, np.int64)
    merged_counts: list[int] = []
    bad = 0
    for i, (raw, count) in enumerate(zip(scan.word_bytes(candidates), counts[candidates].tolist())):
        word, nbad = decode_word(raw)
        bad += nbad * count
        j = merged.setdefault(word, len(merged))
        if j == len(merged_counts):
            merged_counts.append(0)
        merged_counts[j] += count
        to_merged[i] = j
    words = list(merged)
    given = set(to_merged[: base.size].tolist())  # candidates start with the base ids
    new = sorted((j for j, c in enumerate(merged_counts) if c >= min_count and j not in given),
                 key=lambda j: (-merged_counts[j], words[j]))  # fmt: skip
    keep = sorted(given.union(new[:max_vocab] if max_vocab else new), key=lambda j: (-merged_counts[j], words[j]))
    final = np.full(len(words), DROP, np.int32)
    final[keep] = np.arange(len(keep), dtype=np.int32)
    mapping = np.full(scan.counts.size, DROP, np.int32)
    mapping[candidates] = final[to_merged]
    vocab = Vocab([words[j] for j in keep], np.array([merged_counts[j] for j in keep], np.int64))
    return vocab, mapping, bad


def check_vocab(vocab: Vocab, scan: ScanResult, min_count: int) -> None:
    """Raise a clear error when there is nothing to train on."""
    if scan.tokens == 0:
        raise W2VError("the corpus is empty: no words found")
    if len(vocab) < 2:
        raise W2VError(
            f"only {len(vocab)} word(s) occur at least min_count={min_count} times "
            f"in {scan.tokens} tokens; lower --min-count or use a larger corpus"
        )


SEGMENT_IDS = 1 << 20  # ids read at a time; segments end at the last sentence end within them


def iter_segments(
    ids: IdFile, mapping: np.ndarray, start: int = 0, block: int = SEGMENT_IDS
) -> Iterator[tuple[int, np.ndarray]]:
    """(offset after the segment, its final ids with SEP, OOV words removed), from id number `start`.

    `mapping` is the provisional->final map of `build_vocab`. Each segment is
    the ids up to the last sentence end within `block` ids (more, if a sentence
    is longer), so where a segment starts depends only on the id stream: a run
    can continue from any segment's offset. Memory stays bounded.
    Example: ids [5, -1, 7, 8, -1, 9] with block 4 -> (2, [5', -1]), (5, [7', 8', -1]), (6, [9', -1]).
    """
    lookup = np.append(mapping, np.int32(SEP))  # index -1 (SEP) maps to SEP
    pos = start
    while True:
        raw = ids.read(pos, block)
        if raw.size == 0:
            return
        ends = np.flatnonzero(raw == SEP)
        while ends.size == 0 and raw.size == block:  # a sentence longer than the block
            block *= 2
            raw = ids.read(pos, block)
            ends = np.flatnonzero(raw == SEP)
        cut = int(ends[-1]) + 1 if ends.size else raw.size
        mapped = lookup[raw[:cut]]
        mapped = mapped[mapped != DROP]
        if not ends.size:  # the stream's last sentence has no end
            mapped = np.append(mapped, np.int32(SEP))
        pos += cut
        yield pos, mapped


def write_vocab_file(f, vocab: Vocab) -> None:
    """word2vec.c's -save-vocab format to the binary file `f`: `word count` lines, most frequent first."""
    for start in range(0, len(vocab), 1 << 16):
        rows = zip(vocab.words[start : start + (1 << 16)], vocab.counts[start : start + (1 << 16)].tolist())
        f.write("".join(f"{w} {c}\n" for w, c in rows).encode("utf-8"))


def read_vocab_file(path: str | os.PathLike, lowercase: bool, strip_punctuation: bool) -> tuple[list[str], np.ndarray]:
    """Words and counts of a `word count` file; a W2VError naming the line of anything else.

    word2vec.c's `</s>` (its sentence-end token) is skipped: w2v ends sentences
    without a token. Every word must already be in the form the tokenisation
    options give (`normalise_word`), or it could never match the corpus.
    Example: a file "the 10\\ncat 3\\n" -> `(["the", "cat"], array([10, 3]))`.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise W2VError(f"cannot read vocabulary file {path}: {e.strerror or e}") from None
    words, counts, seen = [], [], set()
    for n, line in enumerate(lines, 1):
        parts = line.split()
        if not parts or parts[0] == "</s>":
            continue
        if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) < 1:
            raise W2VError(f"{path}: line {n} is not 'word count': {line.strip()!r}")
        word = parts[0]
        if word in seen:
            raise W2VError(f"{path}: line {n} repeats the word {word!r}")
        if normalise_word(word, lowercase, strip_punctuation) != word:
            raise W2VError(
                f"{path}: line {n}: {word!r} is not as the tokenisation options leave words "
                "(give the --lowercase/--strip-punctuation the file was made with)"
            )
        seen.add(word)
        words.append(word)
        counts.append(int(parts[1]))
    if not words:
        raise W2VError(f"vocabulary file {path} holds no 'word count' lines")
    return words, np.array(counts, np.int64)


def vocab_from_file(words: list[str], counts: np.ndarray, min_count: int, max_vocab: int) -> tuple[Vocab, np.ndarray]:
    """The vocabulary a file's words and counts give, and the map from file order to final ids."""
    order = sorted((i for i, c in enumerate(counts.tolist()) if c >= min_count), key=lambda i: (-counts[i], words[i]))
    if max_vocab:
        order = order[:max_vocab]
    mapping = np.full(len(words), DROP, np.int32)
    mapping[order] = np.arange(len(order), dtype=np.int32)
    return Vocab([words[i] for i in order], counts[order]), mapping
