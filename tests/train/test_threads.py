"""CPU threads of a training run: never more than the cores the process may use.

torch starts one thread per core of the machine, whatever the process's CPU affinity (a
container, ``taskset``, a Slurm allocation) allows; on a busy machine those threads wait for
each other. A child process pinned to one core shows the cap for real.
"""

from __future__ import annotations

import os
import subprocess
import sys

import torch

from lrsearch.train._device import cpu_threads

CHILD = """
import os, torch
from lrsearch.config import DataSettings, TrainSettings
from lrsearch.optimizers import OptimizerSettings
from lrsearch.schedules import ScheduleSpec
from lrsearch.train import train
from lrsearch.train._device import cpu_threads

os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
torch.set_num_threads(8)  # as torch's default on an 8-core host would be
seen = []
train(ScheduleSpec("constant", peak_lr=0.01, total_steps=1), OptimizerSettings(),
      TrainSettings(epochs=1, batch_size=64, device="cpu"),
      DataSettings(dataset="fake", val_size=64, train_subset=64),
      on_epoch=lambda epoch: seen.append(torch.get_num_threads()))
with cpu_threads(None) as used:
    print(seen[0], used, torch.get_num_threads())
print(torch.get_num_threads())
"""


def test_a_run_pinned_to_one_core_trains_with_one_thread_and_restores_the_count():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "OMP_NUM_THREADS": "8"})
    assert out.returncode == 0, out.stderr[-2000:]
    during, used, inside, after = out.stdout.split()
    assert (during, used, inside) == ("1", "1", "1")
    assert after == "8"  # the caller's own count, back after the run


def test_threads_asked_for_are_used_up_to_the_usable_cores():
    before = torch.get_num_threads()
    cores = len(os.sched_getaffinity(0))
    with cpu_threads(1) as used:
        assert used == 1 and torch.get_num_threads() == 1
    with cpu_threads(100 * cores) as used:
        assert used == min(100 * cores, cores) == torch.get_num_threads()
    assert torch.get_num_threads() == before
