"""Text the CLI prints: tables, summaries and one-line reports, built from the library's plain data.

Every function returns a string (or lines) and prints nothing; `cli.py` echoes
them. A missing value (no pair trained, no question answered) shows as `n/a`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def opt(x: float | None, spec: str = ".4f", scale: float = 1.0, suffix: str = "") -> str:
    """`x` formatted, or "n/a" for None: `opt(0.1234, ".1f", 100, "%")` -> "12.3%"; `opt(None)` -> "n/a"."""
    return "n/a" if x is None else f"{scale * x:{spec}}{suffix}"


def eval_line(row: dict[str, Any]) -> str:
    """One line for an epoch's scores: analogy accuracy (coverage) and Spearman per file."""
    parts = []
    for a in row["analogies"]:
        t = a["total"]
        parts.append(f"{Path(a['file']).name} {opt(t['accuracy'], '.1f', 100, '%')} "
                     f"(coverage {opt(t['coverage'] or 0, '.0f', 100, '%')})")  # fmt: skip
    for r in row["similarity"]:
        parts.append(f"{Path(r['file']).name} spearman {opt(r['spearman'], '.3f')}")
    return ", ".join(parts)


def train_summary(m: dict[str, Any], dim: int) -> str:
    """The line `w2v train` ends with."""
    final = m["loss_per_epoch"][-1]
    return (
        f"trained {m['vocab_size']:,} words x {dim} dims on {m['train_words']:,} words, "
        f"{m['epochs']} epochs in {m['train_seconds']:.1f}s ({m['words_per_second']:,} words/s, "
        f"engine {m['engine']}, {m['workers']} workers); final loss {opt(final)}"
    )


