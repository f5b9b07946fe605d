"""Pictures: words projected to 2-D, and training loss curves (matplotlib, optional).

- `plot_words`: the given words (and, optionally, each word's nearest
  neighbours in a lighter colour) projected onto their first two principal
  components (PCA by numpy SVD of the centered vectors), labelled.
- `plot_loss`: the running training loss against words processed (or per
  epoch for older runs), with per-epoch evaluation scores on a second axis when
  the run recorded them.

matplotlib is the `[plot]` extra; without it these raise a `W2VError` that says
how to install it. PNGs are written atomically (`formats.atomic_dir`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from w2v_cli.errors import W2VError
from w2v_cli.formats import atomic_dir
from w2v_cli.vectors import Vectors


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend, or a W2VError saying how to get it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise W2VError("w2v plot needs matplotlib: pip install 'w2v[plot]' (or pip install matplotlib)") from None
    return plt


def pca_2d(X: np.ndarray) -> np.ndarray:
    """Rows of X (n, d) projected on their first two principal components: (n, 2).

    Example: points on a line in 3-D land on the first axis, second coordinate ~0.
    """
    Xc = np.asarray(X, np.float64) - np.mean(X, axis=0)
    _, _, Vt = np.linalg.svd(Xc, full_matrices=False)
    P = Xc @ Vt[:2].T
    return np.pad(P, ((0, 0), (0, 2 - P.shape[1])))


def save_png(fig, out: Path) -> Path:
    """Render `fig` as PNG to `out`, atomically (temporary name, fsync, rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_dir(out.parent) as open_tmp:
        fig.savefig(open_tmp(out.name), format="png", dpi=120, bbox_inches="tight")
    return out


def run_metrics(path: Path) -> dict:
    """metrics.json of an output directory (or of the one holding a model.w2v)."""
    folder = path if path.is_dir() else path.parent
    f = folder / "metrics.json"
    if not f.is_file():
        raise W2VError(f"{folder} holds no metrics.json (pass a training output directory)")
    try:
        return json.loads(f.read_text())
    except ValueError as e:
        raise W2VError(f"{f}: not valid JSON ({e})") from None


def plot_run_loss(run: str | os.PathLike, out: str | os.PathLike) -> Path:
    """The loss curve of the training run in directory `run`, as a PNG."""
    return plot_loss(run_metrics(Path(run)), Path(out))


def plot_model_words(model: str | os.PathLike, words: list[str], out: str | os.PathLike, neighbours: int = 0) -> Path:
    """`words` of the vectors in `model` (any format), and their neighbours, as a PNG."""
    from w2v_cli.files import load_vectors

    if not words:
        raise W2VError("give the words to plot, or --loss for the training curve")
    return plot_words(load_vectors(model), words, Path(out), neighbours)


def plot_words(vectors: Vectors, words: list[str], out: Path, neighbours: int = 0) -> Path:
    """Scatter of `words` (and their nearest neighbours) in 2-D, labelled."""
    plt = pyplot()
    searcher = vectors.searcher
    ids = searcher.lookup(words)
    extra: list[int] = []
    for w in words if neighbours else []:
        for n, _ in searcher.most_similar([w], k=neighbours):
            i = vectors.index[n]
            if i not in ids and i not in extra:
                extra.append(i)
    pts = pca_2d(searcher.unit[ids + extra])
    fig, ax = plt.subplots(figsize=(8, 6))
    main, more = pts[: len(ids)], pts[len(ids) :]
    if len(more):
        ax.scatter(more[:, 0], more[:, 1], c="#9ecae1", s=20, label="neighbours")
        for (x, y), i in zip(more, extra):
            ax.annotate(
                vectors.words[i], (x, y), fontsize=8, color="#6b8fb3", xytext=(3, 3), textcoords="offset points"
            )
    ax.scatter(main[:, 0], main[:, 1], c="#08519c", s=40, label="words")
    for (x, y), w in zip(main, words):
        ax.annotate(w, (x, y), fontsize=11, weight="bold", xytext=(4, 4), textcoords="offset points")
    ax.set_title(f"{len(words)} words, PCA of {vectors.dim}-d unit vectors")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    if len(more):
        ax.legend(loc="best")
    ax.grid(alpha=0.3)
    path = save_png(fig, out)
    plt.close(fig)
    return path


def plot_loss(metrics: dict, out: Path) -> Path:
    """Training loss (and per-epoch evaluation scores, if recorded) of one run."""
    plt = pyplot()
    curve = metrics.get("loss_curve")
    epochs = metrics.get("loss_per_epoch") or []
    if not curve and not any(v is not None for v in epochs):
        raise W2VError("this run recorded no loss to plot")
    total = metrics.get("train_words", 1) * max(metrics.get("epochs", 1), 1)
    fig, ax = plt.subplots(figsize=(8, 5))
    if curve:
        x, y = zip(*curve)
        ax.plot(np.array(x) / metrics.get("train_words", 1), y, color="#08519c", label="loss per pair (recent)")
    ep = [(i + 1, v) for i, v in enumerate(epochs) if v is not None]
    if ep:
        ax.plot(*zip(*ep), "o", color="#08519c", label="epoch mean loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss per pair")
    ax.grid(alpha=0.3)
    ax2 = _plot_evals(ax, metrics.get("eval_per_epoch") or [])
    ax.set_title(f"training loss: {metrics.get('vocab_size', 0):,} words, {total:,} words processed")
    handles, labels = ax.get_legend_handles_labels()
    if ax2 is not None:
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="center right", fontsize=9)
    path = save_png(fig, out)
    plt.close(fig)
    return path


def _plot_evals(ax, evals: list[dict]):
    """Per-epoch analogy accuracy and Spearman on a second y axis (0..1); returns that axis or None."""
    series: dict[str, list[tuple[int, float]]] = {}
    for row in evals:
        for a in row["analogies"]:
            if a["total"]["accuracy"] is not None:
                series.setdefault(f"analogy {Path(a['file']).name}", []).append((row["epoch"], a["total"]["accuracy"]))
        for r in row["similarity"]:
            if r["spearman"] is not None:
                series.setdefault(f"spearman {Path(r['file']).name}", []).append((row["epoch"], r["spearman"]))
    if not series:
        return None
    ax2 = ax.twinx()
    for (name, pts), color in zip(series.items(), ["#e6550d", "#31a354", "#756bb1", "#636363"]):
        ax2.plot(*zip(*pts), "s--", color=color, label=name)
    ax2.set_ylabel("score")
    ax2.set_ylim(0, 1.05)
    return ax2
