"""Converting vectors between formats, and what a model file says about itself.

Formats: `text` (.txt, .vec), `bin` (.bin), `native` (.w2v) and `tsv`, the
TensorBoard Embedding Projector's pair: vectors.tsv (tab-separated values, no
header) and metadata.tsv (one word per line). A tsv target is a directory, or a
`.tsv` file path with metadata.tsv written beside it. The native format keeps
counts, the output matrix and training metadata when the source has them.
Every file is written to a temporary name and renamed into place.

Example: `convert("out/model.w2v", "emb.vec")` writes word2vec text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from w2v_cli.errors import W2VError
from w2v_cli.vectors import (
    MAGIC,
    NATIVE_NAME,
    Vectors,
    atomic_dir,
    load_vectors,
    read_native,
    write_binary,
    write_native,
    write_text,
)

FORMATS = ("text", "bin", "native", "tsv")
EXTENSIONS = {".txt": "text", ".vec": "text", ".bin": "bin", ".w2v": "native", ".tsv": "tsv"}


def target_format(out: Path, to: str | None) -> str:
    """The output format: `to` if given, else from the extension (a directory means tsv)."""
    if to:
        if to not in FORMATS:
            raise W2VError(f"unknown format {to!r} (allowed: {', '.join(FORMATS)})")
        return to
    if out.is_dir():
        return "tsv"
    fmt = EXTENSIONS.get(out.suffix.lower())
    if fmt is None:
        raise W2VError(f"cannot tell the format of {out} from its extension; use --to {'|'.join(FORMATS)}")
    return fmt


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


def load_any(path: Path) -> tuple[Vectors, np.ndarray | None]:
    """Vectors (and the output matrix, native only) from any supported file or directory."""
    if path.is_dir():
        if (path / "vectors.tsv").is_file():
            return read_tsv(path), None
        if (path / NATIVE_NAME).is_file():
            path = path / NATIVE_NAME
    if path.is_file() and path.suffix.lower() == ".tsv":
        return read_tsv(path), None
    if path.is_file():
        with open(path, "rb") as f:
            if f.read(8) == MAGIC:
                return read_native(path)
    return load_vectors(path), None


def convert(src: str | Path, dst: str | Path, to: str | None = None) -> list[Path]:
    """Write the vectors of `src` to `dst` in the target format; returns the files written."""
    src, dst = Path(src), Path(dst)
    vecs, C = load_any(src)
    fmt = target_format(dst, to)
    if fmt == "tsv":
        vec_path, meta_path = tsv_paths(dst)
        vec_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_dir(vec_path.parent) as open_tmp:
            write_tsv(open_tmp(vec_path.name), open_tmp(meta_path.name), vecs.words, vecs.matrix)
        return [vec_path, meta_path]
    if not dst.parent.is_dir():
        raise W2VError(f"output directory {dst.parent} does not exist")
    with atomic_dir(dst.parent) as open_tmp:
        f = open_tmp(dst.name)
        if fmt == "text":
            write_text(f, vecs.words, vecs.matrix)
        elif fmt == "bin":
            write_binary(f, vecs.words, vecs.matrix)
        else:
            meta = dict(vecs.meta) or {"converted_from": str(src)}
            write_native(f, vecs.words, vecs.counts, vecs.matrix, C, meta)
    return [dst]


def model_info(path: str | Path) -> dict:
    """Vocabulary size, dimension and, for native models, the training config and metrics."""
    p = Path(path)
    if p.is_dir() and (p / "model.w2v").is_file():
        p = p / "model.w2v"
    vecs, C = load_any(p)
    info = {
        "path": str(p),
        "vocab_size": len(vecs.words),
        "dim": vecs.dim,
        "has_counts": vecs.counts is not None,
        "has_output_matrix": C is not None,
    }
    info.update(vecs.meta)
    return info
