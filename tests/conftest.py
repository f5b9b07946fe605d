"""Shared fixtures: small corpora written to tmp_path, and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from w2v_cli import native
from w2v_cli.synthetic import generate

needs_kernel = pytest.mark.skipif(
    not native.available(), reason="the compiled kernel w2v_kernel is not installed (no C compiler at install)"
)
C_AND_NUMPY = ["numpy", pytest.param("c", marks=needs_kernel)]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "w2v_cli" / "default"  # the embedded default corpus and its analogies


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    """A 6,000-sentence synthetic corpus (about 50k words) with the planted relations."""
    path = tmp_path_factory.mktemp("corpus") / "small.txt"
    path.write_text(generate(6000, seed=7), encoding="utf-8")
    return path


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


SHARED_EVAL = ROOT.parent / "shared" / "eval"


@pytest.fixture(scope="session")
def default_model(tmp_path_factory) -> Path:
    """An output directory trained on the embedded default corpus (C engine, 1 worker)."""
    from w2v_cli.config import DEFAULT_CONFIG, resolve_config
    from w2v_cli.pipeline import train_and_save

    out = tmp_path_factory.mktemp("default_model")
    cfg = resolve_config(str(DEFAULT_CONFIG), {"output": str(out), "workers": 1})
    train_and_save(cfg)
    return out
