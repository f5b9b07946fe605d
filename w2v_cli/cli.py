"""The `w2v` command line: a thin click shell over the library.

Each command parses its options, calls one core function, and prints. A
`W2VError` becomes `error: <message>` on stderr and exit status 1; Ctrl-C
becomes exit status 130 with nothing written. No math lives here.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from w2v_cli import __version__
from w2v_cli.errors import W2VError

DEFAULT_CONFIG = Path("configs") / "default.yaml"


def handle_errors(fn):
    """Turn user errors into one line on stderr and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except W2VError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted; nothing was written", err=True)
            sys.exit(130)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="w2v")
def main() -> None:
    """Train, query and verify word2vec skip-gram embeddings.

    \b
    w2v train corpus.txt -o out      train vectors (see: w2v train --help)
    w2v similar out france           nearest neighbours and analogies
    w2v gradcheck                    verify every gradient the trainer uses
    """


@main.command(context_settings={"show_default": True})
@click.argument("corpus", nargs=-1, type=click.Path())
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(),
    help="YAML config; flags override it. With no CORPUS and no --config, ./configs/default.yaml is used if it exists.",
)
@click.option("-o", "--output", help="Output directory.  [default: out]")
@click.option("--dim", type=int, help="Vector dimension.  [default: 100]")
@click.option("--window", type=int, help="Max context distance; each position draws 1..window.  [default: 5]")
@click.option("--negative", type=int, help="Negative samples per center word.  [default: 5]")
@click.option("--min-count", type=int, help="Drop words seen fewer times.  [default: 5]")
@click.option("--max-vocab", type=int, help="Keep only the N most frequent words; 0 = all.  [default: 0]")
@click.option("--sample", type=float, help="Subsampling threshold for frequent words; 0 = off.  [default: 1e-3]")
@click.option("--lr", type=float, help="Starting learning rate.  [default: 0.025]")
@click.option("--min-lr", type=float, help="Final learning rate of the linear decay.  [default: lr * 1e-4]")
@click.option("--epochs", type=int, help="Passes over the corpus.  [default: 5]")
@click.option("--workers", type=int, help="Training threads; 0 = one per core; 1 = bit-reproducible.  [default: 0]")
@click.option("--seed", type=int, help="Seed for every random draw.  [default: 1]")
@click.option(
    "--loss",
    type=click.Choice(["neg", "softmax"]),
    help="Negative sampling, or exact softmax (O(vocab) per pair).  [default: neg]",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "numba", "numpy"]),
    help="Update kernel: compiled (numba) or vectorised numpy; auto picks numba if installed.  [default: auto]",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@handle_errors
def train(corpus, config_path, quiet, **flags) -> None:
    """Train skip-gram vectors on CORPUS (text files or directories; .gz/.bz2/.xz ok).

    Writes vectors.txt and vectors.bin (word2vec formats), model.w2v (native,
    with both matrices and counts), config.yaml (the resolved config) and
    metrics.json into the output directory.
    """
    from w2v_cli.config import resolve_config
    from w2v_cli.train import train_and_save

    if not corpus and not config_path and DEFAULT_CONFIG.is_file():
        config_path = str(DEFAULT_CONFIG)
        click.echo(f"using {config_path}", err=True)
    overrides = dict(flags, corpus=list(corpus) or None)
    cfg = resolve_config(config_path, overrides)
    model, paths = train_and_save(cfg, quiet)
    m = model.metrics
    final = m["loss_per_epoch"][-1]
    if final is None:
        click.echo(
            "warning: no word pairs were trained: the corpus is too small for these settings "
            "(try --sample 0 or a lower --min-count)",
            err=True,
        )
    click.echo(
        f"trained {m['vocab_size']:,} words x {cfg.dim} dims on {m['train_words']:,} words, "
        f"{cfg.epochs} epochs in {m['train_seconds']:.1f}s ({m['words_per_second']:,} words/s, "
        f"engine {m['engine']}, {m['workers']} workers); final loss {'n/a' if final is None else f'{final:.4f}'}"
    )
    click.echo("wrote " + ", ".join(str(p) for p in paths))


