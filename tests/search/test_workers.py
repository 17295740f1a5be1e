"""How ``--workers K`` starts its workers: command line, config and environment (GPUs, CPU
threads).

The GPU cases run anywhere: the GPU count is given, as ``torch.cuda.device_count()`` would
report it under the user's ``CUDA_VISIBLE_DEVICES``.
"""

from __future__ import annotations

import os
import sys

from lrsearch.config import parse_study
from lrsearch.launch._workers import _command, _env, worker_config, workers_per_gpu


def test_each_worker_gets_the_next_of_the_users_gpus():
    user = {"CUDA_VISIBLE_DEVICES": "2,3", "PATH": "/bin"}
    assert [_env(i, 2, None, user)["CUDA_VISIBLE_DEVICES"] for i in range(3)] == ["2", "3", "2"]
    assert _env(0, 2, None, user)["PATH"] == "/bin" and user["CUDA_VISIBLE_DEVICES"] == "2,3"
    uuids = {"CUDA_VISIBLE_DEVICES": "GPU-aaaa, GPU-bbbb"}
    assert [_env(i, 2, None, uuids)["CUDA_VISIBLE_DEVICES"] for i in range(2)] == ["GPU-aaaa",
                                                                               "GPU-bbbb"]
    # Not set: the GPUs by index.
    assert [_env(i, 4, None, {})["CUDA_VISIBLE_DEVICES"] for i in range(5)] == ["0", "1", "2",
                                                                              "3", "0"]


def test_one_gpu_or_none_is_left_as_the_user_set_it():
    assert _env(1, 1, None, {"CUDA_VISIBLE_DEVICES": "3"})["CUDA_VISIBLE_DEVICES"] == "3"
    assert "CUDA_VISIBLE_DEVICES" not in _env(1, 1, None, {})
    cpu = _env(0, 0, 2, {})
    assert "CUDA_VISIBLE_DEVICES" not in cpu and cpu["OMP_NUM_THREADS"] == "2"
    assert _env(0, 0, 2, {"OMP_NUM_THREADS": "3"})["OMP_NUM_THREADS"] == "3"


def test_cpu_workers_share_the_usable_cores_never_more():
    """Two CPU workers on this process's cores each get half; ``threads`` asked for is capped
    at the cores this process may use (its affinity, not the machine's count)."""
    cores = len(os.sched_getaffinity(0))
    config = parse_study({"name": "s", "training": {"device": "cpu"}})
    assert worker_config(config, gpus=0, workers=2)["training"]["threads"] == max(1, cores // 2)
    many = parse_study({"name": "s", "training": {"device": "cpu", "threads": 10 * cores}})
    assert worker_config(many, gpus=0, workers=1)["training"]["threads"] == cores
    assert worker_config(many, gpus=2, workers=2)["training"]["threads"] == 10 * cores


def test_a_worker_that_sees_one_gpu_trains_on_cuda_not_cuda_n():
    config = parse_study({"name": "s", "storage": "postgresql://u:secret@db/x",
                          "training": {"device": "cuda:1"}})
    pinned = worker_config(config, gpus=2)
    assert pinned["training"]["device"] == "cuda" and config.training.device == "cuda:1"
    # The worker runs the resolved config itself, the storage password included ...
    assert parse_study(pinned) == config.model_copy(update={
        "training": config.training.model_copy(update={"device": "cuda"})})
    # ... which it reads on stdin: no password on a command line. It stops with its parent.
    assert _command(1, debug=False) == [
        sys.executable, "-m", "lrsearch.launch._worker_main", "-",
        "--worker-index", "1", "--parent-pid", str(os.getpid())]
    assert _command(0, debug=True)[-1] == "--debug"
    # One GPU for all (no pinning), or a device that is not an indexed GPU: as configured.
    assert worker_config(config, gpus=1) == config.model_dump(mode="json")
    auto = parse_study({"name": "s"})
    assert worker_config(auto, gpus=2) == auto.model_dump(mode="json")


def test_trials_per_gpu_puts_k_workers_on_each_gpu():
    workers = workers_per_gpu(3, gpus=2)
    devices = [_env(i, 2, None, {})["CUDA_VISIBLE_DEVICES"] for i in range(workers)]
    assert sorted(devices) == ["0", "0", "0", "1", "1", "1"]
    assert workers_per_gpu(2, gpus=1) == 2 and workers_per_gpu(2, gpus=0) == 2
