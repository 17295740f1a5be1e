"""Run the quickstart and the commands the docs quote, and rewrite the docs' numbers from them.

The quickstart's sample output, its counts, cost, winner and time in README.md and docs/*.md,
and docs/img/report.png, all come from one run of this script, so a change of behaviour means
re-running it, never editing numbers by hand. In a fresh temporary folder (so
``sqlite:///quickstart.db`` is new) it runs, as ``make quickstart`` does, with the output
captured (not a terminal: one line per trial) and timed::

    lrsearch run studies/quickstart.yaml --data-dir ../shared/data/cifar10-jpeg-fallback
    lrsearch report ... --out report.html       # then a headless chromium screenshot
    lrsearch export ... --out best/              # and its error for --trial 99
    lrsearch confirm ...                         # 3 seeds, the default

reads the figures from the study itself (lrsearch.records), saves them to
bench/results/docs_numbers.json and rewrites the blocks between ``<!-- generated: NAME -->``
and ``<!-- /generated -->`` (bench/docs_blocks.py renders them from that JSON). Usage::

    .venv/bin/python bench/docs_numbers.py            # run everything, rewrite the docs
    .venv/bin/python bench/docs_numbers.py --check    # only: do the docs match the saved JSON?
    .venv/bin/python bench/docs_numbers.py --render   # only: rewrite the docs from the JSON

``tests/test_docs_numbers.py`` runs the check, so a hand edit of a generated number fails.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docs_blocks import BLOCKS, apply_blocks, out_of_sync, render_blocks
from docs_screenshot import screenshot

REPO = Path(__file__).resolve().parents[1]
FIGURES = REPO / "bench" / "results" / "docs_numbers.json"
SHARED_CIFAR = REPO.parent / "shared" / "data" / "cifar10-jpeg-fallback"
LRSEARCH = REPO / ".venv" / "bin" / "lrsearch"
WHERE = ["--storage", "sqlite:///quickstart.db", "--study", "quickstart"]


def command(args: list[str], folder: Path, data_dir: Path) -> tuple[list[str], int, float]:
    """Run ``lrsearch ARGS`` in ``folder``: its stdout + stderr lines (the data folder and the
    temporary folder shown as ``...``), exit code and seconds."""
    started = time.perf_counter()
    proc = subprocess.run([str(LRSEARCH), *args], cwd=folder, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "100"})
    seconds = time.perf_counter() - started
    text = proc.stdout.replace(str(data_dir), "...").replace(str(folder), "...")
    return text.splitlines(), proc.returncode, seconds


def checked(args: list[str], folder: Path, data_dir: Path) -> tuple[list[str], float]:
    lines, code, seconds = command(args, folder, data_dir)
    if code != 0:
        sys.exit(f"lrsearch {' '.join(args)} exited with {code}:\n" + "\n".join(lines[-20:]))
    print(f"lrsearch {args[0]}: {seconds:.0f} s")
    return lines, seconds


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               "unknown")
    return {"cores": len(os.sched_getaffinity(0)), "cpu": cpu}


def run_all(folder: Path, data_dir: Path) -> dict:
    """Every command in ``folder``, timed; the figures the blocks need."""
    fig = {"date": datetime.date.today().isoformat(), "machine": machine()}
    fig["machine"]["load_before"] = os.getloadavg()[0]
    fig["run_output"], fig["run_seconds"] = checked(
        ["run", str(REPO / "studies" / "quickstart.yaml"), "--data-dir", str(data_dir)],
        folder, data_dir)
    fig["machine"]["load_after"] = os.getloadavg()[0]
    fig["study"] = study_figures(f"sqlite:///{folder / 'quickstart.db'}")
    checked(["report", *WHERE, "--out", "report.html"], folder, data_dir)
    screenshot(folder / "report.html", REPO / "docs" / "img" / "report.png")
    fig["export_output"], _ = checked(["export", *WHERE, "--out", "best/"], folder, data_dir)
    lines, code, _ = command(["export", *WHERE, "--trial", "99"], folder, data_dir)
    if code == 0 or len(lines) != 1:
        sys.exit("lrsearch export --trial 99 was expected to fail in one line:\n"
                 + "\n".join(lines))
    fig["export_missing_trial"] = lines[0]
    output, seconds = checked(["confirm", *WHERE, "--data-dir", str(data_dir)], folder, data_dir)
    fig["confirm"] = confirm_figures(f"sqlite:///{folder / 'quickstart.db'}", output, seconds)
    return fig


def study_figures(url: str) -> dict:
    """Counts, cost, rungs, baselines, priors, polish trials, re-runs and the winner, read from
    the study."""
    import optuna

    from lrsearch import records

    study = optuna.load_study(study_name="quickstart", storage=url)
    trials = study.trials
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    stored = records.study_records(study)
    config = records.stored_config(stored)
    epochs = int(config["training"]["epochs"])
    runs = records.reseed_runs(stored)
    states = [t.state.name for t in trials]
    searched = [t for t in trials if not records.is_baseline(t) and not records.is_polish(t)]
    stopped: dict[str, int] = {}
    for t in searched:
        if t.state.name == "PRUNED":
            rung = str((t.user_attrs.get(records.RUNGS_ATTR) or [{"epochs": 0}])[-1]["epochs"])
            stopped[rung] = stopped.get(rung, 0) + 1
    complete = [t.value for t in trials if t.state.name == "COMPLETE"]
    priors = [t for t in trials if records.is_prior(t)]
    return {
        "n_trials": len(trials), "complete": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"), "failed": states.count("FAIL"), "epochs": epochs,
        "rungs": sorted({int(r["epochs"]) for t in trials
                         for r in t.user_attrs.get(records.RUNGS_ATTR) or []} | {epochs}),
        "baselines": [[t.number, records.trial_baseline(t)] for t in trials
                      if records.is_baseline(t)],
        "priors": [[t.number, t.user_attrs[records.PRIOR_ATTR]] for t in priors],
        "prior_peak_lr": records.trial_schedule(priors[0])["peak_lr"] if priors else None,
        "searched": len(searched),
        "searched_full": sum(1 for t in searched if t.state.name == "COMPLETE"),
        "polish": [[t.number, t.user_attrs[records.POLISH_ATTR]] for t in trials
                   if records.is_polish(t)],
        "stopped_at": stopped,
        "cost_epochs": sum(records.trial_cost_epochs(t) for t in trials),
        "reruns": {str(n): {str(s): v for s, v in seeds.items()} for n, seeds in runs.items()},
        "seeds_per_rerun": int(config["reseed"]["seeds"]),
        "rerun_count": sum(len(seeds) for seeds in runs.values()),
        "rerun_epochs": epochs * sum(len(seeds) for seeds in runs.values()),
        "complete_range": [min(complete), max(complete)],
        "winner": scored(records.rank_complete(trials, stored, maximize)[0], runs),
        "best_baseline": scored(records.rank_complete(
            [t for t in trials if records.is_baseline(t)], stored, maximize)[0], runs),
    }


def scored(trial, runs: dict) -> dict:
    from lrsearch import records

    values = records.trial_seed_values(trial, runs)
    return {"number": trial.number, "family": records.trial_family(trial),
            "name": records.trial_baseline(trial),
            "prior": trial.user_attrs.get(records.PRIOR_ATTR),
            "polish": trial.user_attrs.get(records.POLISH_ATTR),
            "values": values, "mean": sum(values) / len(values)}


def confirm_figures(url: str, output: list[str], seconds: float) -> dict:
    """The confirmation's headline numbers, read from the study; its printed table."""
    import optuna

    from lrsearch.records import CONFIRM_ATTR, study_records
    from lrsearch.report import extract_confirmation

    data = extract_confirmation(study_records(optuna.load_study(
        study_name="quickstart", storage=url))[CONFIRM_ATTR])
    row, margin = data.headline, data.headline.margin
    half = margin.half_width or 0.0
    table = [line for line in output if not (": seed " in line and " test_acc " in line)]
    return {"seconds": seconds, "seeds": data.seeds, "output": table,
            "headline": {"label": row.label, "mean": row.summary.mean, "margin": margin.mean,
                         "low": margin.mean - half, "high": margin.mean + half,
                         "reference": data.reference}}


