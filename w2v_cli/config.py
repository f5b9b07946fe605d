"""Training configuration: one dataclass, YAML loading and validation.

Precedence is flag > YAML > built-in default. Unknown YAML keys and invalid
values are `W2VError`s naming the key and what is allowed. Relative corpus paths
in a YAML file are resolved against the directory of that file, so a config
works from any working directory.

Example:
    >>> cfg = resolve_config(None, {"dim": 50})
    >>> cfg.dim, cfg.window
    (50, 5)
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from w2v_cli.errors import W2VError

LOSSES = ("neg", "softmax")
ENGINES = ("auto", "c", "numpy")


@dataclass
class TrainConfig:
    """Every setting of a training run. Each default carries its reason."""

    # Text files or directories; .gz/.bz2/.xz are read transparently.
    corpus: list[str] = field(default_factory=list)
    # Where vectors, the native model, config.yaml and metrics.json go.
    output: str = "out"
    # 100 dimensions: word2vec.c and gensim's default, good up to ~100M words.
    dim: int = 100
    # Max distance between center and context; each position draws 1..window.
    window: int = 5
    # Negative samples per center word (word2vec.c default 5).
    negative: int = 5
    # Words seen fewer times are dropped: rare words get poor vectors anyway.
    min_count: int = 5
    # Keep at most this many most frequent words; 0 means no limit.
    max_vocab: int = 0
    # Subsampling threshold t of frequent words; 0 disables subsampling.
    sample: float = 1e-3
    # Starting learning rate: word2vec.c's skip-gram default.
    lr: float = 0.025
    # Final learning rate of the linear decay; null means lr * 1e-4 (word2vec.c).
    min_lr: float | None = None
    # Passes over the corpus: gensim's default; more helps small corpora.
    epochs: int = 5
    # Training workers; 0 means one per CPU core. 1 is bit-reproducible. Threads for the
    # C engine; forked processes for the numpy engine on Linux (its threads share one GIL).
    workers: int = 0
    # Seed of the one numpy Generator that every random draw comes from.
    seed: int = 1
    # "neg" (negative sampling, fast) or "softmax" (exact, O(V) per pair).
    loss: str = "neg"
    # Exponent of the unigram noise distribution (word2vec's 0.75).
    noise_exponent: float = 0.75
    # Lines longer than this many words are split, as word2vec.c and gensim do.
    max_sentence: int = 10_000
    # "auto" picks the compiled C kernel when it was built at install, else numpy.
    engine: str = "auto"
    # Centers per numpy-engine step: GEMM-sized work; staleness is bounded per row (engine_numpy).
    batch_words: int = 1024
    # Analogy files (questions-words format) scored after every epoch.
    eval_analogies: list[str] = field(default_factory=list)
    # Word-pair similarity files (word1 word2 score) scored after every epoch.
    eval_similarity: list[str] = field(default_factory=list)
    # Only this many most frequent words take part in analogy questions (gensim's 30000).
    eval_restrict_vocab: int = 30000

    @property
    def final_lr(self) -> float:
        """The learning rate at the end of training."""
        return self.lr * 1e-4 if self.min_lr is None else self.min_lr


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def _check_int(key: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise W2VError(f"config key '{key}' must be an integer, got {value!r}")
    if value < low:
        raise W2VError(f"config key '{key}' must be >= {low}, got {value}")


def _check_number(key: str, value: Any, low: float, strict: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise W2VError(f"config key '{key}' must be a number, got {value!r}")
    if value != value or (value <= low if strict else value < low):
        op = ">" if strict else ">="
        raise W2VError(f"config key '{key}' must be {op} {low}, got {value}")


def _check_choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise W2VError(f"config key '{key}' must be one of {', '.join(allowed)}, got {value!r}")


def validate(cfg: TrainConfig) -> TrainConfig:
    """Raise `W2VError` naming the first invalid setting; return `cfg` if all are valid."""
    for key, low in [
        ("dim", 1),
        ("window", 1),
        ("min_count", 1),
        ("max_vocab", 0),
        ("epochs", 1),
        ("workers", 0),
        ("max_sentence", 2),
        ("batch_words", 16),
        ("seed", 0),
    ]:
        _check_int(key, getattr(cfg, key), low)
    _check_int("negative", cfg.negative, 1 if cfg.loss == "neg" else 0)
    _check_number("sample", cfg.sample, 0.0, strict=False)
    _check_number("lr", cfg.lr, 0.0, strict=True)
    _check_number("noise_exponent", cfg.noise_exponent, 0.0, strict=False)
    if cfg.min_lr is not None:
        _check_number("min_lr", cfg.min_lr, 0.0, strict=False)
        if cfg.min_lr > cfg.lr:
            raise W2VError(f"config key 'min_lr' must be <= lr ({cfg.lr}), got {cfg.min_lr}")
    _check_choice("loss", cfg.loss, LOSSES)
    _check_choice("engine", cfg.engine, ENGINES)
    if not isinstance(cfg.output, str) or not cfg.output:
        raise W2VError(f"config key 'output' must be a directory path, got {cfg.output!r}")
    for key in ("corpus", "eval_analogies", "eval_similarity"):
        value = getattr(cfg, key)
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise W2VError(f"config key '{key}' must be a path or a list of paths")
    return cfg


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML config file into a dict of known keys, paths made absolute.

    Example: `load_yaml("configs/default.yaml")["corpus"]` -> `["/abs/data/default.txt"]`.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise W2VError(f"cannot read config {path}: {e.strerror or e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise W2VError(f"{path}: invalid YAML{where}: {getattr(e, 'problem', e)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise W2VError(f"{path}: a config must be a mapping of keys to values")
    unknown = sorted(set(map(str, data)) - set(FIELDS))
    if unknown:
        raise W2VError(f"{path}: unknown config key '{unknown[0]}' (allowed: {', '.join(FIELDS)})")
    base = path.parent
    for key in ("corpus", "output", "eval_analogies", "eval_similarity"):
        if key in data:
            data[key] = _resolve_paths(key, data[key], base)
    return data


def _resolve_paths(key: str, value: Any, base: Path) -> Any:
    """Make relative paths in the YAML relative to the YAML file's directory."""
    if key != "output" and isinstance(value, str):
        value = [value]
    if key != "output" and isinstance(value, list):
        return [os.path.normpath(base / p) if isinstance(p, str) else p for p in value]
    if key == "output" and isinstance(value, str):
        return os.path.normpath(base / value)
    return value


def resolve_config(yaml_path: str | None, overrides: dict[str, Any]) -> TrainConfig:
    """Built-in defaults, then the YAML file, then `overrides` (None values ignored)."""
    values: dict[str, Any] = load_yaml(yaml_path) if yaml_path else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    cfg = validate(TrainConfig(**values))
    cfg.corpus = [os.path.abspath(p) for p in cfg.corpus]
    cfg.eval_analogies = [os.path.abspath(p) for p in cfg.eval_analogies]
    cfg.eval_similarity = [os.path.abspath(p) for p in cfg.eval_similarity]
    return cfg


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """The resolved config as plain data, `min_lr` made explicit."""
    data = dataclasses.asdict(cfg)
    data["min_lr"] = cfg.final_lr
    return data


def dump_yaml(cfg: TrainConfig) -> str:
    """The resolved config as YAML text, loadable again by `load_yaml`."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)
