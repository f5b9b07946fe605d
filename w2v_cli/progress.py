"""How the library reports while it works: progress bars, notes and per-epoch scores.

Library code never prints. It reports through a `Progress`, which the caller
chooses: the base class reports nothing (the Python API's default), and
`TerminalProgress` shows tqdm bars, notes and score lines on stderr (the CLI's
choice; `--quiet` keeps only the notes away too).

Example: `with Progress().bar(100, "vocab") as pb: pb.update(10)` shows nothing.
"""

from __future__ import annotations

import sys
from typing import Any


class Bar:
    """A progress bar that shows nothing; `TerminalProgress.bar` returns a tqdm one."""

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        """Advance by `n` units."""

    def set_postfix_str(self, text: str, refresh: bool = False) -> None:
        """Show `text` after the bar."""


class Progress:
    """Reports nothing. Subclasses show bars, notes and scores somewhere."""

    def bar(self, total: float | None, desc: str, unit: str = "it") -> Bar:
        """A bar counting up to `total` units."""
        return Bar()

    def note(self, text: str) -> None:
        """A one-line note for the user (a fallback, a pruned vocabulary)."""

    def epoch_scores(self, row: dict[str, Any]) -> None:
        """The evaluation scores after one epoch (a row of metrics.json's eval_per_epoch)."""


class TerminalProgress(Progress):
    """tqdm bars, `note: ...` lines and one score line per epoch, on stderr; nothing when `quiet`."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.current: Any = None  # the open bar, so that lines print above it

    def bar(self, total: float | None, desc: str, unit: str = "it") -> Any:
        if self.quiet:
            return Bar()
        from tqdm import tqdm

        self.current = tqdm(
            total=total, desc=desc, unit=unit, unit_scale=True, file=sys.stderr, dynamic_ncols=True,
            mininterval=0.5, leave=True,
        )  # fmt: skip
        return self.current

    def _line(self, text: str) -> None:
        if self.current is not None and not self.current.disable:
            self.current.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def note(self, text: str) -> None:
        if not self.quiet:
            self._line(f"note: {text}")

    def epoch_scores(self, row: dict[str, Any]) -> None:
        from w2v_cli.display import eval_line

        if not self.quiet:
            self._line(f"epoch {row['epoch']}: {eval_line(row)}")
