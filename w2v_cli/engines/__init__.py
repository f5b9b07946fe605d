"""Training engines: the interface (`base`), the numpy and C engines, and the runners.

`resolve_engine` and `make_engine` are the only places that know which engine
a run uses; everything else talks to the `Engine` interface.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from w2v_cli import native
from w2v_cli.engines.base import LOSS_EVERY, Batch, Engine, Job
from w2v_cli.errors import W2VError

__all__ = ["LOSS_EVERY", "Batch", "Engine", "Job", "engine_class", "make_engine", "resolve_engine"]


def resolve_engine(cfg, note: Callable[[str], None] = lambda text: None) -> str:
    """The engine a run will use: 'c' when asked for or installed (and loss is neg), else 'numpy'.

    `note` hears why an `auto` run falls back to the slower numpy engine.
    """
    if cfg.engine == "numpy" or cfg.loss == "softmax":
        if cfg.engine == "c":
            raise W2VError("engine 'c' supports loss 'neg' and 'hs'; use --engine numpy for softmax")
        return "numpy"
    if not native.available():
        if cfg.engine == "c":
            raise W2VError("engine 'c' is not installed (no C compiler at install time?); reinstall w2v or use numpy")
        note("the compiled kernel is not installed; training with the numpy engine (about 3x slower)")
        return "numpy"
    return "c"


def engine_class(name: str) -> type[Engine]:
    """The class of engine `name` ("c" or "numpy")."""
    if name == "c":
        from w2v_cli.engines.c_engine import CEngine

        return CEngine
    from w2v_cli.engines.numpy_engine import NumpyEngine

    return NumpyEngine


def make_engine(name: str, cfg, vocab_size: int, noise: tuple[np.ndarray, np.ndarray], counts=None) -> Engine:
    """The engine `name`; `noise` is the alias table of the noise distribution both draw from, `counts`
    the vocabulary's (hierarchical softmax builds its tree from them)."""
    return engine_class(name)(cfg, vocab_size, noise, counts)
