"""CBOW and hierarchical softmax through the CLI and the pipeline: settings, quality, resume (math: test_gradcheck)."""

import numpy as np
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
        (["--loss", "softmax", "--engine", "c"], "engine 'c' supports loss 'neg' and 'hs'"),
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


@pytest.mark.parametrize(
    "model, engine, epochs",
    [("skipgram", "c", 10), ("cbow", "c", 10), ("skipgram", "numpy", 3), ("cbow", "numpy", 10)],
)
def test_hierarchical_softmax_learns_the_planted_relations_and_saves_its_tree_vectors(tmp_path, model, engine, epochs):
    """Both engines, 2 workers (forked processes for numpy: their steps land on the tree's root at once)."""
    from test_quality import analogy_accuracy

    from w2v_cli.config import DEFAULT_CONFIG, resolve_config
    from w2v_cli.pipeline import train_and_save

    corpus = str(DEFAULT_CONFIG.parent / "default.txt")
    settings = {"corpus": [corpus], "output": str(tmp_path), "dim": 50, "epochs": epochs, "model": model, "loss": "hs"}
    vectors, _ = train_and_save(resolve_config(None, {**settings, "engine": engine, "workers": 2}))
    assert analogy_accuracy(vectors.searcher) >= 0.85
    saved = load_vectors(tmp_path / "model.w2v")
    assert saved.output.shape == (len(saved.words) - 1, 50)  # the inner nodes of the Huffman tree
    assert saved.meta["config"]["loss"] == "hs"


def test_cbow_softmax_learns_the_planted_relations(tmp_path):
    """The exact softmax (numpy engine, the only one that runs it), rows bounded as CBOW's negative sampling."""
    from test_quality import analogy_accuracy

    from w2v_cli.config import DEFAULT_CONFIG, resolve_config
    from w2v_cli.pipeline import train

    corpus = str(DEFAULT_CONFIG.parent / "default.txt")
    settings = {"corpus": [corpus], "output": str(tmp_path), "dim": 50, "epochs": 10, "workers": 1}
    model = train(resolve_config(None, {**settings, "model": "cbow", "loss": "softmax"}))
    assert analogy_accuracy(model.searcher) >= 0.85


MODES = [{"model": "cbow"}, {"loss": "hs"}, {"model": "cbow", "loss": "hs"}, {"loss": "hs", "engine": "numpy"}]


@pytest.mark.parametrize("mode", MODES + [{"model": "cbow", "loss": "softmax", "engine": "numpy"}])
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


def test_init_from_with_hierarchical_softmax_keeps_the_inner_nodes_over_the_same_words(runner, tmp_path, small_corpus):
    """Same corpus: every inner node carries over. A corpus with more words: the nodes over unchanged word sets do."""
    from test_checkpoint import config

    from w2v_cli.corpus import expand_paths
    from w2v_cli.engines.base import node_signatures
    from w2v_cli.pipeline import count_vocabulary, load_start
    from w2v_cli.progress import Progress
    from w2v_cli.training import start_run

    assert train(runner, small_corpus, tmp_path / "a", "--loss", "hs").exit_code == 0
    old = load_vectors(tmp_path / "a" / "model.w2v")
    bigger = tmp_path / "bigger.txt"
    bigger.write_text(small_corpus.read_text() + " ".join(f"new{i % 40}" for i in range(4000)) + "\n")
    for corpus, all_carried in [(small_corpus, True), (bigger, False)]:
        cfg = config(corpus, tmp_path / "b", dim=8, model="cbow", loss="hs", init_from=str(tmp_path / "a"))
        start = load_start(cfg)
        counted = count_vocabulary(cfg, expand_paths(cfg.corpus), None, Progress(), start)
        run = start_run(cfg, counted, None, start)
        old_sig = {tuple(s): i for i, s in enumerate(node_signatures(old.words, old.counts).tolist())}
        new_sig = node_signatures(counted.vocab.words, counted.vocab.counts).tolist()
        same = [(j, old_sig[tuple(s)]) for j, s in enumerate(new_sig) if tuple(s) in old_sig]
        assert len(same) == len(new_sig) if all_carried else 0 < len(same) < len(new_sig)
        for j, i in same:
            assert np.array_equal(run.C[j], old.output[i])
        others = [j for j in range(len(new_sig)) if j not in dict(same)]
        assert not run.C[others].any()
    result = train(runner, small_corpus, tmp_path / "c", "--loss", "hs", "--init-from", str(tmp_path / "a"))
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("loss", ["neg", "hs"])
def test_numpy_cbow_steps_stay_bounded_at_eight_times_the_learning_rate(tmp_path, loss):
    """Each context row steps by the full dJ/dh, so h moves by it: the bound is h's curvature, not a row's.

    One worker, so the run is deterministic. Bounded by a row's curvature (m times
    smaller), CBOW neg diverged here at lr 0.2.
    """
    from test_quality import analogy_accuracy

    from w2v_cli.config import DEFAULT_CONFIG, resolve_config
    from w2v_cli.pipeline import train

    corpus = str(DEFAULT_CONFIG.parent / "default.txt")
    settings = {"corpus": [corpus], "output": str(tmp_path), "dim": 50, "epochs": 3, "lr": 0.4, "workers": 1}
    model = train(resolve_config(None, {**settings, "model": "cbow", "loss": loss, "engine": "numpy"}))
    assert analogy_accuracy(model.searcher) >= 0.85
