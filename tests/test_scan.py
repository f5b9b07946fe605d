"""The tokeniser: Unicode whitespace, normalisation, invalid UTF-8, block boundaries, bounded counting.

The definition is Python's: tokens are `text.split()` of the text decoded with
surrogateescape (invalid bytes kept), each normalised by `normalise_word`.
The compiled scanner is checked against that definition over every code
point; the Python scanner against the compiled one on random byte soup.
"""

import sys

import numpy as np
import pytest
from conftest import needs_kernel, write

from w2v_cli.corpus import iter_blocks
from w2v_cli.normalise import normalise_bytes, normalise_word
from w2v_cli.scan import IdFile, scan_corpus
from w2v_cli.scanners import Limit, PyScanner, ScanOptions

FLAGS = [(False, False), (True, False), (False, True), (True, True)]  # (lowercase, strip_punctuation)
SPACES = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]


def make(kind: str, opts: ScanOptions):
    from w2v_cli.scanners import CScanner

    return CScanner(opts) if kind == "c" else PyScanner(opts)


def reference(data: bytes, lowercase: bool, strip: bool) -> list[bytes]:
    """The tokens of `data` by definition."""
    tokens = data.decode("utf-8", "surrogateescape").split()
    forms = (normalise_word(t, lowercase, strip).encode("utf-8", "surrogateescape") for t in tokens)
    return [f for f in forms if f]


def tokens_of(scanner, data: bytes) -> list[bytes]:
    """The token stream the scanner sees in `data`, as bytes."""
    ids = scanner.feed(data)
    words = scanner.words
    return [words[i] for i in ids.tolist() if i >= 0]


def test_the_whitespace_set_is_python_isspace():
    assert len(SPACES) == 29 and "\u00a0" in SPACES and "\u3000" in SPACES and "\u200b" not in SPACES


@pytest.mark.parametrize("kind", ["python", pytest.param("c", marks=needs_kernel)])
def test_every_unicode_whitespace_character_separates_tokens(kind):
    text = "".join(f"a{s}b{s}{s}x{i}\n" for i, s in enumerate(SPACES)) + "zero\u200bwidth"
    data = text.encode("utf-8")
    tokens = tokens_of(make(kind, ScanOptions()), data)
    assert tokens == reference(data, False, False)
    assert tokens[:3] == [b"a", b"b", b"x0"] and len(tokens) == 3 * 29 + 1
    assert tokens[-1] == "zero\u200bwidth".encode()  # U+200B is not whitespace


@needs_kernel
@pytest.mark.parametrize("lowercase, strip", [(False, False), (True, True)])  # the others: the random test below
def test_compiled_scanner_follows_the_definition_on_every_code_point(lowercase, strip):
    """Each code point alone, after a sigma, and before one inside punctuation."""
    from w2v_cli.scanners import CScanner

    chars = [chr(c) for c in range(sys.maxunicode + 1) if not (0xD800 <= c <= 0xDFFF)]
    text = " ".join(f"{c} aΣ{c} (A{c}Σ)." for c in chars)
    data = text.encode("utf-8")
    scanner = CScanner(ScanOptions(1 << 30, lowercase, strip))
    assert tokens_of(scanner, data) == reference(data, lowercase, strip)


@needs_kernel
@pytest.mark.parametrize("lowercase, strip", FLAGS)
def test_python_and_compiled_scanners_agree_on_random_bytes_and_blocks(tmp_path, lowercase, strip):
    """Byte soup with whitespace, pieces of multi-byte whitespace, invalid UTF-8, cased and punctuation characters."""
    from w2v_cli.scanners import CScanner

    rng = np.random.default_rng(0)
    pieces = ["a", "B", "Σ", "İ", "ʰ", "'", ".", "(", "$", "\u00a0", "\u2003", "\u3000", " ", "\n", "\t", "\x1c"]
    soup = [p.encode() for p in pieces] + [b"\xc2", b"\xa0", b"\xe2\x80", b"\x80", b"\xff", b"\xed\xa0\x80"]
    data = b"".join(rng.choice(np.array(soup, dtype=object), 30_000))
    path = write(tmp_path / "soup.txt", data)
    opts = ScanOptions(7, lowercase, strip)
    py, c = PyScanner(opts), CScanner(opts)
    for block, _ in iter_blocks(path, block_size=97):
        assert np.array_equal(py.feed(block), c.feed(block))
    assert py.words == c.words and np.array_equal(py.counts, c.counts)
    whole = CScanner(opts)
    assert tokens_of(whole, data) == reference(data, lowercase, strip)
    py, c = PyScanner(opts), CScanner(opts)  # frozen on the first half's words, blocks of many batches
    py.feed(data[:15_000]), c.feed(data[:15_000])
    py.restart(frozen=True), c.restart(frozen=True)
    for block, _ in iter_blocks(path, block_size=4096):
        assert np.array_equal(py.feed(block), c.feed(block))
    assert np.array_equal(py.counts, c.counts) and py.tokens == c.tokens


