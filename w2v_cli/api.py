"""The Python API: `train` and `load`, for notebooks and scripts.

    >>> import w2v_cli
    >>> vecs = w2v_cli.train("corpus.txt", dim=50, epochs=3)   # doctest: +SKIP
    >>> vecs.most_similar("paris", k=3)                        # doctest: +SKIP
    >>> w2v_cli.load("out").analogy("man", "king", "woman")     # doctest: +SKIP

`train` takes the config keys of `w2v train` as keyword arguments (see
`config.TrainConfig`) and returns the trained `Vectors`. It writes an output
directory only when `output` is given; otherwise the temporary id file goes to
the system's temporary directory and nothing stays on disk.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from w2v_cli.vectors import Vectors


def train(
    corpus: str | os.PathLike | list[str | os.PathLike] | None = None,
    *,
    config: str | os.PathLike | None = None,
    progress: bool = False,
    **settings: Any,
) -> Vectors:
    """Train vectors on `corpus` with `settings` (config keys) over an optional YAML `config`.

    `progress=True` shows the progress bars and notes on stderr. Errors are
    `W2VError`s with the same one-line messages as the CLI's.
    """
    from w2v_cli.config import FIELDS, resolve_config
    from w2v_cli.errors import W2VError
    from w2v_cli.pipeline import train as run
    from w2v_cli.pipeline import train_and_save
    from w2v_cli.progress import Progress, TerminalProgress

    unknown = sorted(set(settings) - set(FIELDS) - {"corpus"})
    if unknown:
        raise W2VError(f"unknown setting '{unknown[0]}' (allowed: {', '.join(FIELDS)})")
    if corpus is not None:
        settings["corpus"] = [str(p) for p in corpus] if isinstance(corpus, list) else [str(corpus)]
    cfg = resolve_config(str(config) if config else None, settings)
    report = TerminalProgress() if progress else Progress()
    if "output" in settings:
        return train_and_save(cfg, report)[0]
    return run(cfg, report, workdir=tempfile.gettempdir())


def load(path: str | os.PathLike) -> Vectors:
    """Vectors from any file w2v reads (word2vec text/binary, native, TSV) or a training output directory."""
    from w2v_cli.files import load_vectors

    return load_vectors(path)
