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

DEFAULT_CONFIG = Path(__file__).parent / "default" / "config.yaml"  # the embedded default run
LOSSES = ("neg", "hs", "softmax")
MODELS = ("skipgram", "cbow")
DEFAULT_LR = {"skipgram": 0.025, "cbow": 0.05}  # word2vec.c's
ENGINES = ("auto", "c", "numpy")


def setting(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    strict: bool = False,
    choices: tuple[str, ...] | None = None,
    kind: type | None = None,
    shown: str | None = None,
    short: str | None = None,
    path: bool = False,
) -> Any:
    """A `TrainConfig` field with what the CLI, the validation and the docs need to know of it.

    `help` says what the setting does and why the default is what it is; `low`
    (with `strict`, exclusive) bounds numbers; `choices` lists the allowed
    strings; `kind` is the value type where the default does not show it;
    `shown` replaces the default in --help; `short` is a one-letter flag;
    `path` marks a file or directory (every list setting is a list of paths).
    Example: `dim: int = setting(100, "Vector dimension.", low=1)`.
    """
    meta = {"help": help, "low": low, "strict": strict, "choices": choices, "shown": shown, "short": short}
    meta["path"] = path or isinstance(default, list)
    meta["kind"] = kind or (str if isinstance(default, list) else type(default))
    if isinstance(default, list):
        return field(default_factory=list, metadata={**meta, "multiple": True})
    return field(default=default, metadata={**meta, "multiple": False})


