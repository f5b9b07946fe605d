"""Load the compiled code (`kernel.c`, `scan.c`, `text.c` here, built at install as `w2v_kernel`) by ctypes.

ctypes releases the GIL for the length of every call, so training jobs on
several threads run in parallel. Each wrapper checks dtypes and contiguity
before the call (numpy's `ndpointer`), so a wrong array is a Python error, not
memory corruption. Importing this module loads nothing; `load()` does, once.

Left out: building the library. pip builds it at install time (`setup.py`);
where that failed, `available()` is False and training uses the numpy engine.
"""

from __future__ import annotations

import ctypes
import importlib.util
from functools import cache

import numpy as np
from numpy.ctypeslib import ndpointer

from w2v_cli.heap import huge_empty

ABI = 10  # must equal W2V_ABI in kernel.c
MODULE = "w2v_kernel"

i64, f64, u64, vp = ctypes.c_int64, ctypes.c_double, ctypes.c_uint64, ctypes.c_void_p


MAX_NEGATIVE = 127  # the kernel's row buffers hold MAX_CONTEXT (128) output rows


def _arr(dtype) -> type:
    return ndpointer(dtype, flags="C_CONTIGUOUS")


def _train_argtypes(real, cbow: bool) -> list:
    return [
        *(_arr(real), _arr(real), i64),  # W, C (V, d), d
        *(_arr(np.int32), _arr(np.int32), _arr(np.int32), _arr(np.uint8), i64),  # tokens, sentence, radius, centers, n
        *(vp, _arr(np.float64), _arr(np.int64), i64, i64),  # negatives or NULL, prob, alias, V, K
        i64,  # how many of the most frequent words' rows train in a private copy
        *(f64, f64, u64, i64),  # lr0, lr1, seed, loss_every
        *([i64] if cbow else []),  # mean_step
        *(ctypes.POINTER(f64), ctypes.POINTER(i64)),  # outputs: loss, measured
    ]