def test_blocks_never_cut_a_token_or_a_multibyte_space(tmp_path):
    data = ("Champions\u00a0\u00a0league é\u2003ß " * 50 + "\n").encode() * 3
    path = write(tmp_path / "c.txt", data)
    blocks = [b for b, _ in iter_blocks(path, block_size=5)]
    assert b"".join(blocks) == data
    assert all(b[-1:] in b" \t\n\r\x0b\x0c" for b in blocks[:-1])


@pytest.mark.parametrize(
    "raw, lowercase, strip, expected",
    [
        ("Éire", True, False, "éire"),
        ("ΣΟΦΙΑ", True, False, "σοφια"),
        ("ΟΔΟΣ", True, False, "οδος"),  # final sigma
        ("İstanbul", True, False, "i̇stanbul"),  # a two-character lower case
        ("earth.", False, True, "earth"),
        ("(LUB).", False, True, "LUB"),
        ('"Hello,', True, True, "hello"),
        ("don't", False, True, "don't"),
        ("U.S.", False, True, "U.S"),
        ("3.14", False, True, "3.14"),
        ("e-mail", False, True, "e-mail"),
        ("«Guillemets»", False, True, "Guillemets"),
        ("$5", False, True, "$5"),  # symbols (S*) stay
        ("C++", False, True, "C++"),
        ("...", False, True, ""),  # only punctuation: dropped
    ],
)
def test_normalisation_examples(raw, lowercase, strip, expected):
    assert normalise_word(raw, lowercase, strip) == expected
    assert normalise_bytes(raw.encode(), lowercase, strip) == expected.encode()


@pytest.mark.parametrize("kind", ["python", pytest.param("c", marks=needs_kernel)])
def test_tokens_made_only_of_punctuation_are_dropped_not_counted(tmp_path, kind):
    path = write(tmp_path / "c.txt", "The cat , sat .\n-- . --\nthe CAT\n")
    ids = IdFile(tmp_path)
    scan = scan_corpus([path], ids, ScanOptions(lowercase=True, strip_punctuation=True, scanner=kind))
    assert scan.words == [b"the", b"cat", b"sat"] and scan.counts.tolist() == [2, 2, 1]
    assert scan.tokens == 5
    assert ids.read(0, 100).tolist() == [0, 1, 2, -1, 0, 1, -1]  # the all-punctuation line is gone


@pytest.mark.parametrize("kind", ["python", pytest.param("c", marks=needs_kernel)])
def test_a_pruned_count_keeps_the_frequent_words_with_exact_counts(tmp_path, kind):
    rng = np.random.default_rng(3)
    frequent = {f"f{i}": int(c) for i, c in enumerate(rng.integers(20, 60, 30))}
    tokens = [w for w, c in frequent.items() for _ in range(c)] + [f"rare{i}" for i in range(30_000)]
    rng.shuffle(tokens)
    path = write(tmp_path / "c.txt", "\n".join(" ".join(tokens[i : i + 50]) for i in range(0, len(tokens), 50)))
    limit = Limit(words=4096, pool=1 << 20)
    ids = IdFile(tmp_path)
    scan = scan_corpus([path], ids, ScanOptions(limit=limit, scanner=kind))
    assert scan.pruning is not None and scan.pruning.prunes >= 2
    assert scan.counts.size <= limit.words
    got = dict(zip((w.decode() for w in scan.words), scan.counts.tolist()))
    assert all(got[w] == c for w, c in frequent.items())  # counted exactly in the second pass
    assert all(c > scan.pruning.guaranteed for c in frequent.values())
    # the id stream is the second pass's: every frequent occurrence is in it
    stream = ids.read(0, 1 << 20)
    index = {w.decode(): i for i, w in enumerate(scan.words)}
    assert all(np.count_nonzero(stream == index[w]) == c for w, c in frequent.items())


@needs_kernel
def test_pruning_gives_the_same_ids_in_both_scanners(tmp_path):
    rng = np.random.default_rng(4)
    words = np.array([f"w{i}" for i in rng.zipf(1.3, 40_000) % 20_000])
    path = write(tmp_path / "c.txt", " ".join(words.tolist()))
    limit = Limit(words=2048, pool=1 << 20)
    runs = []
    for kind in ("python", "c"):
        ids = IdFile(tmp_path)
        scan = scan_corpus([path], ids, ScanOptions(limit=limit, scanner=kind))
        runs.append((scan.words, scan.counts.tolist(), scan.pruning.floors, ids.read(0, 1 << 20).tolist()))
    assert runs[0] == runs[1] and runs[0][2]
