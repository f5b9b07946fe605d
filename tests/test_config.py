from pathlib import Path

import pytest

from w2v_cli.config import FIELDS, load_yaml, resolve_config, shown_default, to_dict
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
        ("loss: hinge\n", "'loss' must be one of neg, hs, softmax"),
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


def test_saved_config_yaml_reruns_the_same_config(default_model):
    """The config.yaml a run writes, given back with -c, resolves to the same settings."""
    saved = default_model / "config.yaml"
    again = resolve_config(str(saved), {})
    first = load_yaml(saved)
    assert to_dict(again) == {**first, "min_lr": first["min_lr"]}
    assert Path(again.corpus[0]).is_absolute() and again.min_lr == again.final_lr


def test_missing_config_file():
    with pytest.raises(W2VError, match="cannot read config"):
        resolve_config("/nonexistent/c.yaml", {})


@pytest.mark.parametrize("key", [k for k in FIELDS if k != "corpus"])
def test_every_setting_is_a_train_flag_with_help_and_its_default(runner, key):
    from w2v_cli.cli import main

    out = runner.invoke(main, ["train", "--help"], terminal_width=400).output
    line = next((ln for ln in out.splitlines() if f"--{key.replace('_', '-')} " in ln), None)
    assert line is not None, f"no --{key} flag"
    meta = FIELDS[key].metadata
    assert meta["help"].split()[0] in line
    if not meta["multiple"]:
        assert f"[default: {shown_default(FIELDS[key])}]" in line


def test_a_flag_sets_its_key(runner, tmp_path, small_corpus):
    from w2v_cli.cli import main

    out = tmp_path / "o"
    args = ["train", str(small_corpus), "-o", str(out), "--dim", "7", "--noise-exponent", "0.5", "--epochs", "1"]
    assert runner.invoke(main, args + ["--max-sentence", "50", "--batch-words", "64", "-q"]).exit_code == 0
    saved = load_yaml(out / "config.yaml")
    assert (saved["dim"], saved["noise_exponent"], saved["max_sentence"], saved["batch_words"]) == (7, 0.5, 50, 64)


def test_readme_config_table_lists_exactly_the_settings_with_their_defaults():
    from conftest import ROOT

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Config keys", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    table = {key.strip().strip("`"): default.strip().strip("`") for key, default in rows}
    assert list(table) == list(FIELDS)
    for key, f in FIELDS.items():
        assert table[key] == shown_default(f), key
