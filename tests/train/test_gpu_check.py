"""bench/gpu_check.py, the prepared GPU run, dry-run on the CPU: every section, every figure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_the_gpu_check_runs_every_section_on_the_cpu(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_check.py"), "--cpu-smoke",
                           "--out", str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    figures = json.loads((tmp_path / "gpu_check.json").read_text())
    sections = figures["sections"]
    assert {name: s["status"] for name, s in sections.items()} == {
        "cuda_paths": "ok", "throughput": "ok", "study": "ok", "trials_per_gpu": "ok",
        "throughput_compiled": "skipped"}
    paths = sections["cuda_paths"]["figures"]
    determinism = paths["determinism"]
    assert determinism["deterministic_repeat_equal"] and determinism["deterministic_resume_equal"]
    assert determinism["default_repeat_equal"]  # a CPU run is deterministic either way
    assert paths["train_probe_checkpoint_resume"]["resumed_on_cpu"]
    trials = sections["throughput"]["figures"]["trials"]
    assert [t["checkpoint_every_s"] for t in trials] == [60.0, 60.0, 0.0]
    assert all(0 < t["train_over_trial"] <= 1 for t in trials)
    study = sections["study"]["figures"]
    assert sum(t["state"] == "COMPLETE" for t in study["trials"]) == 4
    assert study["report_bytes"] > 0 and study["best_family"]
    rows = sections["trials_per_gpu"]["figures"]["rows"]
    assert [(r["model"], r["workers"]) for r in rows] == [("small_cnn", 1), ("small_cnn", 2)]
    assert all(r["trials_per_hour"] > 0 for r in rows)
    assert "lrsearch run" in (tmp_path / "gpu_check.log").read_text()
