"""The one exception hierarchy of lrsearch.

Every error that lrsearch raises on purpose derives from :class:`LrsearchError`, so the CLI can
print it as one clear message (no traceback) and exit non-zero, while real bugs still surface.
"""

from __future__ import annotations

from collections.abc import Iterable

from lrsearch.text import counted

__all__ = [
    "LrsearchError", "SpecError", "ConfigError", "StudyError", "DataError", "TrainingError",
    "DivergedError",
]


class LrsearchError(Exception):
    """Base class of every error lrsearch raises on purpose."""


class SpecError(LrsearchError, ValueError):
    """A schedule spec is invalid; ``problems`` lists every problem found, one line each.

    Each problem starts with the dotted path of the field, then the value and the rule, e.g.
    ``params.gamma: got 1.5; must be in (0, 1]``.
    """

    def __init__(self, problems: Iterable[str], prefix: str = "") -> None:
        self.problems = [f"{prefix}{p}" for p in problems]
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid schedule spec ({counted(len(self.problems), 'problem')}):"
                         f"\n{lines}")


class ConfigError(LrsearchError, ValueError):
    """A study file is invalid; ``problems`` lists every problem with its dotted path."""

    def __init__(self, problems: Iterable[str], source: str = "study file") -> None:
        from lrsearch.urls import redact_text  # here: it loads sqlalchemy

        self.problems = [_bounded(redact_text(p)) for p in problems]
        shown = self.problems[:_MAX_PROBLEMS_SHOWN]
        lines = "\n".join(f"  - {p}" for p in shown)
        if len(self.problems) > len(shown):
            lines += f"\n  ... and {len(self.problems) - len(shown)} more"
        super().__init__(f"invalid {source} ({counted(len(self.problems), 'problem')}):\n{lines}")


# A problem line echoes the value it got: bounded, so a huge value cannot flood the terminal.
_MAX_PROBLEM_CHARS = 400
_MAX_PROBLEMS_SHOWN = 30


def _bounded(line: str) -> str:
    if len(line) <= _MAX_PROBLEM_CHARS:
        return line
    return f"{line[:_MAX_PROBLEM_CHARS - 40]} ... ({len(line):,} characters in all)"


class StudyError(LrsearchError):
    """A study cannot be run or resumed (storage unreachable, search space changed, ...)."""


class DataError(LrsearchError):
    """A data set could not be found, downloaded or read."""


class TrainingError(LrsearchError):
    """A training run could not be set up (unknown model, optimizer, device...)."""


class DivergedError(LrsearchError):
    """The loss became NaN or infinite; ``step`` and ``epoch`` say where, and ``lr_curve``
    (``[[step, lr], ...]``, as a run records it) what the LR did up to there."""

    def __init__(self, message: str, *, epoch: int, step: int,
                 lr_curve: Iterable[tuple[int, float]] = ()) -> None:
        self.epoch = epoch
        self.step = step
        self.lr_curve = [[int(s), float(lr)] for s, lr in lr_curve]
        super().__init__(message)
