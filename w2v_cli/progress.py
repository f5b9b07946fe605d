"""Progress bars on stderr, silenced by `quiet`.

One helper so every bar in w2v looks the same and `--quiet` reaches them all.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def bar(total: float | None, desc: str, quiet: bool = False, **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr; `bar(10, "train", quiet=True)` prints nothing.

    Example: `with bar(100, "vocab") as pb: pb.update(10)`.
    """
    return tqdm(
        total=total,
        desc=desc,
        disable=quiet,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.5,
        leave=True,
        **kwargs,
    )