@cache
def load() -> ctypes.CDLL | None:
    """The kernel library with typed functions, or None if it is not installed or out of date."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.origin:
        return None
    try:
        lib = ctypes.CDLL(spec.origin)
    except OSError:
        return None
    lib.w2v_abi.restype = i64
    if lib.w2v_abi() != ABI:
        return None
    for model in ("positions", "cbow"):
        for suffix, real in (("f32", np.float32), ("f64", np.float64)):
            fn = getattr(lib, f"w2v_train_{model}_{suffix}")
            fn.restype, fn.argtypes = i64, _train_argtypes(real, model == "cbow")
    for suffix, real in (("f32", np.float32), ("f64", np.float64)):
        fn = getattr(lib, f"w2v_train_hs_{suffix}")
        fn.restype = i64
        fn.argtypes = [
            *(_arr(real), _arr(real), i64),  # W (V, d), theta (V - 1, d), d
            *(_arr(np.int32), _arr(np.int32), _arr(np.int32), _arr(np.uint8), i64),  # tokens, sentence, radius, ...
            *(_arr(np.int32), _arr(np.uint8), _arr(np.int32)),  # points, codes (V, MAX_CODE), codelen (V,)
            *(i64, i64, i64),  # inner nodes (V - 1); how many top nodes, and frequent words' W rows, train privately
            *(f64, f64, i64, i64, ctypes.POINTER(f64), ctypes.POINTER(i64)),  # lr0, lr1, loss_every, cbow, outputs
        ]
    lib.w2v_scan_block.restype = i64
    lib.w2v_scan_block.argtypes = [
        *(_arr(np.uint8), i64, _arr(np.int32), i64),  # buf, n, table, table size
        *(_arr(np.uint64), _arr(np.int64), _arr(np.int64), _arr(np.int64)),  # hashes, word_off, word_len, counts
        *(_arr(np.uint8), _arr(np.int64), _arr(np.int32), i64, i64),  # pool, state, out, max_sentence, flags
        *(_arr(np.uint8), _arr(np.int32), _arr(np.int32)),  # props, lower, extra
    ]
    lib.w2v_rehash.restype = None
    lib.w2v_rehash.argtypes = [_arr(np.int32), i64, _arr(np.uint64), i64]
    lib.w2v_compact.restype = i64
    lib.w2v_compact.argtypes = [
        *(_arr(np.uint8), i64, _arr(np.uint64), _arr(np.int64), _arr(np.int64), _arr(np.int64)),
        *(_arr(np.uint8), ctypes.POINTER(i64)),
    ]
    lib.w2v_format_text.restype = i64
    lib.w2v_format_text.argtypes = [_arr(np.uint8), _arr(np.int64), _arr(np.float64), i64, i64, _arr(np.uint8)]
    lib.w2v_keep_and_split.restype = i64
    lib.w2v_end_cut.restype = i64
    lib.w2v_end_cut.argtypes = [_arr(np.int32), i64]
    lib.w2v_map_ids.restype = i64
    lib.w2v_map_ids.argtypes = [_arr(np.int32), i64, _arr(np.int32), _arr(np.int32)]
    lib.w2v_keep_and_split.argtypes = [
        *(_arr(np.int32), _arr(np.float64), i64, _arr(np.float64), _arr(np.int32), _arr(np.int32))
    ]
    lib.w2v_utf8_valid.restype = None
    lib.w2v_utf8_valid.argtypes = [_arr(np.uint8), _arr(np.int64), _arr(np.int64), i64, _arr(np.uint8)]
    return lib


def available() -> bool:
    """True when the compiled kernels are installed and match this version of w2v."""
    return load() is not None


def _lib() -> ctypes.CDLL:
    lib = load()
    if lib is None:
        raise RuntimeError("the compiled kernel w2v_kernel is not installed or out of date; reinstall w2v")
    return lib


def train_positions(W, C, tokens, sentence, radius, centers, negatives, noise, K, lr0, lr1, seed, loss_every,
                    hot: int = 0):  # fmt: skip
    """Skip-gram negative-sampling updates of W, C (V, d) at every center position, in order.

    float32 or float64 W and C; tokens, sentence, radius (n,) int32; centers (n,)
    bool; negatives (n, K) int32, or None to draw them in the kernel from the
    alias table `noise` = (prob, alias). lr moves linearly from lr0 to lr1. The
    rows of the `hot` most frequent words (ids below it) train in private copies
    of W and C whose change is added at the end (0: all in place).
    Returns (loss of the measured centers, their pairs, all pairs trained).
    """
    args = (W, C, tokens, sentence, radius, centers, negatives, noise, K, lr0, lr1, seed, loss_every)
    return _train("positions", args, (), hot)


def train_cbow(W, C, tokens, sentence, radius, centers, negatives, noise, K, lr0, lr1, seed, loss_every, mean_step,
               hot: int = 0):  # fmt: skip
    """CBOW negative-sampling updates, arguments as `train_positions`; context rows step by 1/m if `mean_step`.

    Returns (loss of the measured centers, their count, all centers trained): a center is one prediction.
    """
    args = (W, C, tokens, sentence, radius, centers, negatives, noise, K, lr0, lr1, seed, loss_every)
    return _train("cbow", args, (int(mean_step),), hot)


def train_hs(W, theta, tokens, sentence, radius, centers, tree, lr0, lr1, loss_every, cbow: bool, hot: int = 0,
             hot_words: int = 0):  # fmt: skip
    """Hierarchical-softmax updates of W (V, d) and the inner-node vectors theta (V - 1, d), skip-gram or CBOW.

    tree = (points (V, 40) int32, codes (V, 40) uint8, codelen (V,) int32), as
    `engines.base.tree_arrays` builds from `losses.huffman_tree`. The `hot`
    highest-numbered inner nodes (the top of the tree), and the W rows of the
    `hot_words` most frequent words, train in private copies whose change is
    added at the end (0: all in place). Returns
    (loss of the measured predictions, their count, all predictions trained).
    """
    fn = getattr(_lib(), f"w2v_train_hs_{'f32' if W.dtype == np.float32 else 'f64'}")
    points, codes, codelen = tree
    n = tokens.size
    centers = np.ascontiguousarray(centers, np.bool_)
    if not (sentence.size == radius.size == centers.size == n) or W.dtype != theta.dtype:
        raise ValueError("tokens, sentence, radius and centers must have the same length; W and theta one dtype")
    if theta.shape != (W.shape[0] - 1, W.shape[1]) or points.shape != (W.shape[0], 40):
        raise ValueError("theta must be (V - 1, d) and the tree arrays (V, 40)")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= W.shape[0]):
        raise ValueError(f"word ids must lie in [0, {W.shape[0]})")
    loss, measured = f64(), i64()
    hot, hot_words = _clip(hot, theta.shape[0]), _clip(hot_words, W.shape[0])
    count = fn(
        W, theta, W.shape[1], tokens, sentence, radius, centers.view(np.uint8), n, points, codes, codelen,
        theta.shape[0], hot, hot_words, lr0, lr1, loss_every, int(cbow), ctypes.byref(loss), ctypes.byref(measured),
    )  # fmt: skip
    if count < 0:
        raise MemoryError("the training kernel could not allocate its scratch memory")
    return loss.value, measured.value, count


def _train(model: str, args: tuple, extra: tuple, hot: int):
    """Check the arrays and call w2v_train_{model}_f32 or _f64."""
    W, C, tokens, sentence, radius, centers, negatives, noise, K, lr0, lr1, seed, loss_every = args
    fn = getattr(_lib(), f"w2v_train_{model}_{'f32' if W.dtype == np.float32 else 'f64'}")
    n = tokens.size
    centers = np.ascontiguousarray(centers, np.bool_)
    for a in (tokens, sentence, radius, centers):
        if a.size != n:
            raise ValueError("tokens, sentence, radius and centers must have the same length")
    if negatives is not None:
        negatives = np.ascontiguousarray(negatives, np.int32)
        if negatives.shape != (n, K):
            raise ValueError(f"negatives must have shape ({n}, {K})")
    if not 1 <= K <= MAX_NEGATIVE:
        raise ValueError(f"the kernel takes 1 to {MAX_NEGATIVE} negatives, got {K}")
    prob, alias = noise
    _check_ids(W, C, tokens, negatives)
    loss, measured = f64(), i64()
    count = fn(
        W, C, W.shape[1], tokens, sentence, radius, centers.view(np.uint8), n,
        None if negatives is None else negatives.ctypes.data, prob, alias, prob.size, K, _clip(hot, W.shape[0]),
        lr0, lr1, seed, loss_every,
        *extra, ctypes.byref(loss), ctypes.byref(measured),
    )  # fmt: skip
    if count < 0:
        raise MemoryError("the training kernel could not allocate its scratch memory")
    return loss.value, measured.value, count


def _clip(rows: int, n: int) -> int:
    """A private-row count the kernel can take: 0 to n. Example: _clip(1024, 300) -> 300."""
    return min(max(int(rows), 0), n)


def _check_ids(W, C, tokens, negatives) -> None:
    """The kernel indexes rows without bounds checks: every id must be a row of W and C."""
    if W.shape != C.shape or W.dtype != C.dtype:
        raise ValueError("W and C must have the same shape and dtype")
    for ids in (tokens, negatives):
        if ids is not None and ids.size and (ids.min() < 0 or ids.max() >= W.shape[0]):
            raise ValueError(f"word ids must lie in [0, {W.shape[0]})")


def end_cut(ids: np.ndarray) -> int:
    """The index just past the last sentence end (-1) of int32 `ids`, 0 if there is none; see kernel.c."""
    return _lib().w2v_end_cut(np.ascontiguousarray(ids, np.int32), ids.size)


def map_ids(raw: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """`vocab.map_ids` in one compiled pass: final ids of int32 `raw`, -1 ends kept, DROP (-2) words left out."""
    raw, mapping = np.ascontiguousarray(raw, np.int32), np.ascontiguousarray(mapping, np.int32)
    if raw.size and raw.max() >= mapping.size:
        raise ValueError("every provisional id must index the mapping")
    out = huge_empty(raw.size, np.int32)
    return out[: _lib().w2v_map_ids(raw, raw.size, mapping, out)]


def keep_and_split(segment: np.ndarray, u: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, sentence) int32 of the words of `segment` (int32, -1 ends) with u < keep[id]; see kernel.c."""
    segment = np.ascontiguousarray(segment, np.int32)
    if u.shape != segment.shape or (segment.size and segment.max() >= keep.size):
        raise ValueError("u must match the segment, and every id index keep")
    tokens, sentence = huge_empty(segment.size, np.int32), huge_empty(segment.size, np.int32)
    k = _lib().w2v_keep_and_split(segment, u, segment.size, np.ascontiguousarray(keep, np.float64), tokens, sentence)
    return tokens[:k], sentence[:k]


