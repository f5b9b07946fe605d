"""CBOW and hierarchical softmax through the CLI and the pipeline: settings, quality, resume (math: test_gradcheck)."""

import pytest
import yaml
from conftest import needs_kernel

from w2v_cli import schedule
from w2v_cli.checkpoint import Interrupted
from w2v_cli.cli import main
from w2v_cli.files import load_vectors

pytestmark = needs_kernel


def train(runner, corpus, out, *extra):
    args = ["train", str(corpus), "-o", str(out), "--dim", "8", "--epochs", "2", "--workers", "1", "-q"]
    return runner.invoke(main, args + ["--model", "cbow", *extra])


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--loss", "softmax"], "CBOW softmax"),
        (["--model", "skipgram", "--loss", "hs", "--engine", "numpy"], "the numpy engine's is not built yet"),
        (["--negative", "200"], "engine 'c' supports negative <= 127"),
    ],
)
def test_unsupported_combinations_are_one_line(runner, tmp_path, small_corpus, extra, needle):
    result = train(runner, small_corpus, tmp_path / "o", *extra)
    assert result.exit_code == 1 and needle in result.stderr


def test_cbow_records_its_learning_rate_and_one_worker_is_reproducible(runner, tmp_path, small_corpus):
    assert train(runner, small_corpus, tmp_path / "a").exit_code == 0
    assert train(runner, small_corpus, tmp_path / "b").exit_code == 0
    config = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())
    assert config["model"] == "cbow" and config["lr"] == 0.05
    assert (tmp_path / "a" / "vectors.bin").read_bytes() == (tmp_path / "b" / "vectors.bin").read_bytes()
    assert train(runner, small_corpus, tmp_path / "c", "--lr", "0.01").exit_code == 0
    assert yaml.safe_load((tmp_path / "c" / "config.yaml").read_text())["lr"] == 0.01
    info = runner.invoke(main, ["info", str(tmp_path / "a")])
    assert "model=cbow" in info.output


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_hierarchical_softmax_learns_the_planted_relations_and_saves_its_tree_vectors(tmp_path, model):
    from test_quality import analogy_accuracy

    from w2v_cli.config import DEFAULT_CONFIG, resolve_config
    from w2v_cli.pipeline import train_and_save

    corpus = str(DEFAULT_CONFIG.parent / "default.txt")
    settings = {"corpus": [corpus], "output": str(tmp_path), "dim": 50, "epochs": 10, "model": model, "loss": "hs"}
    vectors, _ = train_and_save(resolve_config(None, settings))
    assert analogy_accuracy(vectors.searcher) >= 0.85
    saved = load_vectors(tmp_path / "model.w2v")
    assert saved.output.shape == (len(saved.words) - 1, 50)  # the inner nodes of the Huffman tree
    assert saved.meta["config"]["loss"] == "hs"


@pytest.mark.parametrize("mode", [{"model": "cbow"}, {"loss": "hs"}, {"model": "cbow", "loss": "hs"}])
def test_every_mode_resumes_exactly(tmp_path, small_corpus, monkeypatch, mode):
    from test_checkpoint import InterruptAt, config, outputs

    from w2v_cli.pipeline import resume_and_save, train_and_save

    monkeypatch.setattr(schedule, "SEGMENT_IDS", 5000)
    train_and_save(config(small_corpus, tmp_path / "whole", **mode), stop=InterruptAt(1 << 62))
    with pytest.raises(Interrupted):
        train_and_save(config(small_corpus, tmp_path / "split", **mode), stop=InterruptAt(70_000))
    resume_and_save(str(tmp_path / "split"), None)
    assert outputs(tmp_path / "split") == outputs(tmp_path / "whole")
    assert load_vectors(tmp_path / "split").meta["config"]["model"] == mode.get("model", "skipgram")


def test_init_from_is_refused_with_hierarchical_softmax(runner, tmp_path, small_corpus):
    assert train(runner, small_corpus, tmp_path / "a", "--loss", "hs").exit_code == 0
    result = train(runner, small_corpus, tmp_path / "b", "--loss", "hs", "--init-from", str(tmp_path / "a"))
    assert result.exit_code == 1 and "Huffman tree changes with the vocabulary" in result.stderr
