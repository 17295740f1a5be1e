"""Several processes on one study, as each process sees it: set-up claims, dead workers,
waiting for the others.

The simple path (open the study, then ask, train and tell) is in :mod:`lrsearch.search`; it
calls in here at a few points. :class:`SetupClaim` and :func:`await_setup` let one process set
a new study up (range tests, baselines) while the others wait or take over from one that
stopped;
:class:`OtherWorkers` fails and retries the trials of dead workers between a worker's trials,
waits for the last trials running elsewhere, and spots a trial failed under this worker;
:func:`worker_id` is what a trial records of the process running it. Starting the processes
is :mod:`lrsearch.launch`'s job, a floor above.

Example:
    >>> from lrsearch.search.parallel import process_alive, worker_id
    >>> process_alive(worker_id())
    True
"""

from lrsearch.search.parallel._identity import process_alive, worker_alive, worker_id
from lrsearch.search.parallel._recovery import OtherWorkers, fail_dead_workers, fail_orphaned_trials
from lrsearch.search.parallel._setup_claim import SETTLE_S, SetupClaim, await_setup, is_set_up

__all__ = [
    "SETTLE_S", "OtherWorkers", "SetupClaim", "await_setup",
    "fail_dead_workers", "fail_orphaned_trials", "is_set_up", "process_alive",
    "worker_alive", "worker_id",
]
