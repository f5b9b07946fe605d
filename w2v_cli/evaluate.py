"""Intrinsic evaluation: word analogies and word-pair similarity.

- Analogies, in word2vec's questions-words format (`: section` headers, then
  `a b c d` meaning a : b :: c : d). A question is answered by the word closest to
  b - a + c (3CosAdd) or by 3CosMul (Levy & Goldberg 2014), ignoring a, b and c.
  Only the `restrict_vocab` most frequent words take part, as questions and as
  answers. Matching is case-insensitive; where two words differ only in case, the
  more frequent one stands for both. Test words are normalised as the model's
  corpus was (`Vectors.normalise`: --strip-punctuation). Sections whose name starts with `gram` are
  syntactic, the rest semantic. Accuracy counts answered questions; coverage is
  answered / all. These are the rules of gensim's `evaluate_word_analogies`.
- Similarity: `word1 word2 score` lines (tab or spaces; `#` comments). The model's
  cosine similarity is correlated with the scores (Spearman and Pearson); pairs
  with an unknown word are counted and skipped, as gensim's `evaluate_word_pairs`.

Example:
    >>> spearman(np.array([1., 2., 3.]), np.array([10., 30., 20.]))
    0.5
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from w2v_cli.errors import W2VError
from w2v_cli.query import unit_rows
from w2v_cli.vectors import Vectors

Question = tuple[str, str, str, str]


def read_lines(path: str | Path) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise W2VError(f"cannot read {path}: {e.strerror or e}") from None


def read_analogies(path: str | Path) -> list[tuple[str, list[Question]]]:
    """Sections of (a, b, c, d) questions; lines that are not four words are an error."""
    sections: list[tuple[str, list[Question]]] = []
    for n, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        if line.startswith(":"):
            sections.append((line[1:].strip(), []))
            continue
        words = line.split()
        if len(words) != 4:
            raise W2VError(f"{path}: line {n} is not four words: {line.strip()!r}")
        if not sections:
            sections.append(("questions", []))
        sections[-1][1].append(tuple(words))  # type: ignore[arg-type]
    if not any(qs for _, qs in sections):
        raise W2VError(f"{path} holds no analogy questions")
    return sections


def restricted_index(vectors: Vectors, restrict_vocab: int) -> dict[str, int]:
    """UPPER-cased word -> id among the first `restrict_vocab` words; the most frequent case wins."""
    n = min(restrict_vocab, len(vectors.words)) if restrict_vocab else len(vectors.words)
    return {vectors.words[i].upper(): i for i in reversed(range(n))}


def _matcher(vectors: Vectors):
    """A test word -> the key it is looked up by in `restricted_index`: normalised as the model, upper-cased."""
    return lambda w: vectors.normalise(w).upper()


def _answer(unit: np.ndarray, upper: list[str], abc: np.ndarray, method: str) -> list[str]:
    """The predicted word (upper-cased) for each row of question ids abc (n, 3)."""
    ua, ub, uc = unit[abc[:, 0]], unit[abc[:, 1]], unit[abc[:, 2]]
    if method == "mul":
        sa, sb, sc = ((1 + ua @ unit.T) / 2, (1 + ub @ unit.T) / 2, (1 + uc @ unit.T) / 2)
        scores = sb * sc / (sa + 1e-6)
    else:
        q = unit_rows(ub - ua + uc)
        scores = q @ unit.T  # (n, R)
    k = min(8, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # the 8 best, unordered
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)
    out = []
    for row, ids in zip(abc, top):
        ignore = {upper[i] for i in row}
        out.append(next((upper[j] for j in ids if upper[j] not in ignore), ""))
    return out


def evaluate_analogies(vectors: Vectors, path: str | Path, restrict_vocab: int = 30000, method: str = "add") -> dict:
    """Accuracy per section, semantic, syntactic and total, with coverage."""
    if method not in ("add", "mul"):
        raise W2VError(f"analogy method must be add or mul, got {method!r}")
    ok = restricted_index(vectors, restrict_vocab)
    key = _matcher(vectors)
    n = min(restrict_vocab, len(vectors.words)) if restrict_vocab else len(vectors.words)
    unit = unit_rows(vectors.matrix[:n])
    upper = [w.upper() for w in vectors.words[:n]]
    sections = []
    for name, questions in read_analogies(path):
        questions = [tuple(key(w) for w in q) for q in questions]
        known = [q for q in questions if all(w in ok for w in q)]
        correct = 0
        for start in range(0, len(known), 256):
            part = known[start : start + 256]
            abc = np.array([[ok[w] for w in q[:3]] for q in part], dtype=np.int64)
            answers = _answer(unit, upper, abc, method)
            correct += sum(ans == q[3] for ans, q in zip(answers, part))
        sections.append(_score(name, correct, len(known), len(questions)))
    semantic = [s for s in sections if not s["section"].startswith("gram")]
    syntactic = [s for s in sections if s["section"].startswith("gram")]
    return {
        "file": str(path),
        "method": method,
        "restrict_vocab": restrict_vocab,
        "sections": sections,
        "semantic": _total("semantic", semantic),
        "syntactic": _total("syntactic", syntactic),
        "total": _total("total", sections),
    }


def _score(name: str, correct: int, answered: int, questions: int) -> dict:
    return {
        "section": name,
        "correct": correct,
        "answered": answered,
        "questions": questions,
        "accuracy": correct / answered if answered else None,
        "coverage": answered / questions if questions else None,
    }


def _total(name: str, parts: list[dict]) -> dict:
    return _score(
        name, sum(p["correct"] for p in parts), sum(p["answered"] for p in parts), sum(p["questions"] for p in parts)
    )


def read_pairs(path: str | Path) -> tuple[list[tuple[str, str, float]], int]:
    """(word1, word2, score) triples, and how many non-comment lines were malformed."""
    pairs, bad = [], 0
    for line in read_lines(path):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        try:
            a, b, score = parts[0].strip(), parts[1].strip(), float(parts[2])
        except (IndexError, ValueError):
            bad += 1
            continue
        pairs.append((a, b, score))
    if not pairs:
        raise W2VError(f"{path} holds no 'word1 word2 score' lines")
    return pairs, bad


def rank(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties getting their average rank; `rank([10, 20, 10])` -> [1.5, 3, 1.5]."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(x.size)
    ranks[order] = np.arange(1, x.size + 1)
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    return sums[inv] / counts[inv]


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = np.asarray(x, float) - np.mean(x), np.asarray(y, float) - np.mean(y)
    denom = np.sqrt((x @ x) * (y @ y))
    return float(x @ y / denom) if denom > 0 else float("nan")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return pearson(rank(x), rank(y))


def evaluate_similarity(vectors: Vectors, path: str | Path, restrict_vocab: int = 300000) -> dict:
    """Spearman and Pearson correlation of cosine similarity with the human scores."""
    pairs, bad = read_pairs(path)
    ok = restricted_index(vectors, restrict_vocab)
    key = _matcher(vectors)
    keyed = [(key(a), key(b), s) for a, b, s in pairs]
    known = [(ok[a], ok[b], s) for a, b, s in keyed if a in ok and b in ok]
    result = {
        "file": str(path),
        "pairs": len(pairs),
        "used": len(known),
        "oov": len(pairs) - len(known),
        "malformed": bad,
        "spearman": None,
        "pearson": None,
    }
    if len(known) >= 2:
        ia, ib, gold = (np.array(col) for col in zip(*known))
        unit = unit_rows(vectors.matrix[np.r_[ia, ib]])
        model = np.einsum("nd,nd->n", unit[: ia.size], unit[ia.size :])
        result.update(spearman=spearman(gold, model), pearson=pearson(gold, model))
    return result


def evaluate_model(model: str, analogies: list[str], similarity: list[str], restrict_vocab: int = 30000,
                   method: str = "add", allow_partial: bool = False) -> dict:  # fmt: skip
    """The report of `w2v evaluate`: every analogy and similarity file scored on the vectors in `model`."""
    from w2v_cli.files import load_vectors

    if not analogies and not similarity:
        raise W2VError("give at least one --analogies or --similarity file")
    vectors = load_vectors(model, allow_partial)
    return {
        "model": str(model),
        "analogies": [evaluate_analogies(vectors, f, restrict_vocab, method) for f in analogies],
        "similarity": [evaluate_similarity(vectors, f) for f in similarity],
    }
