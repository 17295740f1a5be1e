"""A real short study for ``bench/gpu_check.py``: run to the end, then report and export.

``studies/cifar10_resnet18.yaml`` cut to ``--trials`` trials of ``--epochs`` epochs on SQLite in a
temp folder, run with ``lrsearch run`` (a subprocess, as a user runs it), then ``lrsearch
report`` and ``lrsearch export``. Returns the study's figures: trials by state, each trial's
wall seconds and images/s, the best value, and the seconds of each command. ``smoke`` cuts it
further for a CPU: small_cnn, fake data, fp32, one epoch, batch 64.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "studies" / "cifar10_resnet18.yaml"


def cut_study(folder: Path, trials: int, epochs: int, smoke: bool) -> Path:
    """The study file, cut to ``trials`` x ``epochs`` on SQLite in ``folder``; its path."""
    study = yaml.safe_load(STUDY.read_text())
    study.update(name="gpu-check", storage=f"sqlite:///{folder / 'study.db'}", n_trials=trials,
                 checkpoint_dir=str(folder / "checkpoints"))
    study["training"]["epochs"] = epochs
    study["pruner"]["n_startup_trials"] = trials  # the first trials are baselines anyway
    if smoke:
        study.update(model="small_cnn", data={"dataset": "fake", "val_size": 128,
                                              "train_subset": 512})
        study["training"].update(device="cpu", precision="fp32", batch_size=64)
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def _lrsearch(args: list[str], timeout_s: float, log) -> tuple[str, float]:
    """Run ``lrsearch ARGS``; its output and seconds. Raises on a non-zero exit."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lrsearch.cli", *args], capture_output=True,
                          text=True, timeout=timeout_s)
    log(f"$ lrsearch {' '.join(args)}\n{proc.stdout}{proc.stderr}")
    if proc.returncode != 0:
        raise RuntimeError(f"lrsearch {args[0]} exited {proc.returncode}: "
                           f"{(proc.stderr or proc.stdout).strip()[-800:]}")
    return proc.stdout, time.perf_counter() - start


def run_short_study(data_dir: str | None, trials: int, epochs: int, smoke: bool,
                    timeout_s: float, log=print) -> dict:
    """Run, report and export the cut study; its figures."""
    import optuna

    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        path = cut_study(folder, trials, epochs, smoke)
        storage = f"sqlite:///{folder / 'study.db'}"
        deadline = time.monotonic() + timeout_s
        extra = ["--data-dir", data_dir] if data_dir and not smoke else []
        output, run_s = _lrsearch(["run", str(path), *extra], timeout_s, log)
        common = ["--storage", storage, "--study", "gpu-check"]
        _, report_s = _lrsearch(["report", *common, "--out", str(folder / "report.html")],
                                deadline - time.monotonic(), log)
        _, export_s = _lrsearch(["export", *common, "--out", str(folder / "best")],
                                deadline - time.monotonic(), log)
        exported = json.loads((folder / "best" / "best_schedule.json").read_text())
        study = optuna.load_study(study_name="gpu-check", storage=storage)
        rows = [{"number": t.number, "state": t.state.name, "value": t.value,
                 "wall_s": t.user_attrs.get("wall_seconds"),
                 "images_per_second": t.user_attrs.get("images_per_second")}
                for t in study.trials]
        return {"trials": rows, "run_s": run_s, "report_s": report_s, "export_s": export_s,
                "report_bytes": (folder / "report.html").stat().st_size,
                "best_value": study.best_value, "best_family": exported["schedule"].get(
                    "family"), "run_output": output.strip().splitlines()[-1:],
                "epochs": epochs, "smoke": smoke}
