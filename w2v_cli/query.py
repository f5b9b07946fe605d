"""Nearest neighbours and analogies by cosine similarity (3CosAdd).

The query vector is the normalised sum of the unit vectors of the positive
words minus those of the negative words (gensim's `most_similar`); the query
words themselves are excluded from the answer. Query words are first
normalised as the model's corpus was (`Vectors.normalise`).

Example:
    >>> parse_query("king - man + woman")
    (['king', 'woman'], ['man'])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from w2v_cli.errors import W2VError

if TYPE_CHECKING:
    from w2v_cli.vectors import Vectors


def parse_query(line: str) -> tuple[list[str], list[str]]:
    """Split `a - b + c` (or plain `a b c`) into positive and negative words."""
    positive: list[str] = []
    negative: list[str] = []
    sign = +1
    for tok in line.split():
        if tok in ("+", "-"):
            sign = +1 if tok == "+" else -1
            continue
        if len(tok) > 1 and tok[0] == "-":
            negative.append(tok[1:])
        else:
            (positive if sign > 0 else negative).append(tok.lstrip("+") or tok)
        sign = +1
    return positive, negative


def unit_rows(M: np.ndarray) -> np.ndarray:
    """Rows scaled to norm 1 (zero rows stay zero), float32; `unit_rows([[3, 4]])` -> [[0.6, 0.8]]."""
    M = np.asarray(M, dtype=np.float32)
    norms = np.linalg.norm(M, axis=1, keepdims=True)
    return M / np.where(norms > 0, norms, 1.0)


class Searcher:
    """Cosine search over a `Vectors`; rows are normalised once, lazily."""

    def __init__(self, vectors: Vectors) -> None:
        self.vectors = vectors
        self._unit: np.ndarray | None = None
        self._folded: dict[str, str] | None = None

    @property
    def unit(self) -> np.ndarray:  # (V, d) float32, rows of norm 1 (or 0)
        if self._unit is None:
            self._unit = unit_rows(self.vectors.matrix)
        return self._unit

    def lookup(self, words: list[str]) -> list[int]:
        """Ids of `words`, normalised as the model's corpus was; a `W2VError` naming every unknown one.

        The error gives a hint where only the case differs.
        """
        index, forms = self.vectors.index, [self.vectors.normalise(w) for w in words]
        unknown = [(w, f) for w, f in zip(words, forms) if f not in index]
        if unknown:
            hints = [f"'{w}'" + (f" (as '{f}')" if f != w else "") + self._case_hint(f) for w, f in unknown]
            raise W2VError(f"unknown word{'s' if len(unknown) > 1 else ''}: {', '.join(hints)}")
        return [index[f] for f in forms]

    def _case_hint(self, word: str) -> str:
        """` (did you mean 'Jesus'?)` for 'jesus' when the model has 'Jesus' (the most frequent such word)."""
        if self._folded is None:
            self._folded = {}
            for w in self.vectors.words:  # words come most frequent first
                self._folded.setdefault(w.casefold(), w)
        match = self._folded.get(word.casefold())
        return f" (did you mean '{match}'?)" if match else ""

    def most_similar(
        self, positive: list[str], negative: list[str] | None = None, k: int = 10
    ) -> list[tuple[str, float]]:
        """The k words closest to sum(positive) - sum(negative), query words excluded."""
        negative = negative or []
        if not positive and not negative:
            raise W2VError("no query words given")
        pos, neg = self.lookup(positive), self.lookup(negative)
        q = self.unit[pos].sum(axis=0) - self.unit[neg].sum(axis=0)  # (d,)
        norm = np.linalg.norm(q)
        if norm == 0:
            raise W2VError("the query vector is zero (the words cancel out or have zero vectors)")
        scores = self.unit @ (q / norm)  # (V,)
        scores[pos + neg] = -np.inf
        k = min(k, len(scores) - len(set(pos + neg)))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.vectors.words[i], float(scores[i])) for i in top]
