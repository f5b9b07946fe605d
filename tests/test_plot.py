import builtins
import json

import numpy as np
import pytest
from conftest import DEFAULT_DIR

from w2v_cli.cli import main
from w2v_cli.errors import W2VError
from w2v_cli.plot import pca_2d

PNG = b"\x89PNG\r\n\x1a\n"
WORD_BLUE, NEIGHBOUR_BLUE, EVAL_ORANGE = (8, 81, 156), (158, 202, 225), (230, 85, 13)  # plot.py's colours


def pixel_colours(path) -> set[tuple[int, int, int]]:
    """The distinct RGB colours of a PNG."""
    from matplotlib.image import imread

    rgb = (imread(str(path))[..., :3] * 255).round().astype(int)
    return set(map(tuple, rgb.reshape(-1, 3).tolist()))


def test_pca_puts_a_line_on_the_first_axis():
    t = np.linspace(-1, 1, 10)[:, None]
    P = pca_2d(t * np.array([[1.0, 2.0, 3.0]]))
    assert np.allclose(P[:, 1], 0, atol=1e-9) and np.ptp(P[:, 0]) > 1


def test_plot_words_and_neighbours(runner, default_model, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "words.png"
    result = runner.invoke(
        main,
        [
            "plot",
            str(default_model),
            "king",
            "queen",
            "man",
            "woman",
            "paris",
            "france",
            "-o",
            str(out),
            "--neighbours",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG)
    colours = pixel_colours(out)
    assert WORD_BLUE in colours and NEIGHBOUR_BLUE in colours  # the words and their neighbours are drawn


def test_plot_loss_draws_eval_scores_only_when_the_run_recorded_them(runner, tmp_path, small_corpus):
    pytest.importorskip("matplotlib")
    analogies = str(DEFAULT_DIR / "analogies.txt")
    base = ["train", str(small_corpus), "--dim", "16", "--epochs", "2", "--min-count", "1", "-q"]
    for name, extra in [("plain", []), ("scored", ["--eval-analogies", analogies])]:
        assert runner.invoke(main, base + ["-o", str(tmp_path / name)] + extra).exit_code == 0
        result = runner.invoke(main, ["plot", str(tmp_path / name), "--loss", "-o", str(tmp_path / f"{name}.png")])
        assert result.exit_code == 0, result.output
    scored = json.loads((tmp_path / "scored" / "metrics.json").read_text())
    assert len(scored["eval_per_epoch"]) == 2
    assert EVAL_ORANGE in pixel_colours(tmp_path / "scored.png")
    assert EVAL_ORANGE not in pixel_colours(tmp_path / "plain.png")


def test_plot_unknown_word_and_missing_metrics(runner, default_model, tmp_path):
    pytest.importorskip("matplotlib")
    result = runner.invoke(main, ["plot", str(default_model), "nosuchword", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "unknown word" in result.stderr
    result = runner.invoke(main, ["plot", str(tmp_path), "--loss", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "no metrics.json" in result.stderr


def test_without_matplotlib_the_error_says_how_to_install(monkeypatch, default_model, tmp_path):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    from w2v_cli import plot

    with pytest.raises(W2VError, match=r"pip install 'w2v\[plot\]'"):
        plot.pyplot()