def scan_block(buf, table, hashes, word_off, word_len, counts, pool, state, out, max_sentence, flags, tables) -> int:
    """Tokenise `buf` (uint8) into word ids in `out`; see `scan.CScanner` and `scan.c`."""
    return _lib().w2v_scan_block(
        buf, buf.size, table, table.size, hashes, word_off, word_len, counts, pool, state, out, max_sentence,
        flags, *tables,
    )  # fmt: skip


def rehash(table, hashes, n_words: int) -> None:
    """Insert words 0..n_words-1 into the empty `table` (all -1) by their hashes."""
    _lib().w2v_rehash(table, table.size, hashes, n_words)


def compact(keep, hashes, word_off, word_len, counts, pool) -> tuple[int, int]:
    """Keep words with `keep` (n,) uint8 set, renumbered in order, in place; returns (words, pool bytes)."""
    used = i64()
    k = _lib().w2v_compact(keep, keep.size, hashes, word_off, word_len, counts, pool, ctypes.byref(used))
    return k, used.value


def utf8_valid(pool, word_off, word_len) -> np.ndarray:
    """(n,) bool: whether each word pool[off:off+len] is valid UTF-8."""
    valid = np.zeros(word_off.size, np.uint8)
    _lib().w2v_utf8_valid(pool, word_off, word_len, word_off.size, valid)
    return valid.astype(bool)


