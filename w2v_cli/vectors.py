"""Word vectors with their vocabulary: what training returns, what `w2v_cli.load` gives back.

A `Vectors` holds the words, their input vectors (the embeddings, (V, d)), and,
when the source has them, their corpus counts, the output vectors C (V, d) and
the run's config and metrics. It answers the queries people run on
embeddings: a word's vector, nearest neighbours by cosine similarity, and
analogies (3CosAdd, as `w2v similar` and gensim's `most_similar`).

Example:
    >>> v = Vectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    >>> v["b"].tolist()
    [0.0, 1.0, 0.0]
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from w2v_cli.normalise import normalise_word
from w2v_cli.query import Searcher


@dataclass
class Vectors:
    """Word vectors: `matrix[i]` (d,) is the vector of `words[i]`."""

    words: list[str]
    matrix: np.ndarray  # (V, d) input vectors W
    counts: np.ndarray | None = None  # (V,) corpus counts
    meta: dict[str, Any] = field(default_factory=dict)  # "config", "metrics", "converted_from"
    output: np.ndarray | None = None  # (V, d) output vectors C

    @cached_property
    def index(self) -> dict[str, int]:
        """Word -> row."""
        return {w: i for i, w in enumerate(self.words)}

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(self)

    def normalise(self, word: str) -> str:
        """`word` as the model's tokeniser leaves words: lower-cased, punctuation stripped, where it was trained so.

        Example: on a model trained with --lowercase, `normalise("Paris")` -> `"paris"`.
        """
        cfg = self.meta.get("config") or {}
        lowercase, strip = bool(cfg.get("lowercase")), bool(cfg.get("strip_punctuation"))
        return normalise_word(word, lowercase, strip) if lowercase or strip else word

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def metrics(self) -> dict[str, Any]:
        """The training run's metrics (empty for vectors that were not trained by w2v)."""
        return self.meta.get("metrics") or {}

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vector(word)

    def vector(self, word: str) -> np.ndarray:
        """The (d,) input vector of `word`; a W2VError (with a case hint) if it is unknown."""
        return np.asarray(self.matrix[self.searcher.lookup([word])[0]])

    def most_similar(
        self, positive: str | list[str], negative: str | list[str] | None = None, k: int = 10
    ) -> list[tuple[str, float]]:
        """The k words closest to sum(positive) - sum(negative) by cosine, query words left out."""
        pos = [positive] if isinstance(positive, str) else list(positive)
        neg = [negative] if isinstance(negative, str) else list(negative or [])
        return self.searcher.most_similar(pos, neg, k)

    def analogy(self, a: str, b: str, c: str, k: int = 10) -> list[tuple[str, float]]:
        """a is to b as c is to ...: the words closest to b - a + c. `analogy("man", "king", "woman")`."""
        return self.most_similar([b, c], [a], k)

    def save(self, path: str | os.PathLike, to: str | None = None) -> list[Path]:
        """Write the vectors to `path` in the format its extension (or `to`: text, bin, native, tsv) names."""
        from w2v_cli.files import save_vectors

        return save_vectors(self, path, to)
