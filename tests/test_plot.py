import builtins
import json

import numpy as np
import pytest

from w2v_cli.cli import main
from w2v_cli.errors import W2VError
from w2v_cli.plot import pca_2d

PNG = b"\x89PNG\r\n\x1a\n"


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
    data = out.read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000


def test_plot_loss_with_eval_scores(runner, default_model, tmp_path):
    pytest.importorskip("matplotlib")
    metrics = json.loads((default_model / "metrics.json").read_text())
    assert len(metrics["loss_curve"]) >= 40  # one point per job at most, about 200 in a long run
    out = tmp_path / "loss.png"
    result = runner.invoke(main, ["plot", str(default_model), "--loss", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG)


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
