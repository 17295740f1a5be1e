"""lrsearch: find the best learning-rate schedule for a model, and take it home.

The top-level package is light: it re-exports the schedule spec API, ``load_best`` (the best
schedule of a stored study) and ``optimize`` (a search over a training loop of your own),
which load Optuna only when first used.

Example:
    >>> import lrsearch
    >>> spec = lrsearch.ScheduleSpec("cosine", peak_lr=0.1, total_steps=10,
    ...                              params={"final_ratio": 0.0})
    >>> spec.lr(5), spec.lr(10)
    (0.05, 0.0)
"""

from lrsearch.errors import LrsearchError, SpecError
from lrsearch.schedules import ScheduleSpec, list_families, load_spec
from lrsearch.version import __version__

__all__ = ["LrsearchError", "ScheduleSpec", "SpecError", "__version__", "list_families",
           "load_best", "load_spec", "optimize"]


def __getattr__(name: str):
    """``lrsearch.load_best`` and ``lrsearch.optimize``, imported on first use (they need
    Optuna and SQLAlchemy)."""
    if name == "load_best":
        from lrsearch.report import load_best

        return load_best
    if name == "optimize":
        from lrsearch.api import optimize

        return optimize
    raise AttributeError(f"module 'lrsearch' has no attribute {name!r}")
