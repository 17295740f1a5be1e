"""One prepared GPU check: every CUDA-only path once, the benchmarks, a real short study.

For a session with a lent GPU machine. Its sections, in this order, each in its own try/except
(a failure is recorded with its traceback and the next section runs), under a time guard (a
section that cannot start within ``--budget-s`` is skipped, saying so; each benchmark gets the
time left as its timeout). Every figure goes into ``OUT/gpu_check.json``, rewritten after each
section, and each command's output into ``OUT/gpu_check.log``:

1. ``cuda_paths``: a real run (resnet20, bf16, channels_last) with a cooldown probe and a
   checkpoint written in the background from pinned host memory, resumed on the CPU (the
   cross-device path); a run stopped after epoch 1 and resumed on the GPU, and two
   ``training.deterministic`` runs, compared bit for bit, with the cost of deterministic
   kernels in images/s; an LR range test.
2. ``throughput``: ``bench/throughput.py`` for resnet18, batch 512, bf16, channels_last,
   GPU-resident data: lrsearch's loop against the plain and the DataLoader loops, and a whole
   trial against its training alone (goals: >= 40,000 images/s, >= 0.95x, >= 3x, >= 0.9x).
3. ``study``: ``studies/cifar10_resnet18.yaml`` cut to 4 trials x 3 epochs on SQLite, run to the
   end with ``lrsearch run``, then ``lrsearch report`` and ``lrsearch export``.
4. ``trials_per_gpu``: ``bench/trials_per_gpu.py`` for small_cnn and resnet20, 1 against 4
   trials at once (goal: >= 3x trials/hour).
5. ``throughput_compiled``: section 2 under ``torch.compile`` (no DataLoader loop; its whole
   trial also runs ``train`` compiled on the GPU).

On the lent machine (its image has torch but not optuna, pydantic, SQLAlchemy or plotly: run
``bash bench/gpu_wheels.sh`` here first and carry ``.whl``), about 5-6 minutes::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \\
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 &&
    python3 bench/gpu_check.py --data-dir ../shared/data/cifar10-jpeg-fallback --out $OUT

``--cpu-smoke`` runs every section on the CPU with fake data and small models (compilation
left out), in a few minutes: the script's own test, and proof of every non-CUDA path.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BENCH = Path(__file__).resolve().parent
# Seconds a section needs at least to be worth starting, on the GPU (the smoke run: a third).
MIN_SECONDS = {"cuda_paths": 20, "throughput": 60, "study": 60, "trials_per_gpu": 45,
               "throughput_compiled": 60}


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder holding cifar-10-batches-py (else fake data)")
    parser.add_argument("--out", default=os.environ.get("OUT", "."),
                        help="folder for gpu_check.json and gpu_check.log (default: $OUT)")
    parser.add_argument("--budget-s", type=float, default=330.0,
                        help="start no section after this many seconds (default 330)")
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="every section on the CPU, fake data, small models")
    parser.add_argument("--skip", nargs="*", default=[], choices=list(MIN_SECONDS),
                        help="sections to leave out")
    return parser.parse_args(argv)


class Check:
    """The sections' figures and log, written to disk after each section."""

    def __init__(self, args) -> None:
        import torch

        self.args, self.start = args, time.monotonic()
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.device = "cpu" if args.cpu_smoke else "cuda"
        self.figures = {"device": torch.cuda.get_device_name() if self.device == "cuda"
                        else "cpu", "torch": torch.__version__, "cpu_cores": os.cpu_count(),
                        "cpu_smoke": args.cpu_smoke, "data_dir": args.data_dir,
                        "budget_s": args.budget_s, "sections": {}}
        (self.out / "gpu_check.log").write_text("")

    def left_s(self) -> float:
        return self.args.budget_s - (time.monotonic() - self.start)

    def log(self, text: str) -> None:
        with open(self.out / "gpu_check.log", "a") as handle:
            handle.write(text.rstrip() + "\n")

    def section(self, name: str, run) -> None:
        """Run one section, unless skipped or out of time; record what came of it."""
        need = MIN_SECONDS[name] / (3 if self.args.cpu_smoke else 1)
        if name in self.args.skip:
            record = {"status": "skipped", "why": "--skip"}
        elif self.left_s() < need:
            record = {"status": "skipped", "why": f"{self.left_s():.0f} s left of the budget, "
                                                  f"{need:.0f} s needed"}
        else:
            began = time.monotonic()
            try:
                record = {"status": "ok", "figures": run()}
            except Exception:  # record it and go on: the other sections' figures still count
                record = {"status": "failed", "error": traceback.format_exc()[-3000:]}
            record["seconds"] = round(time.monotonic() - began, 1)
        self.figures["sections"][name] = record
        print(f"{name}: {record['status']} {record.get('why', '')}"
              f"{record.get('error', '')}", flush=True)
        self.figures["elapsed_s"] = round(time.monotonic() - self.start, 1)
        (self.out / "gpu_check.json").write_text(json.dumps(self.figures, indent=1))

    def bench(self, script: str, args: list[str]) -> dict:
        """Run ``bench/SCRIPT`` with ``--json``; its figures (its output goes to the log)."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "figures.json"
            command = [sys.executable, str(BENCH / script), *args, "--json", str(path)]
            proc = subprocess.run(command, capture_output=True, text=True,
                                  timeout=max(10.0, self.left_s()))
            self.log(f"$ {script} {' '.join(args)}\n{proc.stdout}{proc.stderr}")
            print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "", flush=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{script} exited {proc.returncode}: {proc.stderr[-1500:]}")
            return json.loads(path.read_text())


def throughput_args(check: Check, compiled: bool) -> list[str]:
    data = ["--data-dir", check.args.data_dir] if check.args.data_dir else []
    if check.args.cpu_smoke:
        return ["--device", "cpu", "--model", "small_cnn", "--batch-size", "32", "--steps", "4",
                "--rounds", "1", "--trial-epochs", "1", "--no-dataloader"]
    common = ["--device", "cuda", "--model", "resnet18", "--batch-size", "512", "--steps",
              "100", "--precision", "bf16", *data]
    if compiled:
        return [*common, "--compile", "--rounds", "2", "--trial-epochs", "1", "--no-dataloader"]
    return [*common, "--rounds", "3", "--trial-epochs", "3", "--dataloader"]


def trials_args(check: Check) -> list[str]:
    if check.args.cpu_smoke:
        return ["--device", "cpu", "--tiny", "--models", "small_cnn", "--k", "2", "--trials", "1"]
    data = ["--data-dir", check.args.data_dir] if check.args.data_dir else []
    return ["--device", "cuda", "--models", "small_cnn", "resnet20", "--k", "4", "--trials",
            "2", "--epochs", "2", "--train-images", "10000", "--val-images", "1000", *data]


def main(argv: list[str] | None = None) -> int:
    """Run the sections; 0 when none failed."""
    import torch

    from bench.gpu_paths import cuda_paths
    from bench.gpu_study import run_short_study

    args = _parse(argv)
    if not args.cpu_smoke and not torch.cuda.is_available():
        print("no CUDA device: this script checks the GPU path (--cpu-smoke for a dry run)")
        return 1
    check = Check(args)
    print(f"{check.figures['device']}, torch {torch.__version__}, {os.cpu_count()} CPU cores, "
          f"budget {args.budget_s:.0f} s, figures in {check.out / 'gpu_check.json'}", flush=True)
    epochs = 1 if args.cpu_smoke else 3
    check.section("cuda_paths", lambda: cuda_paths(check.device, args.cpu_smoke))
    check.section("throughput", lambda: check.bench("throughput.py", throughput_args(check,
                                                                                       False)))
    check.section("study", lambda: run_short_study(args.data_dir, 4, epochs, args.cpu_smoke,
                                                   max(10.0, check.left_s()), check.log))
    check.section("trials_per_gpu", lambda: check.bench("trials_per_gpu.py", trials_args(check)))
    if args.cpu_smoke:  # compiling on a CPU takes minutes and is tested in tests/train
        args.skip.append("throughput_compiled")
    check.section("throughput_compiled",
                  lambda: check.bench("throughput.py", throughput_args(check, True)))
    failed = [n for n, r in check.figures["sections"].items() if r["status"] == "failed"]
    print(f"done in {check.figures['elapsed_s']:.0f} s; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
