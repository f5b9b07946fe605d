"""Token normalisation for raw text: what `lowercase` and `strip_punctuation` do to a token.

The definition is Python's own string methods, applied to each token after
the corpus is split on Unicode whitespace:

    strip_punctuation: token.strip(PUNCTUATION)   # Unicode category P*, both ends only
    lowercase:         token.lower()              # full case mapping, final sigma included

in that order; a token that strips to nothing is dropped. Symbols (category
S*: "$", "+", "£", "©") are kept, because they carry meaning ("C++", "$5").
Example: `normalise_word('"Hello,', True, True)` -> `"hello"`.

The compiled scanner does the same on bytes with the tables `tables()` builds
from this Python's `unicodedata`, so both agree character by character (tested
over every code point). Invalid UTF-8 bytes pass through unchanged, as neither
punctuation nor letters (`normalise_bytes`).

Left out: Unicode normalisation forms (NFC/NFKC), casefolding ("ß" stays
"ß"), and splitting punctuation off as separate tokens.
"""

from __future__ import annotations

import sys
import unicodedata
from functools import cache

import numpy as np

PUNCT, CASED, IGNORABLE = 1, 2, 4  # bits of `tables()`'s props
SIGMA = 0x3A3  # GREEK CAPITAL LETTER SIGMA, whose lower case depends on its neighbours


@cache
def punctuation() -> str:
    """Every character of Unicode category P* (in this Python's Unicode version)."""
    return "".join(c for c in _all_chars() if unicodedata.category(c)[0] == "P")


def normalise_word(word: str, lowercase: bool, strip_punctuation: bool) -> str:
    """The normalised form of one token ("" if it is dropped); see the module docstring."""
    if strip_punctuation:
        word = word.strip(punctuation())
    return word.lower() if lowercase else word


def normalise_bytes(raw: bytes, lowercase: bool, strip_punctuation: bool) -> bytes:
    """`normalise_word` on UTF-8 bytes; invalid bytes are kept as they are.

    Example: `normalise_bytes(b"Caf\\xe9.", True, True)` -> `b"caf\\xe9"`.
    """
    word = raw.decode("utf-8", "surrogateescape")
    return normalise_word(word, lowercase, strip_punctuation).encode("utf-8", "surrogateescape")


@cache
def _all_chars() -> str:
    """Every code point except surrogates and whitespace (which never occurs inside a token), as one string."""
    cps = np.arange(sys.maxunicode + 1, dtype="<u4")
    cps = cps[(cps < 0xD800) | (cps > 0xDFFF)]
    spaces = [ord(c) for c in _text(cps[cps <= 0x3000]) if c.isspace()]  # U+3000 is the last one
    return _text(cps[~np.isin(cps, spaces)])


def _text(cps: np.ndarray) -> str:
    """The string of code points `cps`; `_text(np.array([104, 105]))` -> `"hi"`."""
    return np.ascontiguousarray(cps, "<u4").tobytes().decode("utf-32-le")


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), "<u4")


def _probe(rows: np.ndarray) -> np.ndarray:
    """Lower-case each row of code points (n, k) as its own string (rows end in a space); (n, k) again.

    Every character in `rows` must lower-case to a single character.
    """
    return _code_points(_text(rows).lower()).reshape(rows.shape)


def _sigma_props(c: str) -> int:
    """CASED or IGNORABLE for one character, asked of str.lower directly (see `tables`)."""
    after = ("a\u03a3" + c + " ").lower()[1] == "\u03c3"
    before = ("a" + c + "\u03a3 ").lower()[-2] == "\u03c2"
    return CASED * after + IGNORABLE * (before and not after)


@cache
def tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(props, lower, extra) for the compiled scanner, indexed by code point.

    props (0x110000,) uint8: PUNCT, and for final sigma CASED (cased and not
    case-ignorable) and IGNORABLE as `str.lower` sees them, found by asking it:
    in "aΣx", Σ stays "σ" only when x is CASED; in "axΣ", Σ becomes "ς" only
    when x is CASED or IGNORABLE. lower (0x110000,) int32: the lower-case code
    point, or -1-k for a multi-character mapping stored in extra at k as
    [length, code points...].
    """
    chars = _all_chars()
    cps = _code_points(chars).astype(np.int64)
    low = _code_points(" ".join(chars).lower() + " ")  # each character lower-cased, then a space
    ends = np.flatnonzero(low == 0x20)
    single = np.diff(ends, prepend=-1) == 2
    one = cps[single]
    props = np.zeros(sys.maxunicode + 1, np.uint8)
    lower = np.arange(sys.maxunicode + 1, dtype=np.int32)
    lower[one] = low[ends[single] - 1]
    a, sigma, space = (np.full(one.size, c) for c in (ord("a"), SIGMA, ord(" ")))
    after = _probe(np.stack([a, sigma, one, space], 1))[:, 1] == 0x3C3
    before = _probe(np.stack([a, one, sigma, space], 1))[:, 2] == 0x3C2
    props[one] = CASED * after + IGNORABLE * (before & ~after)
    extra: list[int] = []
    for cp in cps[~single].tolist():  # multi-character lower case (U+0130): one by one
        c = chr(cp)
        props[cp] = _sigma_props(c)
        lower[cp] = -1 - len(extra)
        extra += [len(c.lower()), *map(ord, c.lower())]
    props[cps[[unicodedata.category(c)[0] == "P" for c in chars]]] |= PUNCT
    return props, lower, np.array(extra or [0], np.int32)
