"""Which process runs which step of opening a study: the creator sets it up, the others wait.

Opening a study takes four steps (:class:`SetUpSteps`): store what the study is (fingerprint,
config, provenance), check a study found against the config, set it up (range tests, then
baselines), or read the set-up another process did. A single process creates the study and
runs the first and third. With several (a resume, another worker, a machine joining through a
server database), the creator claims the set-up before it writes anything, and every other
process checks the fingerprint, refusing a changed space, then waits until the set-up is done,
or finishes it when its holder stopped (raised, was interrupted or killed; see
:mod:`lrsearch.search.parallel._setup_claim`): so a first run stopped during its range test
loses neither the test nor the baselines, and the baselines are queued once. A creator stopped
before it even stored the fingerprint and config leaves a claimed study without them: whoever
takes the set-up over stores them first (from its own config), then checks and sets up.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

import optuna

from lrsearch.records import CLAIM_ATTR, FINGERPRINT_ATTR
from lrsearch.search.parallel._setup_claim import SetupClaim, await_setup

if TYPE_CHECKING:
    from lrsearch.search._space import SearchSpace

__all__ = ["SetUpSteps", "set_up_study"]

INIT_WAIT_S = 10.0  # a study just created by another process claims its set-up in this time


class SetUpSteps(Protocol):
    """The steps of opening one study with one config; each returns what its name says."""

    def initialise(self) -> None:
        """Store the fingerprint, the resolved config and the provenance."""

    def check(self) -> None:
        """Refuse a study made with another search space, direction or pruning judge."""

    def set_up(self) -> tuple[SearchSpace, list[str]]:
        """Run the range tests not stored yet, queue the baselines not queued yet; return the
        resolved search space and the optimizers whose range test ran."""

    def resolve(self) -> tuple[SearchSpace, list[str]]:
        """The search space resolved with the stored range tests (as :meth:`set_up`)."""


def set_up_study(study: optuna.Study, steps: SetUpSteps, created: bool,
                 say: bool = True) -> tuple[SearchSpace, list[str]]:
    """Run the steps this process should run on ``study``; the resolved space and the range
    tests run here.

    Args:
        study: The study, just created or loaded.
        steps: Its steps.
        created: This process created the study.
        say: Print on stderr what it waits for, and why it takes over.
    """
    if created:
        # Claimed before anything else is written: a joiner sees someone is at work.
        with SetupClaim.write(study):
            steps.initialise()
            return steps.set_up()
    _await_claimed(study)
    attrs = study.user_attrs
    # Claimed, no fingerprint yet: its creator is storing it, or stopped before (then the
    # set-up is taken over here, and checked once the fingerprint is there).
    checked = FINGERPRINT_ATTR in attrs or CLAIM_ATTR not in attrs
    if checked:
        steps.check()
    return _join(study, steps, checked, say)


def _join(study: optuna.Study, steps: SetUpSteps, checked: bool,
          say: bool) -> tuple[SearchSpace, list[str]]:
    """Wait for the set-up of the study's holder, or finish it here when the holder stopped
    (storing the fingerprint and config first if its creator stopped before that); then
    check the study unless that was ``checked`` already."""
    claim = await_setup(study, say=say)
    if claim is None:
        if not checked:
            steps.check()
        return steps.resolve()
    with claim:
        if FINGERPRINT_ATTR not in study.user_attrs:
            steps.initialise()
        if not checked:
            steps.check()
        return steps.set_up()


def _await_claimed(study: optuna.Study) -> None:
    """Give a study that another process has just created the moment it needs to claim its
    set-up (its first write); a study with attributes or trials is past that."""
    deadline = time.monotonic() + INIT_WAIT_S
    while not study.user_attrs and not study.get_trials(deepcopy=False) and \
            time.monotonic() < deadline:
        time.sleep(0.2)
