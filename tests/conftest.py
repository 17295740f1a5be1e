"""Shared test helpers: the shared CIFAR-10 copy and the rule for unavailable resources.

On a user's fresh machine a missing resource (the shared data copy, a database server, a
browser) skips its tests with a clear reason; in CI (``CI=true``) the same absence fails them,
so CI never goes green by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CIFAR10 = REPO.parent / "shared" / "data" / "cifar10-jpeg-fallback"
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip with ``reason`` on a user's machine; fail in CI, where everything must be there."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run, not skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_cifar10() -> Path:
    """The folder holding ``cifar-10-batches-py`` of the shared CIFAR-10 copy."""
    if not (SHARED_CIFAR10 / "cifar-10-batches-py").is_dir():
        unavailable(f"shared CIFAR-10 copy not found at {SHARED_CIFAR10}")
    return SHARED_CIFAR10
