"""The `w2v` command line: a thin click shell over the library.

Each command parses its options, calls one core function, and prints (the
text comes from `display`). `w2v train`'s options are generated from the
`TrainConfig` fields, so a setting is declared once. A `W2VError` becomes
`error: <message>` on stderr and exit status 1. Ctrl-C or SIGTERM exits with
status 130: during training after writing a checkpoint (a second one exits at
once), before it with nothing written.
"""

from __future__ import annotations

import functools
import json
import signal
import sys

import click

from w2v_cli import __version__, display
from w2v_cli.checkpoint import Interrupted, Stop
from w2v_cli.config import DEFAULT_CONFIG, FIELDS, shown_default
from w2v_cli.errors import W2VError


def handle_errors(fn):
    """Turn user errors into one line on stderr and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if hasattr(signal, "SIGTERM"):  # `kill` cleans up temporary files like Ctrl-C does
            signal.signal(signal.SIGTERM, _terminated)
        try:
            return fn(*args, **kwargs)
        except Interrupted as e:
            click.echo(f"{e}", err=True)
            sys.exit(130)
        except W2VError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted; nothing was written", err=True)
            sys.exit(130)

    return wrapper


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt


def stop_on_signals(stop: Stop) -> Stop:
    """Ctrl-C and SIGTERM: while epochs run, the first asks for a checkpoint and a stop; otherwise they interrupt."""

    def handler(signum, frame) -> None:
        if stop.armed and not stop.interrupted:
            stop.request()
            return
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, handler)
    return stop


VOCAB_KEYS = ("lowercase", "strip_punctuation", "min_count", "max_vocab", "vocab_memory")


def config_options(fn=None, *, only: tuple[str, ...] | None = None):
    """One click option per `TrainConfig` field (but corpus, or just `only`), with its help, type and default."""
    if fn is None:
        return functools.partial(config_options, only=only)
    for key, f in reversed(list(FIELDS.items())):
        if key == "corpus" or (only is not None and key not in only):
            continue
        m = f.metadata
        decls = ([m["short"]] if m["short"] else []) + ["--" + key.replace("_", "-"), key]
        shown = "" if m["multiple"] else f"  [default: {shown_default(f)}]"
        if m["kind"] is bool:  # a flag; None when absent, so a YAML value stands
            fn = click.option(*decls, is_flag=True, default=None, help=m["help"] + shown)(fn)
            continue
        kind = click.Choice(m["choices"]) if m["choices"] else click.Path() if m["path"] else m["kind"]
        fn = click.option(*decls, type=kind, multiple=m["multiple"], help=m["help"] + shown)(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="w2v")
def main() -> None:
    """Train, query and verify word2vec skip-gram embeddings.

    \b
    w2v train corpus.txt -o out      train vectors (see: w2v train --help)
    w2v similar out france           nearest neighbours and analogies
    w2v gradcheck                    verify every gradient the trainer uses
    """


@main.command()
@click.argument("corpus", nargs=-1, type=click.Path())
@click.option("-c", "--config", "config_path", type=click.Path(),
              help="YAML config with any of the keys below; flags override it. With no CORPUS and no --config, "
              "the embedded default corpus is trained.")  # fmt: skip
@config_options
@click.option("--resume", "resume", type=click.Path(), metavar="OUTDIR",
              help="Continue the interrupted run whose checkpoint is in OUTDIR, with its saved config; only "
              "--workers and --quiet may be given too. The result equals an uninterrupted run's.")  # fmt: skip
@click.option(
    "--dry-run",
    is_flag=True,
    help="Only the vocabulary pass and a few seconds of training steps: print "
    "the vocabulary, memory, disk and time the run would need, write nothing, exit 0 if it would run.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or notes.")
@handle_errors
def train(corpus, config_path, resume, dry_run, quiet, **flags) -> None:
    """Train skip-gram vectors on CORPUS (text files or directories; .gz/.bz2/.xz ok).

    Writes vectors.txt and vectors.bin (word2vec formats), model.w2v (native,
    with both matrices and counts), config.yaml (the resolved config) and
    metrics.json into the output directory. Tokens are split on every Unicode
    whitespace character; disk, memory and every input are checked before
    the work they would stop. Checkpoints are written as often as
    checkpoint_every says, and on Ctrl-C or SIGTERM (exit 130); `--resume OUTDIR` continues.
    """
    from w2v_cli.config import choose_config, resolve_config
    from w2v_cli.pipeline import resume_and_save, train_and_save
    from w2v_cli.progress import TerminalProgress

    if resume:
        given = [f"--{k.replace('_', '-')}" for k, v in flags.items() if v not in (None, ()) and k != "workers"]
        if corpus or config_path or dry_run or given:
            extra = ", ".join((["CORPUS"] if corpus else []) + (["--config"] if config_path else []) + given)
            raise W2VError(f"--resume continues with the checkpoint's settings; only --workers and --quiet "
                           f"may change (got {extra or '--dry-run'})")  # fmt: skip
        stop = stop_on_signals(Stop())
        vectors, paths = resume_and_save(resume, flags["workers"], TerminalProgress(quiet), stop)
        _report(vectors, paths)
        return
    config_path = choose_config(config_path, bool(corpus))
    if config_path == str(DEFAULT_CONFIG) and not quiet:
        click.echo(f"note: no corpus given; training the embedded default ({DEFAULT_CONFIG.parent})", err=True)
    overrides = {k: (list(v) or None) if isinstance(v, tuple) else v for k, v in flags.items()}
    cfg = resolve_config(config_path, dict(overrides, corpus=list(corpus) or None))
    if dry_run:
        _dry_run(cfg, TerminalProgress(quiet))
        return
    stop = stop_on_signals(Stop(cfg.checkpoint_every))
    _report(*train_and_save(cfg, TerminalProgress(quiet), stop))


def _report(vectors, paths) -> None:
    """What `w2v train` prints at the end."""
    if vectors.metrics["loss_per_epoch"][-1] is None:
        click.echo(
            "warning: no word pairs were trained: the corpus is too small for these settings "
            "(try --sample 0 or a lower --min-count)",
            err=True,
        )
    click.echo(display.train_summary(vectors.metrics, vectors.dim))
    click.echo("wrote " + ", ".join(str(p) for p in paths))


def _dry_run(cfg, progress) -> None:
    from w2v_cli.dryrun import dry_run

    report = dry_run(cfg, progress)
    click.echo("\n".join(display.dry_run_lines(report, cfg)))
    for problem in report["problems"]:
        click.echo(f"error: {problem}", err=True)
    if report["problems"]:
        sys.exit(1)


@main.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(), help="Vocabulary file to write.")
@config_options(only=VOCAB_KEYS)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or notes.")
@handle_errors
def vocab(corpus, output, quiet, **flags) -> None:
    """Count the words of CORPUS and write them as `word count` lines, most frequent first.

    The format of word2vec.c's -save-vocab. Tokenisation options are those of
    `w2v train`; give the same ones to `w2v train --vocab FILE`, which then
    trains with exactly these words and counts, so several runs share one
    vocabulary without counting the corpus again.
    """
    from w2v_cli.config import resolve_config
    from w2v_cli.pipeline import save_vocabulary
    from w2v_cli.progress import TerminalProgress

    cfg = resolve_config(None, dict(flags, corpus=list(corpus)))
    counted = save_vocabulary(cfg, output, TerminalProgress(quiet))
    click.echo(display.vocab_summary(counted, output))


def _echo_results(query: str, found, as_json: bool, pos, neg) -> None:
    if as_json:
        rows = [{"word": w, "similarity": round(s, 6)} for w, s in found]
        click.echo(json.dumps({"positive": pos, "negative": neg, "results": rows}, ensure_ascii=False))
    else:
        click.echo(display.results(query, found))


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("model", type=click.Path())
@click.argument("words", nargs=-1)
@click.option("-k", "--topn", default=10, show_default=True, type=click.IntRange(1), help="How many neighbours.")
@click.option("-p", "--positive", multiple=True, help="A word to add (repeatable).")
@click.option("-n", "--negative", multiple=True, help="A word to subtract (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query, for scripts.")
@click.option("--allow-partial", is_flag=True, help="Use the vectors of an unfinished run's checkpoint as they are.")
@handle_errors
def similar(model, words, topn, positive, negative, as_json, allow_partial) -> None:
    """Nearest neighbours of WORDS in MODEL by cosine similarity.

    MODEL is a training output directory, a model.w2v file, or any word2vec
    text/binary file. WORDS may be an analogy: `w2v similar out king - man + woman`
    (same as `-p king -p woman -n man`). With no words, piped input is read as
    one query per line; at a terminal an interactive prompt opens. A model
    trained with --lowercase or --strip-punctuation normalises the query words
    the same way ("Jesus" finds "jesus").
    """
    from w2v_cli.files import load_vectors
    from w2v_cli.query import parse_query

    vectors = load_vectors(model, allow_partial)
    pos, neg = parse_query(" ".join(words))
    pos, neg = pos + list(positive), neg + list(negative)
    if pos or neg:
        query = " ".join(words) or " ".join(pos + [f"- {w}" for w in neg])
        _echo_results(query, vectors.most_similar(pos, neg, topn), as_json, pos, neg)
    elif stdin_is_tty():
        interactive(vectors, topn)
    elif _answer_lines(vectors, sys.stdin, topn, as_json):
        sys.exit(1)


def stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def _answer_lines(vectors, lines, topn: int, as_json: bool) -> int:
    """Answer one query per line; an unknown word is an `error:` line. Returns how many failed."""
    from w2v_cli.query import parse_query

    failed = 0
    for line in lines:
        pos, neg = parse_query(line)
        if not pos and not neg:
            continue
        try:
            _echo_results(line.strip(), vectors.most_similar(pos, neg, topn), as_json, pos, neg)
        except W2VError as e:
            click.echo(f"error: {e}", err=True)
            failed += 1
    return failed


def interactive(vectors, topn: int) -> None:
    """A prompt like word2vec.c's `distance`: one query per line; empty line or EOF ends."""
    from w2v_cli.query import parse_query

    click.echo(f"{len(vectors):,} words, {vectors.dim} dimensions. Type a word, several words, or `a - b + c`.")
    click.echo("An empty line or Ctrl-D exits.")
    while True:
        try:
            line = input("query> ")
        except EOFError:
            click.echo()
            break
        if not line.strip():
            break
        try:
            click.echo(display.results(line.strip(), vectors.most_similar(*parse_query(line), topn)))
        except W2VError as e:
            click.echo(f"  {e}")


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

    if list_only:
        click.echo("\n".join(gc.available_checks()))
        return
    settings = gc.Settings(seed=seed, dim=dim, vocab=vocab, window=window, negative=negative, tol=tol)
    results = gc.run_checks(settings, list(checks) or None)
    click.echo("\n".join(display.gradcheck_table(results, tol)))
    failed = [r.name for r in results if not r.passed]
    if failed:
        click.echo(f"error: {len(failed)} gradient check(s) failed: {', '.join(failed)}", err=True)
        sys.exit(1)


