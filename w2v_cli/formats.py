"""Vector file formats: word2vec text and binary, the native format, projector TSV; atomic writes.

- word2vec text: header `V d`, then `word v1 ... vd` per line (what gensim's
  `KeyedVectors.load_word2vec_format` reads). Headerless GloVe-style text is read too.
- word2vec binary: header `V d\\n`, then per word `word<space>` and d little-endian
  float32 (a newline after each vector, as word2vec.c writes; optional on read).
- native (`model.w2v`): `W2VMODEL`, a little-endian u64 header length, a JSON
  header (words, counts, shapes, config, metrics), then W and C as float32,
  each 64-byte aligned, so loading is a memory map.
- TSV, the TensorBoard Embedding Projector's pair: vectors.tsv (tab-separated
  values, no header) and metadata.tsv (one word per line).

`atomic_dir` writes files under temporary names and renames them into place
only when all are written: a failed write never leaves a half-written file or
damages an earlier one.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from w2v_cli import native
from w2v_cli.errors import W2VError
from w2v_cli.vectors import Vectors

MAGIC = b"W2VMODEL"
NATIVE_NAME = "model.w2v"
ALIGN = 64


# ---------------------------------------------------------------- writing


CHUNK = 1024  # rows formatted at a time: 100-d rows as Python floats take about 3 MiB


def write_text(f, words: list[str], M: np.ndarray) -> None:
    """word2vec text format to the binary file object `f` (UTF-8, each value as "%.7g").

    The compiled formatter (`native/text.c`) writes the rows where it is installed,
    `text_rows` (the reference, byte for byte the same) where it is not.
    """
    check_words(words)
    f.write(f"{len(words)} {M.shape[1]}\n".encode())
    compiled, out = native.available(), np.empty(0, np.uint8)
    for start in range(0, len(words), CHUNK):
        part, rows = [w.encode("utf-8") for w in words[start : start + CHUNK]], M[start : start + CHUNK]
        if not compiled:
            f.write(text_rows(part, rows))
            continue
        need = native.text_bound(part, M.shape[1])
        if out.size < need:  # one buffer for every chunk: no page faults each time
            out = np.empty(need, np.uint8)
        f.write(native.format_text(part, rows, out))


def text_rows(words: list[bytes], M: np.ndarray) -> bytes:
    """The text format's rows in Python: `text_rows([b"a"], np.array([[0.5, 1e-05]]))` -> b"a 0.5 1e-05\\n"."""
    fmt = b"%s" + b" %.7g" * M.shape[1] + b"\n"
    return b"".join(fmt % (w, *r) for w, r in zip(words, M.tolist()))


def write_binary(f, words: list[str], M: np.ndarray) -> None:
    """word2vec binary format to the binary file object `f`."""
    check_words(words)
    f.write(f"{len(words)} {M.shape[1]}\n".encode())
    data = np.ascontiguousarray(M, dtype="<f4")
    for start in range(0, len(words), CHUNK):
        part = data[start : start + CHUNK]
        f.write(
            b"".join(
                w.encode("utf-8") + b" " + row.tobytes() + b"\n" for w, row in zip(words[start : start + CHUNK], part)
            )
        )


def unholdable(words: list[str]) -> str | None:
    """The first word the word2vec formats cannot hold (empty, or with whitespace inside), or None.

    Joined by spaces and split again, the words come back unchanged exactly when
    every one is non-empty and free of whitespace (one pass in C, not one per word).
    """
    if " ".join(words).split() == list(words):
        return None
    return next((w for w in words if not w or any(c.isspace() for c in w)), None)


