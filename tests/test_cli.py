import json
from pathlib import Path

import numpy as np
import pytest
from conftest import write

from w2v_cli.cli import main
from w2v_cli.files import OUTPUT_FILES, load_vectors


def test_every_command_has_help(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for name, command in main.commands.items():
        assert command.help, name
        sub = runner.invoke(main, [name, "--help"])
        assert sub.exit_code == 0 and "Usage:" in sub.output
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{name} {param.name} has no help"


def train_args(corpus, out, *extra):
    return [
        "train",
        str(corpus),
        "-o",
        str(out),
        "--dim",
        "16",
        "--epochs",
        "2",
        "--min-count",
        "2",
        "--workers",
        "1",
        "-q",
        *extra,
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_corpus):
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("model")
    result = CliRunner().invoke(main, train_args(small_corpus, out))
    assert result.exit_code == 0, result.output
    return out, result


def test_train_writes_every_output(trained):
    out, result = trained
    names = sorted(p.name for p in out.iterdir())
    assert names == ["config.yaml", "metrics.json", "model.w2v", "vectors.bin", "vectors.txt"]
    assert "trained" in result.output and "words/s" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and len(metrics["loss_per_epoch"]) == 2
    assert metrics["config"]["dim"] == 16
    header = (out / "vectors.txt").read_text().split("\n", 1)[0]
    assert header == f"{metrics['vocab_size']} 16"


def test_saved_config_reproduces_the_run(trained, runner, tmp_path):
    out, _ = trained
    result = runner.invoke(main, ["train", "-c", str(out / "config.yaml"), "-o", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    from w2v_cli.formats import read_native

    a, b = read_native(out / "model.w2v"), read_native(tmp_path / "model.w2v")
    assert (out / "vectors.bin").read_bytes() == (tmp_path / "vectors.bin").read_bytes()
    assert np.array_equal(a.matrix, b.matrix) and np.array_equal(a.output, b.output)


def test_similar_prints_neighbours_and_json(trained, runner):
    out, _ = trained
    result = runner.invoke(main, ["similar", str(out), "king", "-k", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "king:" and len(lines) == 4
    result = runner.invoke(
        main, ["similar", str(out / "vectors.bin"), "king", "-", "man", "+", "woman", "--json", "-k", "2"]
    )
    data = json.loads(result.output)
    assert data["positive"] == ["king", "woman"] and data["negative"] == ["man"]
    assert len(data["results"]) == 2 and {"word", "similarity"} <= set(data["results"][0])


def test_similar_reads_queries_from_stdin(trained, runner):
    out, _ = trained
    result = runner.invoke(
        main, ["similar", str(out / "vectors.txt"), "--json", "-k", "1"], input="paris\n\nking - man + woman\nzzzz\n"
    )
    assert result.exit_code == 1  # one query had an unknown word
    rows = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [r["positive"] for r in rows] == [["paris"], ["king", "woman"]]
    assert "unknown word: 'zzzz'" in result.stderr


def one_line_error(result, needle):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    err = result.stderr.strip()
    assert err.startswith("error: ") and needle in err and "\n" not in err, err


@pytest.mark.parametrize(
    "make, args, needle",
    [
        (lambda p: p / "missing.txt", [], "does not exist"),
        (lambda p: write(p / "empty.txt", " \n\n"), [], "corpus is empty"),
        (lambda p: write(p / "rare.txt", "a b c d\n"), [], "min_count=5"),
        (lambda p: write(p / "ok.txt", "a a\n"), ["--dim", "0"], "'dim' must be >= 1"),
        (lambda p: write(p / "ok.txt", "a a\n"), ["--window", "0"], "'window' must be >= 1"),
    ],
)
def test_train_errors_are_one_line(runner, tmp_path, make, args, needle):
    corpus = make(tmp_path)
    result = runner.invoke(main, ["train", str(corpus), "-o", str(tmp_path / "o"), "-q", *args])
    one_line_error(result, needle)


@pytest.mark.parametrize("text, needle", [("dim: [\n", "invalid YAML"), ("colour: red\n", "unknown config key")])
def test_bad_yaml_is_one_line(runner, tmp_path, text, needle):
    cfg = write(tmp_path / "c.yaml", text)
    one_line_error(runner.invoke(main, ["train", "-c", str(cfg), "-q"]), needle)


def test_similar_errors_are_one_line(runner, trained, tmp_path):
    out, _ = trained
    one_line_error(runner.invoke(main, ["similar", str(out), "qwertyuiop"]), "unknown word")
    bad = write(tmp_path / "x.bin", b"\x00\x01 garbage")
    one_line_error(runner.invoke(main, ["similar", str(bad), "a"]), "not a word2vec")
    one_line_error(runner.invoke(main, ["similar", str(tmp_path / "none"), "a"]), "does not exist")


def test_a_failed_run_leaves_earlier_output_untouched(runner, trained, tmp_path):
    out, _ = trained
    before = {p.name: p.read_bytes() for p in Path(out).iterdir()}
    rare = write(tmp_path / "rare.txt", "a b c\n")
    result = runner.invoke(main, ["train", str(rare), "-o", str(out), "-q"])
    assert result.exit_code == 1
    assert {p.name: p.read_bytes() for p in Path(out).iterdir()} == before


def test_train_with_no_corpus_trains_the_embedded_default_anywhere(tmp_path):
    """In an empty directory, outside the repository, `w2v train` trains the default corpus into ./out."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "w2v_cli", "train", "--epochs", "2", "--workers", "1"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "embedded default" in done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(OUTPUT_FILES)
    found = [w for w, _ in load_vectors(tmp_path / "out").most_similar(["france"], k=10)]
    assert "paris" in found or "french" in found