@main.command()
@click.argument("model", type=click.Path())
@click.option("-a", "--analogies", multiple=True, type=click.Path(),
              help="Analogy file in the word2vec questions-words format; repeatable.")  # fmt: skip
@click.option("-s", "--similarity", multiple=True, type=click.Path(),
              help="Word-pair file: word1 word2 score per line (tab or spaces, # comments); repeatable.")  # fmt: skip
@click.option("--restrict-vocab", default=30000, show_default=True, type=click.IntRange(1),
              help="Only the N most frequent words take part in analogies (as gensim).")  # fmt: skip
@click.option("--method", type=click.Choice(["add", "mul"]), default="add", show_default=True,
              help="Analogy scoring: 3CosAdd or 3CosMul.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--allow-partial", is_flag=True, help="Score the vectors of an unfinished run's checkpoint as they are.")
@handle_errors
def evaluate(model, analogies, similarity, restrict_vocab, method, as_json, allow_partial) -> None:
    """Score MODEL on analogy and word-similarity test sets.

    Analogies report accuracy per section, semantic, syntactic and total, and
    coverage (questions answered / all; a question with an unknown word, or a word
    outside --restrict-vocab, is skipped). Similarity reports Spearman and Pearson
    correlation and how many pairs were out of vocabulary. Test words are
    matched case-insensitively, and with the model's --strip-punctuation
    applied if it was trained with it.
    """
    from w2v_cli.evaluate import evaluate_model

    report = evaluate_model(model, list(analogies), list(similarity), restrict_vocab, method, allow_partial)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for a in report["analogies"]:
        click.echo(display.analogy_table(a))
    for r in report["similarity"]:
        click.echo(display.similarity_line(r))


