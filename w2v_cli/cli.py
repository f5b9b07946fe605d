"""The `w2v` command line: a thin click shell over the library.

Each command parses its options, calls one core function, and prints. A
`W2VError` becomes `error: <message>` on stderr and exit status 1; Ctrl-C
becomes exit status 130 with nothing written. No math lives here.
"""

from __future__ import annotations

import functools
import json
import signal
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
        if hasattr(signal, "SIGTERM"):  # `kill` cleans up temporary files like Ctrl-C does
            signal.signal(signal.SIGTERM, _terminated)
        try:
            return fn(*args, **kwargs)
        except W2VError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted; nothing was written", err=True)
            sys.exit(130)

    return wrapper


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt


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
@click.option(
    "--workers",
    type=int,
    help="Training workers (threads; the numpy engine forks processes on Linux); 0 = one per core; "
    "1 = bit-reproducible.  [default: 0]",
)
@click.option("--seed", type=int, help="Seed for every random draw.  [default: 1]")
@click.option(
    "--loss",
    type=click.Choice(["neg", "softmax"]),
    help="Negative sampling, or exact softmax (O(vocab) per pair).  [default: neg]",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "c", "numpy"]),
    help="Update kernel: compiled C or vectorised numpy; auto picks C if it was built at install.  [default: auto]",
)
@click.option(
    "--eval-analogies",
    multiple=True,
    type=click.Path(),
    help="Analogy file (questions-words format) to score after every epoch; repeatable.",
)
@click.option(
    "--eval-similarity",
    multiple=True,
    type=click.Path(),
    help="Word-pair similarity file (word1 word2 score) to score after every epoch; repeatable.",
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
    flags["eval_analogies"] = list(flags["eval_analogies"]) or None
    flags["eval_similarity"] = list(flags["eval_similarity"]) or None
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
    (same as `-p king -p woman -n man`). With no words, piped input is read as
    one query per line; at a terminal an interactive prompt opens.
    """
    from w2v_cli.query import Searcher, parse_query
    from w2v_cli.vectors import load_vectors

    searcher = Searcher(load_vectors(model))
    pos, neg = parse_query(" ".join(words))
    pos, neg = pos + list(positive), neg + list(negative)
    if pos or neg:
        _print_results(" ".join(words) or _describe(pos, neg), searcher.most_similar(pos, neg, topn), as_json, pos, neg)
        return
    if stdin_is_tty():
        interactive(searcher, topn)
        return
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


def stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def interactive(searcher, topn: int) -> None:
    """A prompt like word2vec.c's `distance`: one query per line; empty line or EOF ends."""
    from w2v_cli.query import parse_query

    v = searcher.vectors
    click.echo(f"{len(v.words):,} words, {v.dim} dimensions. Type a word, several words, or `a - b + c`.")
    click.echo("An empty line or Ctrl-D exits.")
    while True:
        try:
            line = input("query> ")
        except EOFError:
            click.echo()
            break
        if not line.strip():
            break
        pos, neg = parse_query(line)
        try:
            _print_results(line.strip(), searcher.most_similar(pos, neg, topn), False, pos, neg)
        except W2VError as e:
            click.echo(f"  {e}")


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


@main.command()
@click.argument("model", type=click.Path())
@click.option(
    "-a",
    "--analogies",
    multiple=True,
    type=click.Path(),
    help="Analogy file in the word2vec questions-words format; repeatable.",
)
@click.option(
    "-s",
    "--similarity",
    multiple=True,
    type=click.Path(),
    help="Word-pair file: word1 word2 score per line (tab or spaces, # comments); repeatable.",
)
@click.option(
    "--restrict-vocab",
    default=30000,
    show_default=True,
    type=click.IntRange(1),
    help="Only the N most frequent words take part in analogies (as gensim).",
)
@click.option(
    "--method",
    type=click.Choice(["add", "mul"]),
    default="add",
    show_default=True,
    help="Analogy scoring: 3CosAdd or 3CosMul.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@handle_errors
def evaluate(model, analogies, similarity, restrict_vocab, method, as_json) -> None:
    """Score MODEL on analogy and word-similarity test sets.

    Analogies report accuracy per section, semantic, syntactic and total, and
    coverage (questions answered / all; a question with an unknown word, or a word
    outside --restrict-vocab, is skipped). Similarity reports Spearman and Pearson
    correlation and how many pairs were out of vocabulary.
    """
    from w2v_cli.evaluate import evaluate_analogies, evaluate_similarity
    from w2v_cli.vectors import load_vectors

    if not analogies and not similarity:
        raise W2VError("give at least one --analogies or --similarity file")
    vectors = load_vectors(model)
    report = {
        "model": str(model),
        "analogies": [evaluate_analogies(vectors, f, restrict_vocab, method) for f in analogies],
        "similarity": [evaluate_similarity(vectors, f) for f in similarity],
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for a in report["analogies"]:
        click.echo(_analogy_table(a))
    for r in report["similarity"]:
        click.echo(_similarity_line(r))


def _pct(x) -> str:
    return "     -" if x is None else f"{100 * x:6.2f}"


def _analogy_table(a: dict) -> str:
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
            f"{_pct(s['accuracy']):>7} {_pct(s['coverage']):>8}"
        )
    return "\n".join(rows)


def _similarity_line(r: dict) -> str:
    rho = "n/a" if r["spearman"] is None else f"{r['spearman']:.4f}"
    pr = "n/a" if r["pearson"] is None else f"{r['pearson']:.4f}"
    return (
        f"{r['file']}: spearman {rho}, pearson {pr}, pairs {r['used']}/{r['pairs']} "
        f"(out of vocabulary {r['oov']}, malformed lines {r['malformed']})"
    )


@main.command()
@click.argument("source", type=click.Path())
@click.argument("dest", type=click.Path())
@click.option(
    "--to",
    "to",
    type=click.Choice(["text", "bin", "native", "tsv"]),
    help="Output format; by default from DEST's extension (.txt/.vec, .bin, .w2v, .tsv or a directory).",
)
@handle_errors
def convert(source, dest, to) -> None:
    """Convert vectors between word2vec text, word2vec binary, native and projector TSV.

    SOURCE may be any of them (files by gensim, word2vec.c and fastText .vec included),
    or a training output directory. TSV writes vectors.tsv and metadata.tsv for the
    TensorBoard Embedding Projector.
    """
    from w2v_cli.convert import convert as run

    paths = run(source, dest, to)
    click.echo("wrote " + ", ".join(str(p) for p in paths))


@main.command()
@click.argument("model", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
@handle_errors
def info(model, as_json) -> None:
    """Vocabulary size, dimension, training config and metrics of MODEL (when it carries them)."""
    from w2v_cli.convert import model_info

    data = model_info(model)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"model        {data['path']}")
    click.echo(f"vocabulary   {data['vocab_size']:,} words")
    click.echo(f"dimension    {data['dim']}")
    m, cfg = data.get("metrics") or {}, data.get("config") or {}
    if m:
        click.echo(
            f"corpus       {m['corpus_words']:,} words in {m['corpus_files']} file(s), "
            f"{m['train_words']:,} in the vocabulary"
        )
        click.echo(
            f"training     {m['epochs']} epochs in {m['train_seconds']:.1f}s "
            f"({m['words_per_second']:,} words/s), engine {m['engine']}, {m['workers']} workers"
        )
        final = (m.get("loss_per_epoch") or [None])[-1]
        click.echo(f"final loss   {'n/a' if final is None else f'{final:.4f}'}")
    if cfg:
        keys = ["dim", "window", "negative", "min_count", "sample", "lr", "min_lr", "epochs", "loss", "seed"]
        click.echo("config       " + " ".join(f"{k}={cfg[k]}" for k in keys if k in cfg))
        click.echo(f"corpus files {', '.join(cfg.get('corpus', []))}")
    if data.get("converted_from"):
        click.echo(f"converted    from {data['converted_from']}")
    if not m and not cfg:
        click.echo("(no training metadata)")


@main.command()
@click.argument("model", type=click.Path())
@click.argument("words", nargs=-1)
@click.option("-o", "--output", required=True, type=click.Path(), help="PNG file to write.")
@click.option(
    "--neighbours",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Also plot each word's N nearest neighbours, in a lighter colour.",
)
@click.option("--loss", is_flag=True, help="Plot the training loss curve of the run in MODEL (an output directory).")
@handle_errors
def plot(model, words, output, neighbours, loss) -> None:
    """Plot WORDS of MODEL in 2-D (PCA), or with --loss the training curve of a run.

    \b
    w2v plot out king queen man woman -o words.png --neighbours 3
    w2v plot out --loss -o loss.png
    Needs matplotlib: pip install 'w2v[plot]'.
    """
    from w2v_cli import plot as plots

    if loss:
        path = plots.plot_loss(_run_metrics(Path(model)), Path(output))
    else:
        if not words:
            raise W2VError("give the words to plot, or --loss for the training curve")
        from w2v_cli.vectors import load_vectors

        path = plots.plot_words(load_vectors(model), list(words), Path(output), neighbours)
    click.echo(f"wrote {path}")


def _run_metrics(path: Path) -> dict:
    """metrics.json of an output directory (or beside a model.w2v)."""
    folder = path if path.is_dir() else path.parent
    f = folder / "metrics.json"
    if not f.is_file():
        raise W2VError(f"{folder} holds no metrics.json (pass a training output directory)")
    try:
        return json.loads(f.read_text())
    except ValueError as e:
        raise W2VError(f"{f}: not valid JSON ({e})") from None
