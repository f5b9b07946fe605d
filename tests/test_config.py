from pathlib import Path

import pytest

from w2v_cli.config import TrainConfig, dump_yaml, load_yaml, resolve_config
from w2v_cli.errors import W2VError


def test_defaults_follow_word2vec_practice():
    cfg = resolve_config(None, {})
    assert (cfg.dim, cfg.window, cfg.negative, cfg.min_count) == (100, 5, 5, 5)
    assert (cfg.sample, cfg.lr, cfg.epochs, cfg.noise_exponent) == (1e-3, 0.025, 5, 0.75)
    assert cfg.final_lr == pytest.approx(0.025 * 1e-4)


def test_flag_overrides_yaml_overrides_default(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("dim: 20\nwindow: 3\n")
    cfg = resolve_config(str(cfg_file), {"dim": 30, "window": None})
    assert cfg.dim == 30 and cfg.window == 3 and cfg.negative == 5


def test_corpus_paths_resolve_against_the_yaml_file(tmp_path):
    (tmp_path / "sub").mkdir()
    cfg_file = tmp_path / "sub" / "c.yaml"
    cfg_file.write_text("corpus: ../data/x.txt\noutput: ../o\n")
    data = load_yaml(cfg_file)
    assert data["corpus"] == [str(tmp_path / "data" / "x.txt")]
    assert data["output"] == str(tmp_path / "o")


@pytest.mark.parametrize(
    "text, message",
    [
        ("dimm: 3\n", "unknown config key 'dimm'"),
        ("dim: 0\n", "'dim' must be >= 1"),
        ("dim: many\n", "'dim' must be an integer"),
        ("window: 0\n", "'window' must be >= 1"),
        ("lr: -1\n", "'lr' must be > 0"),
        ("loss: hinge\n", "'loss' must be one of neg, softmax"),
        ("min_lr: 0.5\n", "'min_lr' must be <= lr"),
        ("sample: -0.1\n", "'sample' must be >= 0"),
        ("[1, 2\n", "invalid YAML"),
        ("- a\n- b\n", "must be a mapping"),
    ],
)
def test_bad_config_is_a_one_line_error(tmp_path, text, message):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(text)
    with pytest.raises(W2VError, match=message) as err:
        resolve_config(str(cfg_file), {})
    assert "\n" not in str(err.value)


def test_resolved_config_round_trips_through_yaml(tmp_path):
    cfg = resolve_config(None, {"corpus": ["a.txt"], "dim": 7})
    path = tmp_path / "config.yaml"
    path.write_text(dump_yaml(cfg))
    again = resolve_config(str(path), {})
    assert again.dim == 7 and again.corpus == cfg.corpus and Path(again.corpus[0]).is_absolute()
    assert again.min_lr == cfg.final_lr


def test_missing_config_file():
    with pytest.raises(W2VError, match="cannot read config"):
        resolve_config("/nonexistent/c.yaml", {})


def test_every_field_has_a_default():
    TrainConfig()  # constructing with no arguments must work