@dataclass
class TrainConfig:
    """Every setting of a training run; each help text says why its default is what it is."""

    corpus: list[str] = setting([], "Text files or directories; .gz, .bz2 and .xz are read transparently.")
    output: str = setting("out", "Output directory for the vectors, model.w2v, config.yaml and metrics.json.",
                          short="-o", path=True)  # fmt: skip
    dim: int = setting(100, "Vector dimension (word2vec.c's and gensim's default; good up to ~100M words).", low=1)
    window: int = setting(5, "Largest distance between center and context; each position draws 1..window.", low=1)
    negative: int = setting(5, "Negative samples per center word (word2vec.c's default).", low=0)
    min_count: int = setting(5, "Drop words seen fewer times: rare words get poor vectors anyway.", low=1)
    max_vocab: int = setting(0, "Keep only the N most frequent words; 0 keeps all.", low=0)
    sample: float = setting(1e-3, "Subsampling threshold for frequent words (word2vec.c's); 0 turns it off.", low=0)
    model: str = setting("skipgram", "Skip-gram (each word predicts its context) or CBOW (the mean of the context "
                         "predicts the word: faster, a little weaker on analogies).",
                         choices=MODELS)  # fmt: skip
    lr: float | None = setting(None, "Starting learning rate; config.yaml records the one used.", low=0, strict=True,
                               kind=float, shown="0.025 skip-gram, 0.05 CBOW (word2vec.c's)")  # fmt: skip
    min_lr: float | None = setting(None, "Final learning rate of the linear decay (word2vec.c's lr * 1e-4).", low=0,
                                   kind=float, shown="lr * 1e-4")  # fmt: skip
    epochs: int = setting(5, "Passes over the corpus (gensim's default; small corpora want more).", low=1)
    workers: int = setting(0, "Training workers, 0 = one per core; 1 is bit-reproducible. Threads, or forked "
                           "processes for the numpy engine on Linux.", low=0)  # fmt: skip
    seed: int = setting(
        1, "Seed that every random draw derives from (initial vectors, subsampling, windows, negatives).", low=0
    )
    loss: str = setting("neg", "Negative sampling (fast), hierarchical softmax over a Huffman tree (word2vec.c's "
                        "-hs; favours rare words), or exact softmax (O(vocabulary) per pair).",
                        choices=LOSSES)  # fmt: skip
    noise_exponent: float = setting(0.75, "Exponent of the unigram noise distribution (word2vec's 0.75).", low=0)
    max_sentence: int = setting(10_000, "Lines longer than this many words are split (as word2vec.c and gensim).",
                                low=2)  # fmt: skip
    lowercase: bool = setting(False, "Lower-case every token (Unicode, as Python's str.lower: 'Éire' -> 'éire'); "
                              "off, as word2vec.c. Queries to the model are lower-cased too.")  # fmt: skip
    strip_punctuation: bool = setting(False, "Cut leading and trailing punctuation (Unicode P*) from every token "
                                      "and drop tokens made only of it ('(LUB).' -> 'LUB'; \"don't\" and symbols "
                                      "such as $ and + stay); off, as word2vec.c. Queries get the same.")  # fmt: skip
    vocab_memory: str = setting("auto", "Most memory the vocabulary count may hold (512M, 2G, ...); beyond it the "
                                "rarest words are pruned and the rest recounted exactly in a second pass. auto: a "
                                "quarter of this machine's RAM.")  # fmt: skip
    vocab: str | None = setting(None, "Vocabulary file of 'word count' lines (from `w2v vocab` or word2vec.c "
                                "-save-vocab): train with its words and counts instead of counting the corpus.",
                                kind=str, path=True)  # fmt: skip
    engine: str = setting("auto", "Update kernel: compiled C or vectorised numpy; auto picks C when it was built "
                          "at install.", choices=ENGINES)  # fmt: skip
    batch_words: int = setting(1024, "Centers per numpy-engine step: big enough for fast matrix products, small "
                               "enough to stay close to sequential SGD.", low=16)  # fmt: skip
    init_from: str | None = setting(None, "A model.w2v (or output directory) to continue training: its words keep "
                                    "their input and output vectors, new words that pass min_count join with fresh "
                                    "ones, old and new counts add up, and the learning rate starts again from lr. "
                                    "With loss hs, each inner node of the new tree over the same words as one of the "
                                    "old tree's keeps its vector.",
                                    kind=str, path=True)  # fmt: skip
    checkpoint_every: float = setting(10.0, "Minutes between checkpoints (checkpoint.w2v in the output directory: "
                                      "W, C and the run's state; 0.05 s for a 68k-word, 100-d model); 0 turns "
                                      "them off. Ctrl-C and SIGTERM always write one.", low=0)  # fmt: skip
    keep_checkpoint: bool = setting(False, "Keep checkpoint.w2v after the run finishes (it is removed once the "
                                    "outputs are written).")  # fmt: skip
    eval_analogies: list[str] = setting([], "Analogy file (questions-words format) scored after every epoch; "
                                        "repeatable.")  # fmt: skip
    eval_similarity: list[str] = setting([], "Word-pair file (word1 word2 score) scored after every epoch; "
                                         "repeatable.")  # fmt: skip
    eval_restrict_vocab: int = setting(30000, "Only this many most frequent words take part in analogies "
                                       "(gensim's 30000).", low=1)  # fmt: skip

    @property
    def final_lr(self) -> float:
        """The learning rate at the end of training."""
        lr = DEFAULT_LR.get(self.model, DEFAULT_LR["skipgram"]) if self.lr is None else self.lr
        return lr * 1e-4 if self.min_lr is None else self.min_lr


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def shown_default(f: dataclasses.Field) -> str:
    """A setting's default as --help and the README show it: `shown`, "none", "false"/"true", or the value."""
    if f.metadata["shown"]:
        return f.metadata["shown"]
    if f.metadata["multiple"] or f.default is None:
        return "none"
    return str(f.default).lower() if isinstance(f.default, bool) else str(f.default)


def _check_value(key: str, value: Any, meta: dict) -> None:
    """One setting against its metadata: type, bound, choices."""
    kind, low, strict = meta["kind"], meta["low"], meta["strict"]
    if meta["choices"] is not None:
        if value not in meta["choices"]:
            raise W2VError(f"config key '{key}' must be one of {', '.join(meta['choices'])}, got {value!r}")
        return
    if kind is bool:
        if not isinstance(value, bool):
            raise W2VError(f"config key '{key}' must be true or false, got {value!r}")
        return
    if kind is str:
        if not isinstance(value, str) or not value:
            raise W2VError(f"config key '{key}' must be a {'path' if meta['multiple'] else 'non-empty string'}")
        return
    if isinstance(value, bool) or not isinstance(value, int if kind is int else (int, float)):
        raise W2VError(f"config key '{key}' must be {'an integer' if kind is int else 'a number'}, got {value!r}")
    if low is not None and (value != value or (value <= low if strict else value < low)):
        raise W2VError(f"config key '{key}' must be {'>' if strict else '>='} {low:g}, got {value}")