def _print_results(query: str, results, as_json: bool, pos, neg) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "positive": pos,
                    "negative": neg,
                    "results": [{"word": w, "similarity": round(s, 6)} for w, s in results],
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"{query}:")
    for w, s in results:
        click.echo(f"  {w:<24} {s:.4f}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("model", type=click.Path())
@click.argument("words", nargs=-1)
@click.option(
    "-k", "--topn", default=10, show_default=True, type=click.IntRange(1), help="How many neighbours to print."
)
@click.option("-p", "--positive", multiple=True, help="A word to add (repeatable).")
@click.option("-n", "--negative", multiple=True, help="A word to subtract (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query, for scripts.")
@handle_errors
def similar(model, words, topn, positive, negative, as_json) -> None:
    """Nearest neighbours of WORDS in MODEL by cosine similarity.

    MODEL is a training output directory, a model.w2v file, or any word2vec
    text/binary file. WORDS may be an analogy: `w2v similar out king - man + woman`
    (same as `-p king -p woman -n man`). With no words and piped input, each
    line of stdin is one query.
    """
    from w2v_cli.query import Searcher, parse_query
    from w2v_cli.vectors import load_vectors

    searcher = Searcher(load_vectors(model))
    pos, neg = parse_query(" ".join(words))
    pos, neg = pos + list(positive), neg + list(negative)
    if pos or neg:
        _print_results(" ".join(words) or _describe(pos, neg), searcher.most_similar(pos, neg, topn), as_json, pos, neg)
        return
    if sys.stdin.isatty():
        raise W2VError("give query words, e.g. `w2v similar MODEL france`, or pipe queries on stdin")
    failed = 0
    for line in sys.stdin:
        pos, neg = parse_query(line)
        if not pos and not neg:
            continue
        try:
            _print_results(line.strip(), searcher.most_similar(pos, neg, topn), as_json, pos, neg)
        except W2VError as e:
            click.echo(f"error: {e}", err=True)
            failed += 1
    if failed:
        sys.exit(1)


def _describe(pos, neg) -> str:
    return " ".join(pos + [f"- {w}" for w in neg])


@main.command(context_settings={"show_default": True})
@click.option("--seed", default=0, help="Seed of the random test problems.")
@click.option("--dim", default=5, type=click.IntRange(1), help="Vector dimension of the test problems.")
@click.option("--vocab", default=10, type=click.IntRange(3), help="Vocabulary size of the test problems.")
@click.option("--window", default=2, type=click.IntRange(1), help="Skip-gram window of the test problems.")
@click.option("--negative", default=4, type=click.IntRange(1), help="Negative samples per pair.")
@click.option("--tol", default=1e-6, type=float, help="Largest relative error that passes.")
@click.option("--check", "checks", multiple=True, help="Run only this check (repeatable); see --list.")
@click.option("--list", "list_only", is_flag=True, help="List the checks and exit.")
@handle_errors
def gradcheck(seed, dim, vocab, window, negative, tol, checks, list_only) -> None:
    """Check every analytic gradient against centered finite differences (float64).

    Prints one row per check and exits with status 1 if any fails.
    """
    from w2v_cli import gradcheck as gc

    names = gc.available_checks()
    if list_only:
        click.echo("\n".join(names))
        return
    unknown = [c for c in checks if c not in names]
    if unknown:
        raise W2VError(f"unknown check '{unknown[0]}' (available: {', '.join(names)})")
    settings = gc.Settings(seed=seed, dim=dim, vocab=vocab, window=window, negative=negative, tol=tol)
    results = gc.run_checks(settings, list(checks) or None)
    click.echo(f"{'check':<18} {'max rel error':>14}  result  worst gradient")
    for r in results:
        click.echo(f"{r.name:<18} {r.error:>14.3e}  {'pass' if r.passed else 'FAIL':<6}  {r.worst}")
    failed = [r.name for r in results if not r.passed]
    if failed:
        click.echo(f"error: {len(failed)} gradient check(s) failed: {', '.join(failed)}", err=True)
        sys.exit(1)
    click.echo(f"all {len(results)} checks passed (tol {tol:g})")