TEXT_VALUE_BYTES = 16  # text.c's MAX_VALUE_CHARS: a space and "%.7g" of any double


def text_bound(words: list[bytes], d: int) -> int:
    """Bytes `format_text` may write for `words` and d values a row."""
    return sum(map(len, words)) + len(words) * (d * TEXT_VALUE_BYTES + 1)


def format_text(words: list[bytes], M: np.ndarray, out: np.ndarray) -> memoryview:
    """The word2vec text rows "word v1 ... vd\\n" of `words` (UTF-8) and M (n, d), each value as "%.7g".

    Written into `out` (uint8, at least `text_bound` bytes); returns the part written.
    """
    M = np.ascontiguousarray(M, np.float64)
    if M.ndim != 2 or M.shape[0] != len(words) or out.dtype != np.uint8 or out.size < text_bound(words, M.shape[1]):
        raise ValueError("M must be (n, d) for n words, and out uint8 of text_bound bytes")
    off = np.zeros(len(words) + 1, np.int64)
    np.cumsum([len(w) for w in words], out=off[1:])
    pool = np.frombuffer(b"".join(words), np.uint8) if off[-1] else np.zeros(1, np.uint8)
    n = _lib().w2v_format_text(pool, off, M, M.shape[0], M.shape[1], out)
    return memoryview(out)[:n]