def check_words(words: list[str]) -> None:
    """word2vec formats cannot hold a word with whitespace in it."""
    bad = unholdable(words)
    if bad is not None:
        raise W2VError(f"word {bad!r} is empty or contains whitespace; word2vec formats cannot hold it")


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def write_native(f, words, counts, W: np.ndarray, C: np.ndarray | None, meta: dict) -> None:
    """Native format: magic, header length, JSON header, aligned float32 W and C."""
    V, d = W.shape
    header = dict(
        meta,
        format="w2v-native",
        version=1,
        vocab_size=V,
        dim=d,
        dtype="<f4",
        words=list(words),
        counts=None if counts is None else [int(c) for c in counts],
        has_output=C is not None,
        output_rows=None if C is None else int(C.shape[0]),  # V, or V - 1 inner nodes for hierarchical softmax
    )
    blob = json.dumps(header, ensure_ascii=False).encode("utf-8")
    f.write(MAGIC + struct.pack("<Q", len(blob)) + blob)
    f.write(b"\0" * (_align(16 + len(blob)) - 16 - len(blob)))
    for M in [W] + ([C] if C is not None else []):
        data = np.ascontiguousarray(M, dtype="<f4")
        f.write(memoryview(data).cast("B"))  # no copy of the matrix
        f.write(b"\0" * (_align(data.nbytes) - data.nbytes))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_dir(outdir: Path):
    """Yield `open_tmp(name)`; on success rename every file into place, else delete them.

    An OSError on the way (a full disk, an I/O error) becomes one W2VError line.

    Example: `with atomic_dir(p) as open_tmp: open_tmp("a.txt").write(b"x")`.
    """
    staged: list[tuple[str, Path]] = []
    handles = []

    def open_tmp(name: str):
        fd, tmp = tempfile.mkstemp(dir=outdir, prefix=f".{name}.", suffix=".tmp")
        os.chmod(tmp, 0o666 & ~_umask())
        staged.append((tmp, outdir / name))
        handles.append(os.fdopen(fd, "wb"))
        return handles[-1]

    try:
        yield open_tmp
        for h in handles:
            h.flush()
            os.fsync(h.fileno())
            h.close()
        for tmp, final in staged:
            os.replace(tmp, final)
    except BaseException as e:
        _discard(handles, staged)
        if isinstance(e, OSError):  # a full disk, a quota, an I/O error: one line, nothing left behind
            raise W2VError(f"cannot write output in {outdir}: {e.strerror or e}") from None
        raise


def _discard(handles: list, staged: list[tuple[str, Path]]) -> None:
    """Close and delete every staged temporary file."""
    for h in handles:
        try:
            h.close()
        except OSError:  # a full disk fails the flush in close too; the file goes anyway
            pass
    for tmp, _ in staged:
        Path(tmp).unlink(missing_ok=True)


# ---------------------------------------------------------------- reading


def read_native(path: Path, mmap: bool = True) -> Vectors:
    """Load a native file: W, and C as `output` when it was saved. Memory-mapped by default."""
    with open(path, "rb") as f:
        head = f.read(16)
        if len(head) < 16 or head[:8] != MAGIC:
            raise W2VError(f"{path} is not a w2v native model file")
        (n,) = struct.unpack("<Q", head[8:])
        try:
            header = json.loads(f.read(n).decode("utf-8"))
            V, d = int(header["vocab_size"]), int(header["dim"])
        except (ValueError, KeyError, TypeError):
            raise W2VError(f"{path}: damaged native model header") from None
    offset = _align(16 + n)
    mats = []
    rows = [V] + ([int(header.get("output_rows") or V)] if header.get("has_output") else [])
    for r in rows:  # W (V, d), then C: (V, d), or (V - 1, d) for hierarchical softmax
        if offset + r * d * 4 > path.stat().st_size:
            raise W2VError(f"{path}: truncated native model file")
        if mmap:
            mats.append(np.memmap(path, dtype="<f4", mode="r", offset=offset, shape=(r, d)))
        else:
            mats.append(np.fromfile(path, dtype="<f4", count=r * d, offset=offset).reshape(r, d))
        offset += _align(r * d * 4)
    counts = np.array(header["counts"], np.int64) if header.get("counts") else None
    meta = {k: header[k] for k in ("config", "metrics", "converted_from", "checkpoint") if k in header}
    return Vectors(header["words"], mats[0], counts, meta, mats[1] if len(mats) > 1 else None)


def _parse_header(line: bytes, path: Path) -> tuple[int, int] | None:
    parts = line.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        V, d = int(parts[0]), int(parts[1])
        if d <= 0:
            raise W2VError(f"{path}: header says dimension {d}")
        return V, d
    return None