def size(n: float) -> str:
    """Bytes for people: `size(1.5e9)` -> "1.50 GB", `size(2e6)` -> "2.0 MB"."""
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def duration(seconds: float) -> str:
    """`duration(3725)` -> "1h 2m", `duration(75)` -> "1m 15s", `duration(4.2)` -> "4.2s"."""
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h {int(seconds % 3600 // 60)}m"
    return f"{int(seconds // 60)}m {int(seconds % 60)}s" if seconds >= 60 else f"{seconds:.1f}s"


def dry_run_lines(r: dict[str, Any], cfg: Any) -> list[str]:
    """What `w2v train --dry-run` prints: the vocabulary, the needs next to what there is, the time."""
    pruning = r["vocab_pruning"]
    lines = [
        f"corpus: {r['corpus_words']:,} words in {r['corpus_files']} file(s), {r['distinct_words']:,} distinct"
        + (f" (count pruned {pruning['prunes']} time(s) to fit --vocab-memory)" if pruning else ""),
        f"vocabulary: {r['vocab_size']:,} words (min_count {cfg.min_count}), {r['train_words']:,} words to train "
        f"per epoch; vocabulary pass {r['vocab_seconds']:.1f}s",
        f"memory: {size(r['model_bytes'])} for the model ({cfg.dim} dims, {r['workers']} workers), "
        f"{size(r['memory_available'])} available",
        f"disk: {size(r['output_bytes'])} of outputs + {size(r['id_file_bytes'])} temporary id file, "
        f"{size(r['disk_free'])} free",
    ]
    if r["train_seconds_estimate"] is not None:
        lines.append(
            f"training: about {duration(r['train_seconds_estimate'])} for {cfg.epochs} epochs at "
            f"{r['words_per_second']:,} words/s (measured here, engine {r['engine']})"
        )
    lines.append("dry run: nothing was written")
    return lines


def vocab_summary(counted: Any, output: str) -> str:
    """The line `w2v vocab` ends with."""
    scan = counted.scan
    return (
        f"wrote {output}: {len(counted.vocab):,} words of {scan.counts.size:,} distinct in {scan.tokens:,} corpus words"
    )


def results(query: str, found: list[tuple[str, float]]) -> str:
    """A query and its answers, one per line."""
    return "\n".join([f"{query}:"] + [f"  {w:<24} {s:.4f}" for w, s in found])


def analogy_table(a: dict[str, Any]) -> str:
    """Accuracy per section, semantic, syntactic and total, of one analogy file."""
    rows = [
        f"{a['file']} (3Cos{a['method'].capitalize()}, restrict_vocab {a['restrict_vocab']})",
        f"  {'section':<30} {'correct':>8} {'answered':>9} {'questions':>10} {'acc %':>7} {'cover %':>8}",
    ]
    for s in a["sections"] + [None, a["semantic"], a["syntactic"], a["total"]]:
        if s is None:
            rows.append("  " + "-" * 76)
            continue
        rows.append(
            f"  {s['section']:<30} {s['correct']:>8} {s['answered']:>9} {s['questions']:>10} "
            f"{opt(s['accuracy'], '.2f', 100):>7} {opt(s['coverage'], '.2f', 100):>8}"
        )
    return "\n".join(rows)


def similarity_line(r: dict[str, Any]) -> str:
    """Correlations of one word-pair file."""
    return (
        f"{r['file']}: spearman {opt(r['spearman'])}, pearson {opt(r['pearson'])}, pairs {r['used']}/{r['pairs']} "
        f"(out of vocabulary {r['oov']}, malformed lines {r['malformed']})"
    )


INFO_KEYS = ["model", "dim", "window", "negative", "min_count", "sample", "lr", "min_lr", "epochs", "loss", "seed"]


def info_lines(data: dict[str, Any]) -> list[str]:
    """What `w2v info` prints about a model."""
    lines = [
        f"model        {data['path']}",
        f"vocabulary   {data['vocab_size']:,} words",
        f"dimension    {data['dim']}",
    ]
    m, cfg = data.get("metrics") or {}, data.get("config") or {}
    if m:
        lines += [
            f"corpus       {m['corpus_words']:,} words in {m['corpus_files']} file(s), "
            f"{m['train_words']:,} in the vocabulary",
            f"training     {m['epochs']} epochs in {m['train_seconds']:.1f}s "
            f"({m['words_per_second']:,} words/s), engine {m['engine']}, {m['workers']} workers",
            f"final loss   {opt((m.get('loss_per_epoch') or [None])[-1])}",
        ]
    if cfg:
        lines.append("config       " + " ".join(f"{k}={cfg[k]}" for k in INFO_KEYS if k in cfg))
        lines.append(f"corpus files {', '.join(cfg.get('corpus', []))}")
    if data.get("checkpoint"):
        lines.append(checkpoint_line(data["checkpoint"]))
    if data.get("converted_from"):
        lines.append(f"converted    from {data['converted_from']}")
    if not m and not cfg:
        lines.append("(no training metadata)")
    return lines


def checkpoint_line(state: dict[str, Any]) -> str:
    """`checkpoint   epoch 2 of 5, 31,000,000 of 85,000,000 words (36%), loss so far 2.4512; resume with ...`."""
    pos, tracker = state["position"], state["tracker"]
    done, total = tracker["done"], max(state["total_words"], 1)
    loss = sum(tracker["loss"]) / max(sum(tracker["pairs"]), 1)
    return (
        f"checkpoint   epoch {pos['epoch'] + 1} of {state['epochs']}, {done:,} of {total:,} words "
        f"({100 * done / total:.0f}%), loss so far {loss:.4f}; unfinished: `w2v train --resume` continues it"
    )


def gradcheck_table(results: list, tol: float) -> list[str]:
    """One row per gradient check, then the verdict line when all passed."""
    lines = [f"{'check':<18} {'max rel error':>14}  result  worst gradient"]
    lines += [f"{r.name:<18} {r.error:>14.3e}  {'pass' if r.passed else 'FAIL':<6}  {r.worst}" for r in results]
    if all(r.passed for r in results):
        lines.append(f"all {len(results)} checks passed (tol {tol:g})")
    return lines
