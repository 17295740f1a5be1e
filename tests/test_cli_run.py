"""``lrsearch validate`` and ``lrsearch run``: exit codes and messages, no tracebacks."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys

import optuna
import pytest
import yaml
from click.testing import CliRunner
from optuna.trial import TrialState

from lrsearch.cli import main
from lrsearch.config import load_study
from lrsearch.errors import StudyError
from lrsearch.records import study_records
from lrsearch.search import RunSummary, SearchSpace, grid_size
from tests.search._processes import act_mid_trial, hears_ctrl_c, running_with_an_epoch
from tests.search.conftest import write_study


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_validate_ok_and_every_problem_listed(tmp_path):
    good = write_study(tmp_path)
    result = invoke("validate", good)
    assert result.exit_code == 0 and "ok" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "b", "model": "resnet99", "colour": "red",
                                   "search_space": {"families": {"cosine": {
                                       "final_ratio": {"low": 0.5, "high": 0.1}}}}}))
    result = invoke("validate", bad)
    assert result.exit_code == 1
    assert "3 problems" in result.output
    assert "search_space.families.cosine.final_ratio.high: got 0.1" in result.output
    assert "Traceback" not in result.output


def test_validate_shows_the_grid_and_refuses_one_too_large(tmp_path):
    path = write_study(tmp_path, sampler={"name": "grid", "points_per_param": 2}, baselines=[],
                       search_space={"families": ["cosine", "linear"], "warmup_frac": 0.0})
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    assert "a grid of 8 trials (2 values per searched number)" in result.output
    path = write_study(tmp_path, sampler={"name": "grid", "points_per_param": 6})
    size = grid_size(SearchSpace.from_config(load_study(path)))
    result = invoke("validate", path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert (f"sampler.points_per_param: got 6; the grid would be {size:,} trials (at most "
            f"10,000)") in result.output


@pytest.mark.parametrize("path", ["studies/quickstart.yaml", "studies/cifar10_resnet18.yaml"])
def test_shipped_studies_are_valid(path):
    assert invoke("validate", path).exit_code == 0


def test_missing_study_file():
    result = invoke("validate", "no/such/study.yaml")
    assert result.exit_code == 1 and "cannot read" in result.output


def test_workers_on_sqlite_are_refused(tmp_path):
    result = invoke("run", write_study(tmp_path), "--workers", 2)
    assert result.exit_code == 1
    assert "postgresql://" in result.output and "mysql+pymysql://" in result.output


def test_trials_per_gpu_on_sqlite_are_refused_and_not_with_workers(tmp_path):
    study = write_study(tmp_path)
    result = invoke("run", study, "--trials-per-gpu", 2, "--device", "cpu")
    assert result.exit_code == 1  # on a CPU: K workers in all
    assert "--trials-per-gpu 2 (2 workers) needs a server database" in result.output
    result = invoke("run", study, "--trials-per-gpu", 2, "--workers", 3)
    assert result.exit_code == 2 and "give one of them" in result.output


def test_unreachable_storage_is_one_clear_message(tmp_path):
    url = "postgresql://nobody@127.0.0.1:1/nothing"
    result = invoke("run", write_study(tmp_path), "--storage", url)
    assert result.exit_code == 1
    assert "cannot open postgresql://nobody@127.0.0.1:1/nothing" in result.output
    assert "Traceback" not in result.output


def test_debug_shows_the_exception(tmp_path):
    url = "postgresql://nobody@127.0.0.1:1/nothing"
    result = invoke("--debug", "run", write_study(tmp_path), "--storage", url)
    assert isinstance(result.exception, StudyError)


def test_missing_data_is_one_clear_message(tmp_path):
    path = write_study(tmp_path, data={"dataset": "cifar10", "download": False,
                                       "data_dir": str(tmp_path / "empty")})
    (tmp_path / "empty").mkdir()
    result = invoke("run", path, "--quiet")
    assert result.exit_code == 1
    assert result.output.startswith("error:") and "Traceback" not in result.output
    assert not (tmp_path / "studies.db").exists()  # nothing half-made, not even an empty file


def test_bad_override_is_a_config_error(tmp_path):
    result = invoke("run", write_study(tmp_path), "--n-trials", 0)
    assert result.exit_code == 2  # click rejects it before lrsearch sees it


@pytest.mark.slow
def test_ctrl_c_marks_the_trial_and_the_next_run_continues_it(tmp_path):
    # 40 short epochs: trial 0 runs with an epoch stored for seconds, so a poller slowed by a
    # loaded machine still sees it running (6 epochs left a window of a few tenths of a second).
    path = write_study(tmp_path, n_trials=2, baselines=[], pruner={"name": "none"},
                       training={"epochs": 40, "batch_size": 32, "device": "cpu", "seed": 0})
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    proc = subprocess.Popen([sys.executable, "-m", "lrsearch.cli", "run", str(path), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=hears_ctrl_c)
    # Ctrl-C in trial 0's training: SIGINT reaches the stopped process when it continues.
    act_mid_trial(storage, proc, lambda trial, pid: os.kill(pid, signal.SIGINT),
                  when=lambda trial: trial.number == 0 and running_with_an_epoch(trial))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: run the same command to resume" in err and "Traceback" not in err
    assert "Warning" not in err, err
    trials = optuna.load_study(study_name="tiny", storage=storage).get_trials()
    assert trials[0].state == TrialState.FAIL
    assert trials[0].user_attrs["fail_reason"] == "interrupted"
    assert trials[1].state == TrialState.WAITING and trials[1].params == trials[0].params

    result = invoke("run", path)  # progress lines: one per trial
    assert result.exit_code == 0, result.output
    trials = optuna.load_study(study_name="tiny", storage=storage).get_trials()
    assert trials[1].state == TrialState.COMPLETE and trials[1].user_attrs["retry_of"] == 0
    assert "fail_reason" not in trials[1].user_attrs  # the retry did not inherit it
    assert "trial 1 complete" in result.output and "interrupted" not in result.output
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 2


def test_one_dashboard_refresher_per_machine(tmp_path, monkeypatch):
    """The parent of --workers K keeps the dashboard's figures current; the workers it starts
    (lrsearch.launch._worker_main) do not each publish them too."""
    import lrsearch.launch as launch
    import lrsearch.search as search
    from lrsearch.launch import _worker_main
    from lrsearch.report import DashboardRefresher

    path = write_study(tmp_path)
    seen = {}

    def fake_run(name):
        def call(config, *args, callbacks=(), **kwargs):
            seen[name] = list(callbacks)
            summary = RunSummary("tiny", config.storage, 0, 0, 0, None, None, None)
            return (summary, 0) if name == "workers" else summary
        return call

    monkeypatch.setattr(launch, "run_workers", fake_run("workers"))
    monkeypatch.setattr(search, "run_study", fake_run("study"))
    result = invoke("run", path, "--workers", 2, "--storage", "postgresql://u@db/x", "--quiet")
    assert result.exit_code == 0, result.output
    assert [type(c) for c in seen["workers"]] == [DashboardRefresher]
    resolved = json.dumps(load_study(path).model_dump(mode="json"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(resolved))
    assert _worker_main.main(["-", "--worker-index", "1"]) == 0
    assert seen["study"] == []
    result = invoke("run", path, "--worker-index", 1, "--quiet")  # a machine of its own
    assert result.exit_code == 0, result.output
    assert [type(c) for c in seen["study"]] == [DashboardRefresher]
    assert "--no-dashboard-refresh" not in invoke("run", "--help").output  # no such flag


def test_families_lists_each_parameters_rule_default_and_search_range():
    result = invoke("families")
    assert result.exit_code == 0, result.output
    assert ("cycles: whole cycles in the family: it ends at the last one's low point; must be "
            "an integer in [1, 100]; default 4; searched in [1, 6]") in result.output
    assert "gamma: factor applied to the LR at each decay step" in result.output
    assert "searched in [0.05, 0.7], log scale" in result.output
    assert "mode: amplitude policy" in result.output and "searched among [triangular" in \
        result.output
    # Values as a study file writes them (YAML), not Python's reprs.
    assert "default false; searched among [false, true]" in result.output
    assert "default [0.5, 0.75]" in result.output and "(0.5, 0.75)" not in result.output
    assert "'" not in "".join(line.split(";", 1)[1] for line in result.output.splitlines()
                              if line.startswith("    "))
    # The families a study searches when its file names none are marked, and listed.
    assert "wsd: " in result.output and "[searched by default]" in result.output
    marked = [line.split(":")[0] for line in result.output.splitlines()
              if line.endswith("[searched by default]")]
    assert sorted(marked) == ["cosine", "linear", "multistep", "onecycle", "wsd"]
    assert "search_space.families is [cosine, linear, multistep, onecycle, wsd]" in \
        result.output


@pytest.mark.slow
def test_a_finished_run_says_what_to_run_next(tmp_path):
    path = write_study(tmp_path, n_trials=1, baselines=[], pruner={"name": "none"},
                       training={"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0})
    result = invoke("run", path)
    assert result.exit_code == 0, result.output
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    assert f"next: lrsearch report --storage {storage} --study tiny --out report.html" in \
        result.output
    assert f"lrsearch dashboard --storage {storage}" in result.output


def test_device_takes_what_a_study_file_takes(tmp_path):
    path = write_study(tmp_path, n_trials=1, baselines=[], pruner={"name": "none"})
    result = invoke("run", path, "--device", "gpu")
    assert result.exit_code == 2
    assert "got 'gpu'; one of auto, cpu, cuda or cuda:N" in result.output
    import torch

    if torch.cuda.is_available():
        return  # cuda:N is then a device that can run; the parse is what is tested below
    result = invoke("run", path, "--device", "cuda:1")  # parsed as in a file, then refused here
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "training.device: got 'cuda:1'; torch sees no CUDA device here" in result.output


def test_a_relative_data_dir_is_stored_absolute_and_threads_are_the_runs(tmp_path,
                                                                          monkeypatch):
    """``--data-dir`` relative to where the command runs is what every later reader (a
    worker, confirm, a Slurm task in another folder) must find: it is stored absolute.
    ``--threads`` goes into the run's training settings."""
    path = write_study(tmp_path, n_trials=1, baselines=[], pruner={"name": "none"},
                       training={"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0})
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = invoke("run", path, "--data-dir", "../data", "--threads", "1")
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'studies.db'}")
    stored = study_records(study)["config"]
    assert stored["data"]["data_dir"] == str(tmp_path / "data")
    assert stored["training"]["threads"] == 1


def test_counts_of_one_are_singular(tmp_path):
    path = write_study(tmp_path, n_trials=1, baselines=["cosine"])
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    assert "1 trial of" in result.output and "1 baseline" in result.output
    assert "(s)" not in result.output and "1 trials" not in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "b", "colour": "red"}))
    result = invoke("validate", bad)
    assert "(1 problem):" in result.output, result.output


@pytest.mark.parametrize("command, option", [("dashboard", "--port"), ("run", "--threads"),
                                             ("run", "--device"), ("validate", None)])
def test_every_option_has_help_and_no_rst_markup(command, option):
    text = invoke(command, "--help").output
    assert "``" not in text, text
    if option is not None:
        line = next(line for line in text.splitlines() if line.strip().startswith(option))
        # the option, its metavar, then its help (which starts with a capital), not [default]
        assert re.search(rf"{option} \S+( [A-Z]+)?\s{{2,}}[A-Z]", line), line