def read_text(path: Path) -> Vectors:
    """word2vec text format (or headerless GloVe text); undecodable bytes are replaced."""
    words: list[str] = []
    chunks: list[np.ndarray] = []
    with open(path, "rb") as f:
        first = f.readline()
        header = _parse_header(first, path)
        lines = [] if header else [first]
        d = header[1] if header else len(first.rstrip().split(b" ")) - 1
        if d <= 0:
            raise W2VError(f"{path} is not a word2vec text file (no vectors on the first line)")
        lineno = 1 if header else 0
        while True:
            lines += f.readlines(1 << 22)
            if not lines:
                break
            chunks.append(_parse_text_lines(lines, d, words, path, lineno))
            lineno += len(lines)
            lines = []
    if header and header[0] != len(words):
        raise W2VError(f"{path}: header says {header[0]} words, file has {len(words)}")
    M = np.concatenate(chunks) if chunks else np.zeros((0, d), np.float32)
    return Vectors(words, M)


def _parse_text_lines(lines: list[bytes], d: int, words: list[str], path: Path, lineno: int) -> np.ndarray:
    values = []
    for i, line in enumerate(lines):
        parts = line.rstrip().rsplit(b" ", d)
        if len(parts) != d + 1:
            raise W2VError(f"{path}: line {lineno + i + 1} has {len(parts) - 1} values, expected {d}")
        words.append(parts[0].decode("utf-8", "replace"))
        values.extend(parts[1:])
    flat = np.array(values, dtype=np.float32) if values else np.zeros(0, np.float32)
    if flat.size != d * len(lines):
        raise W2VError(f"{path}: malformed vector values near line {lineno + 1}")
    return flat.reshape(len(lines), d)


def read_binary(path: Path) -> Vectors:
    """word2vec binary format; words cut mid-character are decoded leniently."""
    buf = path.read_bytes()
    nl = buf.find(b"\n")
    header = _parse_header(buf[:nl], path) if nl > 0 else None
    if header is None:
        raise W2VError(f"{path} is not a word2vec binary file (bad header)")
    V, d = header
    words, M, pos = [], np.empty((V, d), np.float32), nl + 1
    for i in range(V):
        while pos < len(buf) and buf[pos] in b"\n\r":
            pos += 1
        sp = buf.find(b" ", pos)
        if sp < 0 or sp + 1 + 4 * d > len(buf):
            raise W2VError(f"{path}: truncated word2vec binary file at word {i + 1} of {V}")
        words.append(buf[pos:sp].decode("utf-8", "replace"))
        M[i] = np.frombuffer(buf, "<f4", d, sp + 1)
        pos = sp + 1 + 4 * d
    return Vectors(words, M)


def looks_binary(path: Path) -> bool:
    """True if the record after the `V d` header is not a line of d decimal numbers."""
    with open(path, "rb") as f:
        header = _parse_header(f.readline(), path)
        if header is None:
            return False
        sample = f.read(64 + 40 * header[1])
    line = sample.split(b"\n", 1)[0]
    parts = line.rstrip().rsplit(b" ", header[1])
    if len(parts) != header[1] + 1:
        return True
    try:
        [float(p) for p in parts[1:]]
    except ValueError:
        return True
    return False


def tsv_paths(path: Path) -> tuple[Path, Path]:
    """(vectors.tsv, metadata.tsv) for a directory or a .tsv file path."""
    if path.suffix.lower() == ".tsv":
        return path, path.with_name("metadata.tsv")
    return path / "vectors.tsv", path / "metadata.tsv"


def read_tsv(path: Path) -> Vectors:
    """Projector TSV: vectors.tsv plus metadata.tsv (one word per line, single column)."""
    vec_path, meta_path = tsv_paths(path)
    if not vec_path.is_file() or not meta_path.is_file():
        raise W2VError(f"{path}: expected {vec_path.name} and {meta_path.name} side by side")
    words = meta_path.read_text(encoding="utf-8", errors="replace").split("\n")
    if words and words[-1] == "":
        words.pop()
    try:
        M = np.loadtxt(vec_path, delimiter="\t", dtype=np.float32, ndmin=2)
    except ValueError as e:
        raise W2VError(f"{vec_path}: not tab-separated numbers ({e})") from None
    if len(words) != M.shape[0]:
        raise W2VError(f"{meta_path} has {len(words)} words but {vec_path} has {M.shape[0]} vectors")
    return Vectors(words, M)


def write_tsv(vec_f, meta_f, words: list[str], M: np.ndarray) -> None:
    fmt = "\t".join(["%.7g"] * M.shape[1]) + "\n"
    for start in range(0, len(words), 4096):
        vec_f.write("".join(fmt % tuple(r) for r in M[start : start + 4096].tolist()).encode())
    meta_f.write("".join(w + "\n" for w in words).encode("utf-8"))
