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

from w2v_cli import native
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
    often enough, and, where some word is invalid UTF-8, the invalid ones and
    the valid ones holding U+FFFD (what invalid bytes decode to: they may merge).
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
    if not scan.valid.all():
        kept |= _holds_replacement(scan, ~kept)
    candidates = np.flatnonzero(kept)  # the base ids come first
    words, to_merged, bad = _decode_merged(scan.word_bytes(candidates), scan.valid[candidates], counts[candidates])
    merged_counts = np.zeros(len(words), np.int64)
    np.add.at(merged_counts, to_merged, counts[candidates])
    keep = _chosen(words, merged_counts, to_merged[: base.size], min_count, max_vocab)
    final = np.full(len(words), DROP, np.int32)
    final[keep] = np.arange(keep.size, dtype=np.int32)
    mapping = np.full(scan.counts.size, DROP, np.int32)
    mapping[candidates] = final[to_merged]
    return Vocab([words[j] for j in keep.tolist()], merged_counts[keep]), mapping, bad


def _holds_replacement(scan: ScanResult, among: np.ndarray) -> np.ndarray:
    """(n_words,) bool: the words of the `among` mask whose bytes hold U+FFFD."""
    ids = np.flatnonzero(among)
    holds = np.zeros(among.size, bool)
    holds[ids[[b"\xef\xbf\xbd" in raw for raw in scan.word_bytes(ids)]]] = True
    return holds


def _decode_merged(raws: list[bytes], valid: np.ndarray, counts: np.ndarray) -> tuple[list[str], np.ndarray, int]:
    """Decode `raws`; words that decode alike become one. Returns the distinct words,
    each raw's index among them, and the invalid bytes replaced (times their counts).

    The valid ones decode in one call (distinct valid UTF-8 decodes to distinct
    strings, and no token holds a newline); only invalid ones go one by one.
    Example: [b"ok", b"caf\\xe9", b"caf\\xff"] -> (["ok", "caf\\ufffd"], [0, 1, 1], replaced bytes).
    """
    good = np.flatnonzero(valid).tolist()
    words = b"\n".join([raws[i] for i in good]).decode("utf-8").split("\n") if good else []
    index = dict(zip(words, range(len(words))))
    to_merged = np.empty(len(raws), np.int64)
    to_merged[good] = np.arange(len(good))
    bad = 0
    for i in np.flatnonzero(~valid).tolist():
        word, nbad = decode_word(raws[i])
        bad += nbad * int(counts[i])
        to_merged[i] = index.setdefault(word, len(index))
        if to_merged[i] == len(words):
            words.append(word)
    return words, to_merged, bad


def _chosen(words: list[str], counts: np.ndarray, given: np.ndarray, min_count: int, max_vocab: int) -> np.ndarray:
    """Indices of the words to keep, by descending count, ties by word: every
    `given` one, and the max_vocab (0: all) most frequent others that reach min_count.

    Example: words ["b", "a", "c"], counts [5, 5, 9], given [], min_count 2, max_vocab 2 -> [2, 1].
    """
    by_word = np.array(sorted(range(len(words)), key=words.__getitem__), np.int64)
    order = by_word[np.argsort(-counts[by_word], kind="stable")]
    is_given = np.zeros(len(words), bool)
    is_given[given] = True
    new = order[(counts[order] >= min_count) & ~is_given[order]]
    chosen = is_given.copy()
    chosen[new[:max_vocab] if max_vocab else new] = True
    return order[chosen[order]]


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
    pos = start
    while True:
        raw = ids.read(pos, block)
        if raw.size == 0:
            return
        cut = end_cut(raw)
        while cut == 0 and raw.size == block:  # a sentence longer than the block
            block *= 2
            raw = ids.read(pos, block)
            cut = end_cut(raw)
        mapped = map_ids(raw[: cut or raw.size], mapping)
        if cut == 0:  # the stream's last sentence has no end
            mapped = np.append(mapped, np.int32(SEP))
        pos += cut or raw.size
        yield pos, mapped


def end_cut(ids: np.ndarray) -> int:
    """The index just past the last SEP in `ids`, or 0 if there is none. Example: [5, SEP, 7, 8] -> 2."""
    if native.available():
        return native.end_cut(ids)
    ends = np.flatnonzero(ids == SEP)
    return int(ends[-1]) + 1 if ends.size else 0


def map_ids(raw: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """Final ids of the provisional ids `raw` by `mapping`, SEP kept, words mapped to DROP left out.

    Example: raw [3, SEP, 0, 2, SEP], mapping [7, DROP, DROP, 5] -> [5, SEP, 7, SEP].
    """
    if native.available():
        return native.map_ids(raw, mapping)
    mapped = np.append(mapping, np.int32(SEP))[raw]  # index -1 (SEP) maps to SEP
    return mapped[mapped != DROP]


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