@main.command()
@click.argument("source", type=click.Path())
@click.argument("dest", type=click.Path())
@click.option(
    "--to",
    "to",
    type=click.Choice(["text", "bin", "native", "tsv"]),
    help="Output format; by default from DEST's extension (.txt/.vec, .bin, .w2v, .tsv) or a directory.",
)
@handle_errors
def convert(source, dest, to) -> None:
    """Convert vectors between word2vec text, word2vec binary, native and projector TSV.

    SOURCE may be any of them (files by gensim, word2vec.c and fastText .vec included),
    or a training output directory. TSV writes vectors.tsv and metadata.tsv for the
    TensorBoard Embedding Projector.
    """
    from w2v_cli.files import convert as run

    click.echo("wrote " + ", ".join(str(p) for p in run(source, dest, to)))


@main.command()
@click.argument("model", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
@handle_errors
def info(model, as_json) -> None:
    """Vocabulary size, dimension, training config and metrics of MODEL (when it carries them)."""
    from w2v_cli.files import model_info

    data = model_info(model)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else "\n".join(display.info_lines(data)))


@main.command()
@click.argument("model", type=click.Path())
@click.argument("words", nargs=-1)
@click.option("-o", "--output", required=True, type=click.Path(), help="PNG file to write.")
@click.option("--neighbours", default=0, show_default=True, type=click.IntRange(0),
              help="Also plot each word's N nearest neighbours, in a lighter colour.")  # fmt: skip
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

    path = (
        plots.plot_run_loss(model, output) if loss else plots.plot_model_words(model, list(words), output, neighbours)
    )
    click.echo(f"wrote {path}")