def write_docs(fig: dict) -> None:
    rendered = render_blocks(fig)
    for path in sorted({path for path, _ in BLOCKS.values()}):
        file = REPO / path
        file.write_text(apply_blocks(file.read_text(), rendered))
    problems = out_of_sync(REPO, fig)
    if problems:
        sys.exit("\n".join(problems))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="only check that the docs hold what the saved figures render")
    mode.add_argument("--render", action="store_true",
                      help="only rewrite the docs from the saved figures")
    parser.add_argument("--data-dir", type=Path, default=SHARED_CIFAR)
    args = parser.parse_args()
    if args.check:
        problems = out_of_sync(REPO, json.loads(FIGURES.read_text()))
        print("\n".join(problems) or f"docs in sync with {FIGURES.relative_to(REPO)}")
        sys.exit(1 if problems else 0)
    if args.render:
        write_docs(json.loads(FIGURES.read_text()))
        return
    folder = Path(tempfile.mkdtemp(prefix="lrsearch-docs-"))
    try:
        fig = run_all(folder, args.data_dir.resolve())
    except BaseException:
        print(f"kept {folder} to look into", file=sys.stderr)
        raise
    shutil.rmtree(folder)
    FIGURES.write_text(json.dumps(fig, indent=1) + "\n")
    write_docs(fig)
    print(f"wrote {FIGURES.relative_to(REPO)}, docs/img/report.png and the docs' blocks")


if __name__ == "__main__":
    main()
