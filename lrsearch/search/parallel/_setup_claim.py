"""One process at a time sets a new study up: its LR range tests and its baselines.

Setting a study up (the range tests of ``peak_lr: auto``, then queueing the baselines at the
resolved peak LR) can take minutes, and every process that opens the study needs its result. The
process that creates the study claims the set-up first thing, in the study's user attribute
``setup_claim``, and marks it done in ``setup_done`` at the end. Any other process (another
worker, a resume) that finds no ``setup_done`` waits while the claim shows signs of life, and
takes the set-up over when the claim was released (its holder raised or was interrupted: it
marks the claim ``failed``), or its holder is known to be dead (the claim records the holder as
a trial records its worker, see :mod:`lrsearch.search.parallel._identity`: a killed holder on
the same machine is noticed at once), or the claim shows no change for :data:`STALE_S` seconds
(a holder elsewhere was killed), or was never made (a holder stopped before its first write).
Whoever finishes the set-up did the parts still missing only: a range test already stored is
reused, and a baseline that some trial already carries is not queued again. A holder that was
taken over (it looked dead) writes nothing more to the claim.

Optuna's storages have no compare-and-set, so a claim is taken by writing it, waiting
:data:`SETTLE_S` and reading it back: of two processes that took it at once, the one whose
write landed last holds it, and the other goes back to waiting. Two holders need two takers
whose check and write straddle each other by more than :data:`SETTLE_S` (a database round trip
is milliseconds), and even then the range test's result is stored first-wins and read back
(see :mod:`lrsearch.search._lr_range_test`), so every process searches the same range; the worst
left is a range test run twice, or a baseline queued twice.

A waiting process judges staleness by its own clock (how long the claim has not changed), so
the clocks of different machines need not agree. The holder rewrites the claim every
:data:`HEARTBEAT_S` seconds from a thread, so a long data load or a slow step counts as alive.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from typing import Any

import optuna

from lrsearch.records import CLAIM_ATTR, SETUP_DONE_ATTR, set_study_record, study_records
from lrsearch.search.parallel._identity import process_alive, worker_id

__all__ = ["SetupClaim", "await_setup", "is_set_up"]

HEARTBEAT_S = 5.0  # the holder rewrites its claim this often
STALE_S = 60.0  # a claim unchanged this long (by the waiter's clock) is taken over
POLL_S = 1.0  # how often a waiter reads the study
SETTLE_S = 1.0  # between writing a claim and reading back who holds it
JOIN_S = 10.0  # at most this long for the heartbeat thread's last write when the holder ends


def is_set_up(study: optuna.Study) -> bool:
    """The study's set-up (range tests, baselines) is complete."""
    return bool(study_records(study).get(SETUP_DONE_ATTR))


class SetupClaim:
    """A held claim on a study's set-up; a context manager that keeps it alive.

    On exit it writes ``done`` (and ``setup_done``) when the block finished, or ``failed``
    with the reason when it raised (Ctrl-C included), so that the next process takes over at
    once instead of waiting for the claim to go stale; it writes nothing when the claim was
    taken over meanwhile (the taker holds it now).
    """

    def __init__(self, study: optuna.Study, record: dict[str, Any]) -> None:
        self.study, self.record = study, record
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True,
                                        name="lrsearch-setup-claim")

    @classmethod
    def write(cls, study: optuna.Study) -> SetupClaim:
        """Write a new claim of this process (no check: the caller created the study)."""
        record = {"owner": uuid.uuid4().hex, **worker_id(), "state": "running", "beat": 0}
        set_study_record(study, CLAIM_ATTR, record)
        return cls(study, record)

    @property
    def held(self) -> bool:
        """The stored claim is still this one."""
        stored = study_records(self.study).get(CLAIM_ATTR) or {}
        return stored.get("owner") == self.record["owner"]

    def __enter__(self) -> SetupClaim:
        self._thread.start()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._stop.set()
        # A beat stuck in a slow database write must not hold the holder up for ever.
        self._thread.join(timeout=JOIN_S)
        if exc_type is None:
            if self.held:
                set_study_record(self.study, SETUP_DONE_ATTR, True)
                self._set(state="done")
            return
        self.release(exc_type, exc)

    def release(self, exc_type: Any, exc: Any) -> None:
        """Mark the claim ``failed`` with the reason (``exc``), if this process still holds
        it; errors of the storage are swallowed (the original error matters)."""
        reason = "interrupted" if exc_type is KeyboardInterrupt else \
            f"{exc_type.__name__}: {exc}"[:300]
        try:  # the storage itself may be what failed
            if self.held:
                self._set(state="failed", reason=reason)
        except Exception:  # noqa: BLE001 - the original error matters, not this one
            pass

    def _set(self, **changes: Any) -> None:
        self.record = {**self.record, **changes}
        set_study_record(self.study, CLAIM_ATTR, self.record)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                if not self.held:
                    return  # taken over (this process looked dead): leave it to the taker
                self._set(beat=self.record["beat"] + 1)
            except Exception:  # noqa: BLE001 - a busy database: the next beat retries
                pass


def await_setup(study: optuna.Study, say: bool = True) -> SetupClaim | None:
    """Wait until the study is set up (None), or until this process holds the claim to set
    it up itself (the claim, not yet entered).

    Args:
        study: The study.
        say: Print what it waits for, and why it takes over, to stderr.
    """
    seen: Any = None
    since = time.monotonic()
    told = False
    while not is_set_up(study):
        claim = study_records(study).get(CLAIM_ATTR)
        now = time.monotonic()
        if claim != seen:
            seen, since = claim, now
        why = _take_over_because(claim, now - since)
        if why is not None:
            if say and claim is not None:
                print(f"study {study.study_name!r}: {why}; setting it up here",
                      file=sys.stderr, flush=True)
            taken = SetupClaim.write(study)
            try:
                time.sleep(SETTLE_S)  # a taker that wrote at the same time: the last write holds
                held = taken.held
            except BaseException as exc:  # Ctrl-C: no holder would ever beat for this claim
                taken.release(type(exc), exc)
                raise
            if held:
                return taken
            continue
        if say and not told:
            print(f"study {study.study_name!r}: waiting for {_who(claim)}, which is setting it "
                  f"up (LR range test, baselines); taking over if it is gone or shows no "
                  f"sign of life for {STALE_S:.0f} s", file=sys.stderr, flush=True)
            told = True
        time.sleep(POLL_S)
    return None


def _take_over_because(claim: dict[str, Any] | None, unchanged_s: float) -> str | None:
    """Why a waiter should take the set-up over now, or None to wait on."""
    if claim is None:
        return "nobody claimed its set-up"
    if claim.get("state") == "failed":
        return f"{_who(claim)} stopped setting it up ({claim.get('reason')})"
    if claim.get("state") == "done":
        return f"{_who(claim)} finished its set-up without marking it done"
    if process_alive(claim) is False:
        return f"{_who(claim)} is gone (killed?)"
    if unchanged_s > STALE_S:
        return f"{_who(claim)} shows no sign of life for {unchanged_s:.0f} s"
    return None


def _who(claim: dict[str, Any] | None) -> str:
    claim = claim or {}
    return f"process {claim.get('pid')} on {claim.get('host')}"
