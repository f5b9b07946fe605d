"""CLI tests for evaluate, convert, info, the interactive prompt and per-epoch evaluation."""

import json

import pytest
from conftest import DEFAULT_DIR, write

from w2v_cli import cli
from w2v_cli.cli import main

ANALOGIES = str(DEFAULT_DIR / "analogies.txt")


def test_evaluate_prints_a_table_and_json(runner, default_model, tmp_path):
    pairs = write(tmp_path / "p.tsv", "king\tqueen\t8\nking\tapple\t1\ncat\tcats\t9\nzzz\tcat\t2\n")
    result = runner.invoke(main, ["evaluate", str(default_model), "-a", ANALOGIES, "-s", str(pairs)])
    assert result.exit_code == 0, result.output
    for needle in [
        "capital-world",
        "family",
        "gram-plural",
        "semantic",
        "syntactic",
        "total",
        "spearman",
        "out of vocabulary 1",
    ]:
        assert needle in result.output
    result = runner.invoke(
        main, ["evaluate", str(default_model / "vectors.bin"), "-a", ANALOGIES, "--json", "--method", "mul"]
    )
    data = json.loads(result.output)
    total = data["analogies"][0]["total"]
    assert total["questions"] == 396 and total["coverage"] == 1.0 and total["accuracy"] >= 0.85


def test_evaluate_needs_a_test_set(runner, default_model):
    result = runner.invoke(main, ["evaluate", str(default_model)])
    assert result.exit_code == 1 and "--analogies or --similarity" in result.stderr


def test_train_records_evaluation_after_every_epoch(runner, small_corpus, tmp_path):
    pairs = write(tmp_path / "p.tsv", "king queen 8\nking apple 1\ncat cats 9\nparis france 9\nman tree 1\n")
    result = runner.invoke(
        main,
        [
            "train",
            str(small_corpus),
            "-o",
            str(tmp_path / "o"),
            "--epochs",
            "3",
            "--dim",
            "20",
            "--workers",
            "1",
            "--eval-analogies",
            ANALOGIES,
            "--eval-similarity",
            str(pairs),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.count("analogies.txt") >= 3  # one line per epoch
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    rows = metrics["eval_per_epoch"]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    accs = [r["analogies"][0]["total"]["accuracy"] for r in rows]
    assert accs[-1] >= accs[0] and accs[-1] > 0.3
    assert rows[-1]["similarity"][0]["spearman"] is not None


def test_train_rejects_a_bad_eval_file_before_training(runner, small_corpus, tmp_path):
    bad = write(tmp_path / "q.txt", "only three words\n")
    result = runner.invoke(main, ["train", str(small_corpus), "-o", str(tmp_path / "o"), "--eval-analogies", str(bad)])
    assert result.exit_code == 1 and "not four words" in result.stderr
    assert not (tmp_path / "o").exists()


def test_convert_and_info(runner, default_model, tmp_path):
    result = runner.invoke(main, ["convert", str(default_model), str(tmp_path / "proj"), "--to", "tsv"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "proj" / "vectors.tsv").is_file() and (tmp_path / "proj" / "metadata.tsv").is_file()
    result = runner.invoke(main, ["info", str(default_model)])
    assert result.exit_code == 0
    fields: dict[str, str] = {}
    for line in result.output.splitlines():
        key, rest = line.split(maxsplit=1)
        fields.setdefault(key, rest)
    metrics = json.loads((default_model / "metrics.json").read_text())
    assert fields["dimension"] == "50" and fields["vocabulary"] == f"{metrics['vocab_size']:,} words"
    assert fields["corpus"].startswith(f"{metrics['corpus_words']:,} words")
    assert "window=5" in fields["config"] and fields["final"].split() == [
        "loss",
        f"{metrics['loss_per_epoch'][-1]:.4f}",
    ]
    result = runner.invoke(main, ["info", str(tmp_path / "proj" / "vectors.tsv")])
    assert "no training metadata" in result.output
    runner.invoke(main, ["convert", str(tmp_path / "proj"), str(tmp_path / "p.w2v")])
    result = runner.invoke(main, ["info", str(tmp_path / "p.w2v")])
    assert "converted    from" in result.output and "proj" in result.output
    result = runner.invoke(main, ["convert", str(tmp_path / "missing.bin"), str(tmp_path / "x.txt")])
    assert result.exit_code == 1 and result.stderr.startswith("error: ")


def test_interactive_prompt(runner, default_model, monkeypatch):
    monkeypatch.setattr(cli, "stdin_is_tty", lambda: True)
    result = runner.invoke(
        main,
        ["similar", str(default_model), "-k", "2"],
        input="king - man + woman\nnosuchword\nparis\n\nnever reached\n",
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count("query> ") == 4
    assert "queen" in out and "unknown word: 'nosuchword'" in out and "paris:" in out
    assert "never reached" not in out


def test_interactive_prompt_ends_at_eof(runner, default_model, monkeypatch):
    monkeypatch.setattr(cli, "stdin_is_tty", lambda: True)
    result = runner.invoke(main, ["similar", str(default_model)], input="cat\n")
    assert result.exit_code == 0 and "cat:" in result.output


@pytest.mark.parametrize(
    "args, needle",
    [
        (["plot", "MODEL", "-o", "x.png"], "give the words to plot"),
        (["convert", "MODEL", "out.unknown"], "use --to"),
    ],
)
def test_more_one_line_errors(runner, default_model, tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    args = [str(default_model) if a == "MODEL" else a for a in args]
    result = runner.invoke(main, args)
    assert result.exit_code == 1 and needle in result.stderr and "Traceback" not in result.output
