"""One worker of ``lrsearch run --workers K``, started by its parent; not a user command.

``python -m lrsearch.launch._worker_main CONFIG --worker-index I [--debug]`` runs
the study of the resolved config in ``CONFIG``, a JSON file, or ``-`` for stdin, which is how
the parent passes it: the storage URL and its password stay off the command line (``ps``
shows command lines to every user of the machine), and the worker runs exactly the config
the parent checked, with no study file read again and no option rebuilt. It runs quietly and
publishes nothing to the dashboard (its parent does, once per machine), and exits as
``lrsearch run`` does: 0, 130 after Ctrl-C, 143 after SIGTERM (also sent to it when its
parent dies), 1 after one line naming an lrsearch error
(its traceback with ``--debug``, which also lets an exception inside a trial end the run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lrsearch.config import StudyConfig, parse_study
from lrsearch.errors import LrsearchError
from lrsearch.launch._termination import (
    TERMINATED_EXIT_CODE,
    die_with_parent,
    stop_on_sigterm,
)

__all__ = ["main", "read_config"]

_INTERRUPTED = "interrupted: run the same command to resume"


def read_config(source: str) -> StudyConfig:
    """The resolved config in the JSON file ``source`` (``-``: stdin), checked again.

    Raises:
        ConfigError: It is not a valid study config.
    """
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    return parse_study(json.loads(text), source="the resolved config of lrsearch run --workers")


def main(argv: list[str] | None = None) -> int:
    """Run the worker; its exit code."""
    prog = f"python -m {__spec__.name}" if __spec__ else None
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("config", help="the resolved config as JSON: a file, or - for stdin")
    parser.add_argument("--worker-index", type=int, default=0, help="offsets the seeds")
    parser.add_argument("--debug", action="store_true", help="tracebacks, trial errors end it")
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="stop (as on SIGTERM) when this process, the parent, dies")
    args = parser.parse_args(argv)
    from lrsearch.search import run_study  # looked up at each call (tests replace it)

    with stop_on_sigterm() as sigterm:
        if args.parent_pid is not None:
            die_with_parent(args.parent_pid)
        try:
            summary = run_study(read_config(args.config), worker_index=args.worker_index,
                                progress="off", raise_trial_errors=args.debug)
        except KeyboardInterrupt:
            summary = None
        except LrsearchError as exc:
            if args.debug:
                raise
            print(f"error: {exc}", file=sys.stderr, flush=True)
            return 1
    if summary is None or summary.interrupted:
        print(_INTERRUPTED, file=sys.stderr, flush=True)
        return TERMINATED_EXIT_CODE if sigterm.fired else 130
    return 0

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
