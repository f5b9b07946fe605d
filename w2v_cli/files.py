"""Loading and saving vectors in every format w2v knows, training output directories, model info.

`load_vectors` reads word2vec text or binary (gensim's, word2vec.c's,
fastText's .vec), headerless GloVe text, the native format (with counts, the
output matrix and training metadata) and projector TSV, or a training output
directory. `save_vectors` writes one file in the format its extension (or
`to`) names; `save_model` writes a training run's whole output directory.
Every file is written to a temporary name and renamed into place.

Example: `convert("out/model.w2v", "emb.vec")` writes word2vec text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from w2v_cli.checkpoint import NAME as CHECKPOINT
from w2v_cli.errors import W2VError
from w2v_cli.formats import (
    MAGIC,
    NATIVE_NAME,
    atomic_dir,
    looks_binary,
    read_binary,
    read_native,
    read_text,
    read_tsv,
    tsv_paths,
    write_binary,
    write_native,
    write_text,
    write_tsv,
)
from w2v_cli.vectors import Vectors

FORMATS = ("text", "bin", "native", "tsv")
EXTENSIONS = {".txt": "text", ".vec": "text", ".bin": "bin", ".w2v": "native", ".tsv": "tsv"}
OUTPUT_FILES = ("vectors.txt", "vectors.bin", NATIVE_NAME, "config.yaml", "metrics.json")


def load_vectors(path: str | os.PathLike, allow_partial: bool = False) -> Vectors:
    """Load any supported file, or an output directory (its model.w2v, else vectors.bin, .txt or .tsv).

    A directory that holds only the checkpoint of an unfinished run is refused,
    unless `allow_partial`: then its vectors, as far as training got, are used.
    """
    p = Path(path)
    if p.is_dir():
        for name in (NATIVE_NAME, "vectors.bin", "vectors.txt", "vectors.tsv"):
            if (p / name).is_file():
                return load_vectors(p / name)
        if (p / CHECKPOINT).is_file():
            if allow_partial:
                return load_vectors(p / CHECKPOINT)
            raise W2VError(
                f"{p} holds only the checkpoint of an unfinished run; finish it with `w2v train --resume {p}`, "
                "or pass --allow-partial to use its vectors as they are"
            )
        raise W2VError(f"{p} holds no model.w2v, vectors.bin, vectors.txt or vectors.tsv")
    if not p.is_file():
        raise W2VError(f"model {p} does not exist")
    try:
        vecs = _read_file(p)
    except OSError as e:
        raise W2VError(f"cannot read model {p}: {e.strerror or e}") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise W2VError(f"{p} is not a word2vec text/binary or w2v native file ({e})") from None
    if not vecs.words:
        raise W2VError(f"{p} holds no vectors")
    return vecs


def _read_file(p: Path) -> Vectors:
    if p.suffix.lower() == ".tsv":
        return read_tsv(p)
    with open(p, "rb") as f:
        magic = f.read(8)
    if magic == MAGIC:
        return read_native(p)
    return read_binary(p) if looks_binary(p) else read_text(p)


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


def save_vectors(vecs: Vectors, dst: str | os.PathLike, to: str | None = None, source: str = "") -> list[Path]:
    """Write `vecs` to `dst` in the target format; returns the files written."""
    dst = Path(dst)
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
            meta = dict(vecs.meta) or ({"converted_from": source} if source else {})
            write_native(f, vecs.words, vecs.counts, vecs.matrix, vecs.output, meta)
    return [dst]


def convert(src: str | os.PathLike, dst: str | os.PathLike, to: str | None = None) -> list[Path]:
    """Write the vectors of `src` to `dst` in the target format; returns the files written."""
    return save_vectors(load_vectors(src), dst, to, source=str(src))


def save_model(outdir: Path, vecs: Vectors) -> list[Path]:
    """Write a run's vectors.txt, vectors.bin, model.w2v, config.yaml and metrics.json atomically."""
    import yaml  # only saving needs it; queries start faster without

    config, metrics = vecs.meta.get("config", {}), vecs.meta.get("metrics", {})
    txt, bin_, native, cfg_name, metrics_name = OUTPUT_FILES
    try:
        with atomic_dir(outdir) as open_tmp:
            write_text(open_tmp(txt), vecs.words, vecs.matrix)
            write_binary(open_tmp(bin_), vecs.words, vecs.matrix)
            write_native(open_tmp(native), vecs.words, vecs.counts, vecs.matrix, vecs.output, vecs.meta)
            open_tmp(cfg_name).write(yaml.safe_dump(config, sort_keys=False).encode())
            open_tmp(metrics_name).write(json.dumps(metrics, indent=2).encode() + b"\n")
    except OSError as e:
        raise W2VError(f"cannot write output in {outdir}: {e.strerror or e}") from None
    return [outdir / n for n in OUTPUT_FILES]


def model_info(path: str | os.PathLike) -> dict:
    """Vocabulary size, dimension and, for native models, the training config and metrics."""
    p = Path(path)
    for name in (NATIVE_NAME, CHECKPOINT):
        if p.is_dir() and (p / name).is_file():
            p = p / name
            break
    vecs = load_vectors(p)
    info = {
        "path": str(p),
        "vocab_size": len(vecs.words),
        "dim": vecs.dim,
        "has_counts": vecs.counts is not None,
        "has_output_matrix": vecs.output is not None,
    }
    info.update(vecs.meta)
    return info
