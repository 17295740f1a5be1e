"""How lrsearch writes a count in what it prints: ``1 trial``, ``2 trials``.

The ground floor (no lrsearch imports), so errors, the CLI and every layer between count alike.
"""

from __future__ import annotations

__all__ = ["counted"]

_IRREGULAR = {"child": "children"}


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1.

    Example:
        >>> counted(1, "trial"), counted(3, "problem"), counted(0, "worker")
        ('1 trial', '3 problems', '0 workers')
    """
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {_IRREGULAR.get(noun, noun + 's')}"