def validate(cfg: TrainConfig) -> TrainConfig:
    """Raise `W2VError` naming the first invalid setting; return `cfg`, with lr filled in if it was not given."""
    for key, f in FIELDS.items():
        value = getattr(cfg, key)
        if f.metadata["multiple"]:
            if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                raise W2VError(f"config key '{key}' must be a path or a list of paths")
        elif value is not None or f.default is not None:
            _check_value(key, value, f.metadata)
    if cfg.lr is None:
        cfg.lr = DEFAULT_LR.get(cfg.model, DEFAULT_LR["skipgram"])
    if cfg.loss == "neg" and cfg.negative < 1:
        raise W2VError(f"config key 'negative' must be >= 1 with loss 'neg', got {cfg.negative}")
    if cfg.min_lr is not None and cfg.min_lr > cfg.lr:
        raise W2VError(f"config key 'min_lr' must be <= lr ({cfg.lr}), got {cfg.min_lr}")
    vocab_memory_bytes(cfg.vocab_memory)
    return cfg


SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
MIN_VOCAB_MEMORY = 64 << 20  # room for a 1 MiB block's worst case after a prune


def worker_count(cfg: TrainConfig) -> int:
    """The workers a run uses: `cfg.workers`, or one per core when it is 0."""
    return cfg.workers or os.cpu_count() or 1


def parse_size(text: str) -> int | None:
    """Bytes in '512M', '2G', '1.5g' or '1000000' (binary units); None if it is not a size.

    Example: `parse_size("2G")` -> `2147483648`.
    """
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1:] if t[-1:] in SIZE_UNITS else ""
    try:
        value = float(t[: len(t) - len(unit)])
    except ValueError:
        return None
    return int(value * SIZE_UNITS[unit]) if value >= 0 else None


def machine_memory() -> int:
    """This machine's physical RAM in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def vocab_memory_bytes(setting: str) -> int:
    """The vocab_memory setting in bytes: a size, or "auto" (a quarter of the RAM); a W2VError if invalid."""
    if setting == "auto":
        return max(machine_memory() // 4, MIN_VOCAB_MEMORY)
    size = parse_size(setting)
    if size is None:
        raise W2VError(f"config key 'vocab_memory' must be a size such as 512M or 2G, or auto; got {setting!r}")
    if size < MIN_VOCAB_MEMORY:
        raise W2VError(f"config key 'vocab_memory' must be at least 64M, got {setting}")
    if size > machine_memory():
        raise W2VError(f"config key 'vocab_memory' ({setting}) is more than this machine's memory "
                       f"({machine_memory() / (1 << 30):.1f}G)")  # fmt: skip
    return size


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML config file into a dict of known keys, paths made absolute.

    Example: `load_yaml(DEFAULT_CONFIG)["corpus"]` -> `[".../w2v_cli/default/default.txt"]`.
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
    for key in ("corpus", "output", "vocab", "init_from", "eval_analogies", "eval_similarity"):
        if key in data:
            data[key] = _resolve_paths(key, data[key], base)
    return data


def _resolve_paths(key: str, value: Any, base: Path) -> Any:
    """Make relative paths in the YAML relative to the YAML file's directory."""
    single = key in ("output", "vocab", "init_from")
    if not single and isinstance(value, str):
        value = [value]
    if not single and isinstance(value, list):
        return [os.path.normpath(base / p) if isinstance(p, str) else p for p in value]
    if single and isinstance(value, str):
        return os.path.normpath(base / value)
    return value


def choose_config(yaml_path: str | None, has_corpus: bool) -> str | None:
    """The YAML file to read: the one given, else the embedded default when no corpus is given either."""
    if yaml_path or has_corpus:
        return yaml_path
    return str(DEFAULT_CONFIG)


def resolve_config(yaml_path: str | None, overrides: dict[str, Any]) -> TrainConfig:
    """Built-in defaults, then the YAML file, then `overrides` (None values ignored)."""
    values: dict[str, Any] = load_yaml(yaml_path) if yaml_path else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    cfg = validate(TrainConfig(**values))
    cfg.corpus = [os.path.abspath(p) for p in cfg.corpus]
    cfg.eval_analogies = [os.path.abspath(p) for p in cfg.eval_analogies]
    cfg.eval_similarity = [os.path.abspath(p) for p in cfg.eval_similarity]
    cfg.vocab = cfg.vocab and os.path.abspath(cfg.vocab)
    cfg.init_from = cfg.init_from and os.path.abspath(cfg.init_from)
    return cfg


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """The resolved config as plain data, `min_lr` made explicit."""
    data = dataclasses.asdict(cfg)
    data["min_lr"] = cfg.final_lr
    return data
