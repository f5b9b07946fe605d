"""w2v: a command-line trainer for word2vec embeddings, and the library under it.

`train(...)` and `load(path)` (see `api`) give `Vectors` with `most_similar`,
`analogy`, `vector(word)` / `vectors[word]` and `save(path)`. `w2v_cli.cli` is
a thin click shell over the same library.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"
__all__ = ["Vectors", "W2VError", "load", "train"]


def __getattr__(name: str) -> Any:
    """Import the API on first use, so `import w2v_cli` (and `w2v --help`) stays fast."""
    if name in ("train", "load"):
        from w2v_cli import api

        return getattr(api, name)
    if name == "Vectors":
        from w2v_cli.vectors import Vectors

        return Vectors
    if name == "W2VError":
        from w2v_cli.errors import W2VError

        return W2VError
    raise AttributeError(f"module 'w2v_cli' has no attribute {name!r}")
