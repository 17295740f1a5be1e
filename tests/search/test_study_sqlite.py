"""Real studies on a SQLite file: tiny fake data, real training on the CPU."""

from __future__ import annotations

import platform
import subprocess
import sys
import time

import optuna
import pytest
from click.testing import CliRunner
from optuna.trial import TrialState

from lrsearch.cli import main
from lrsearch.config import load_study
from lrsearch.errors import TrainingError
from lrsearch.records import study_records, trial_epochs, trial_lr_curve, with_curves
from lrsearch.schedules import ScheduleSpec
from lrsearch.search import retry_trial, run_study, space_changes, worker_id
from tests.search._processes import act_mid_trial, kill
from tests.search.conftest import TINY_STUDY

if not hasattr(pytest.importorskip("lrsearch.train"), "train"):
    pytest.skip("lrsearch.train.train is not there yet", allow_module_level=True)
pytestmark = pytest.mark.slow


def run(*args, debug=False):
    return CliRunner().invoke(main, ["--debug"] * debug + ["run", *map(str, args), "--quiet"])


def _storage(path):
    return f"sqlite:///{path.parent / 'studies.db'}"


def load(path, name="tiny"):
    return optuna.load_study(study_name=name, storage=_storage(path))


def test_end_to_end_then_resume_continues_the_count(tiny_study):
    path = tiny_study()
    result = run(path)
    assert result.exit_code == 0, result.output
    study = load(path)
    trials = with_curves(study, study.get_trials())
    states = [t.state for t in trials]
    assert len(trials) == 6 and set(states) <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert TrialState.COMPLETE in states and TrialState.PRUNED in states
    assert [t.user_attrs.get("baseline") for t in trials[:2]] == ["cosine", "step"]
    for trial in trials:
        spec = ScheduleSpec.from_dict(trial.user_attrs["schedule"])
        assert spec.family == trial.params["family"]
        assert spec.total_steps == 3 * (256 // 64)  # laid onto the real length
        assert trial.user_attrs["optimizer"]["name"] == "sgd"
        assert trial_epochs(trial)[0]["epoch"] == 1
        assert trial.intermediate_values
    for trial in trials:
        assert trial.user_attrs["worker"]["pid"] > 0  # who ran it (recovery of dead workers)
        if trial.state == TrialState.PRUNED:  # the reason and the part of the curve it ran
            assert trial.user_attrs["prune_reason"].startswith("pruned after epoch")
            assert trial_lr_curve(trial)[0][0] == 0
            assert "fail_reason" not in trial.user_attrs
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    for trial in complete:
        assert len(trial_epochs(trial)) == 3
        assert all(isinstance(s, int) and isinstance(lr, float)
                   for s, lr in trial_lr_curve(trial))
        assert trial.value == trial_epochs(trial)[-1]["val_acc"]
    attrs = study_records(study)
    assert {"config", "search_space_fingerprint", "lrsearch_version", "torch_version",
            "optuna_version", "git_sha", "device_name"} <= set(attrs)
    assert attrs["config"]["name"] == "tiny"
    assert list((path.parent / "ckpt").glob("tiny-*"))  # the study's own folder ...
    assert not list((path.parent / "ckpt").glob("tiny-*/*.pt"))  # ... emptied: finished

    result = run(path, "--n-trials", 8)
    assert result.exit_code == 0, result.output
    trials = load(path).get_trials()
    assert [t.number for t in trials] == list(range(8))
    assert sum("baseline" in t.user_attrs for t in trials) == 2  # queued once, at creation


def test_changed_search_space_is_refused(tiny_study):
    path = tiny_study(n_trials=1, baselines=[])
    assert run(path).exit_code == 0
    path = tiny_study(n_trials=2, baselines=[],
                      search_space={"families": ["cosine", "onecycle"]})
    result = run(path)
    assert result.exit_code == 1
    assert "changed" in result.output and "tiny-2" in result.output
    assert "search_space.families.onecycle (added)" in result.output  # says what changed
    assert "Traceback" not in result.output
    assert len(load(path).trials) == 1  # nothing stored was touched
    # What changed, for the message (lrsearch.search._study names it from these):
    assert space_changes(study_records(load(path)), load_study(path)) == [
        "search_space.families.linear (removed)", "search_space.families.multistep (removed)",
        "search_space.families.onecycle (added)", "search_space.families.wsd (removed)",
        "search_space.optimizers.sgd.peak_lr.high (0.3 -> 1.0)",  # back to the defaults
        "search_space.optimizers.sgd.peak_lr.low (0.01 -> 0.001)"]


def test_diverged_trials_are_pruned_with_the_reason(tiny_study):
    path = tiny_study(n_trials=1, baselines=[], search_space={
        "families": ["constant"], "peak_lr": 1.0e4, "warmup_frac": 0.0})
    result = run(path)
    assert result.exit_code == 0, result.output
    study = load(path)
    (trial,) = with_curves(study, study.get_trials())
    assert trial.state == TrialState.PRUNED
    assert trial.user_attrs["fail_reason"].startswith("diverged")
    # In its first epoch, before any checkpoint: the curve comes with the divergence.
    assert "(epoch 1, step" in trial.user_attrs["fail_reason"]
    assert trial_lr_curve(trial) == [[0, 1.0e4]]


def test_several_families_are_judged_by_probe_values_at_the_points(tiny_study):
    path = tiny_study()  # 4 families, 3 epochs: points 1/3, 2/3 -> epochs 1 and 2
    assert run(path).exit_code == 0
    study = load(path)
    assert study_records(study)["config"]["pruner"]["judge"] == "probe"
    trials = with_curves(study, study.get_trials())
    assert {TrialState.COMPLETE, TrialState.PRUNED} <= {t.state for t in trials}
    for trial in trials:
        rows = {row["epoch"]: row for row in trial_epochs(trial)}
        assert set(trial.intermediate_values) == {1, 2} & set(rows)
        for epoch, value in trial.intermediate_values.items():
            assert value == rows[epoch]["probe_val_acc"]  # what the pruner judged
            assert rows[epoch]["probe_steps"] == max(1, round(0.1 * rows[epoch]["step"]))
            assert isinstance(rows[epoch]["val_acc"], float)  # the raw value is kept too
        if trial.state == TrialState.PRUNED:
            assert max(rows) in (1, 2)
        else:
            assert rows[3]["probe_val_acc"] is None  # nothing to probe at the end
            assert trial.value == rows[3]["val_acc"]  # the final value stays raw

    raw = tiny_study(n_trials=7, pruner={**TINY_STUDY["pruner"], "judge": "raw"})
    result = run(raw)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "pruner.judge: got 'raw'" in result.output and "probe values" in result.output
    assert len(load(raw).trials) == 6  # nothing stored was touched


def test_one_family_is_judged_by_raw_values_without_probes(tiny_study):
    path = tiny_study(n_trials=2, baselines=[], search_space={"families": ["cosine"]})
    assert run(path).exit_code == 0
    study = load(path)
    assert study_records(study)["config"]["pruner"]["judge"] == "raw"
    for trial in with_curves(study, study.get_trials()):
        rows = trial_epochs(trial)
        assert trial.intermediate_values == {r["epoch"]: r["val_acc"] for r in rows}
        assert all(r["probe_val_acc"] is None for r in rows)


def test_grid_with_a_dict_and_a_preset_baseline(tiny_study):
    # 2 families x 2 final ratios x 2 peak LRs = 8 grid points; n_trials 20 is more than the
    # grid and its 2 baselines: the study ends when the grid is walked.
    path = tiny_study(n_trials=20, sampler={"name": "grid", "points_per_param": 2, "seed": 0},
                      pruner={"name": "none"},
                      training={"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0},
                      search_space={"families": ["cosine", "linear"], "warmup_frac": 0.0,
                                    "peak_lr": {"low": 0.01, "high": 0.3, "log": True}},
                      baselines=[{"name": "cos", "family": "cosine",  # no peak_lr, warmup
                                  "params": {"final_ratio": 0.05}}, "onecycle"])
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert "a grid of 8 trials (2 values per searched number)" in result.output
    result = run(path)
    assert result.exit_code == 0, result.output
    trials = load(path).get_trials()
    assert {t.state for t in trials} == {TrialState.COMPLETE}
    assert len(trials) == 10
    assert [t.user_attrs.get("baseline") for t in trials[:2]] == ["cos", "onecycle"]
    cos = trials[0]
    assert cos.user_attrs["schedule"]["params"]["final_ratio"] == 0.05  # not a grid value
    assert cos.params["sgd.peak_lr"] in (0.01, 0.3)  # left out: drawn from the grid
    assert trials[1].params == {} and trials[1].user_attrs["schedule"]["family"] == "onecycle"
    points = {tuple(sorted(t.params.items())) for t in trials[2:]}
    assert len(points) == 8  # every grid point once


def _checkpoints(path):
    """The checkpoint folder of the study of ``path``, created (empty) to know its id."""
    from lrsearch.search import open_study, study_folder

    config = load_study(path)
    return study_folder(config.checkpoint_dir, open_study(config, progress="off").study)


def test_an_exception_in_a_trial_fails_that_trial_only(tiny_study, tmp_path):
    path = tiny_study(n_trials=3, baselines=[], pruner={"name": "none"},
                      training={"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0})
    bad = _checkpoints(path) / "trial-1.pt"  # trial 1 finds a foreign checkpoint
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a checkpoint")
    result = run(path)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    trials = load(path).get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL,
                                         TrialState.COMPLETE, TrialState.COMPLETE]
    assert trials[1].user_attrs["fail_reason"].startswith("TrainingError: checkpoint ")
    assert "unreadable" in trials[1].user_attrs["fail_reason"]

    # --debug: the same exception ends the run and shows itself.
    bad = _checkpoints(path) / "trial-4.pt"
    bad.write_bytes(b"not a checkpoint")
    result = run(path, "--n-trials", 4, debug=True)
    assert isinstance(result.exception, TrainingError)


def test_trials_failing_in_a_row_end_the_run_with_the_reason(tiny_study, tmp_path):
    path = tiny_study(n_trials=5, baselines=[], pruner={"name": "none"},
                      training={"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0})
    folder = _checkpoints(path)
    for number in range(3):
        bad = folder / f"trial-{number}.pt"
        bad.parent.mkdir(parents=True, exist_ok=True)
        bad.write_bytes(b"not a checkpoint")
    result = run(path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "3 trials in a row failed, the last (trial 2) with: TrainingError" in result.output
    assert [t.state for t in load(path).get_trials()] == [TrialState.FAIL] * 3


def test_callbacks_see_every_finished_trial(tiny_config):
    config = tiny_config(n_trials=3, baselines=["cosine"], pruner={"name": "none"},
                         training={"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0})
    seen = []
    run_study(config, progress="off",
              callbacks=[lambda study, trial: seen.append((study.study_name, trial.number,
                                                           trial.state))])
    assert seen == [("tiny", n, TrialState.COMPLETE) for n in range(3)]


def _start(path, *extra):
    return subprocess.Popen([sys.executable, "-m", "lrsearch.cli", "run", str(path), "--quiet",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_killed_run_is_continued_at_once_on_sqlite(tiny_study):
    """SQLite has no heartbeat: the dead process's trial is failed by its pid, at once."""
    path = tiny_study(n_trials=2, baselines=[], pruner={"name": "none"},
                      training={"epochs": 4, "batch_size": 32, "device": "cpu", "seed": 0,
                                "checkpoint_every_s": 0})  # each reported epoch on disk
    proc = _start(path)
    victim = act_mid_trial(_storage(path), proc, kill)
    proc.wait()
    assert victim.user_attrs["worker"]["pid"] > 0
    result = run(path)
    assert result.exit_code == 0, result.output
    study = load(path)
    trials = with_curves(study, study.get_trials())
    failed = trials[victim.number]
    assert failed.state == TrialState.FAIL
    assert failed.user_attrs["fail_reason"].startswith(
        f"worker lost: process {victim.user_attrs['worker']['pid']} on ")
    (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert retry.state == TrialState.COMPLETE and retry.user_attrs["retry_of"] == victim.number
    assert "fail_reason" not in retry.user_attrs and retry.params == victim.params
    # Continued from the checkpoint: its first epoch is the killed run's, timing and all.
    assert trial_epochs(retry)[0] == trial_epochs(failed)[0]
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 2


def test_a_starting_run_fails_every_running_trial_of_a_sqlite_study(tiny_config):
    """SQLite has one process at a time: trials left RUNNING belong to no live run, even when
    their pid is alive again (a reboot, a container restarted as pid 1) or their host is gone
    (the file copied, a new container); the run fails and retries them instead of waiting."""
    config = tiny_config(n_trials=1, baselines=[], pruner={"name": "none"}, timeout_s=300,
                         training={"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0})
    run_study(config, progress="off")
    study = optuna.load_study(study_name="tiny", storage=config.storage)
    orphans = [{"host": platform.node(), "pid": 1},  # pid 1 lives: another process now
               {**worker_id(), "host": "old-container"}]
    for worker in orphans:
        study.ask().set_user_attr("worker", worker)
    started = time.monotonic()
    summary = run_study(config.model_copy(update={"n_trials": 3}), progress="off")
    assert time.monotonic() - started < 120  # not waiting for the "live" pid 1 until timeout
    trials = study.get_trials()
    for number, worker in zip((1, 2), orphans):
        assert trials[number].state == TrialState.FAIL
        assert trials[number].user_attrs["fail_reason"] == (
            f"worker lost: process {worker['pid']} on {worker['host']} left it RUNNING, and "
            f"a SQLite study has one process at a time, so no live run owns it (killed?); "
            f"retried")
    retried = sorted(t.system_attrs.get("failed_trial", -1) for t in trials)[-2:]
    assert retried == [1, 2] and summary.complete == 3 and summary.failed == 2


def test_a_trial_failed_under_its_worker_ends_and_the_worker_goes_on(tiny_study):
    """Another process (say, one in another container with the same hostname) judged this
    worker dead and failed its trial: the worker says so in one line and goes on."""
    path = tiny_study(n_trials=2, baselines=[], pruner={"name": "none"},
                      training={"epochs": 4, "batch_size": 32, "device": "cpu", "seed": 0})
    proc = _start(path)

    def fail_it(victim, pid):
        # What the other process's recovery does: the reason, FAIL, a retry queued; all while
        # the worker is stopped, so it goes on only once the retry is there to be run.
        study = load(path)
        study._storage.set_trial_user_attr(victim._trial_id, "fail_reason",
                                           "worker lost: process 7 on here is gone (killed?); "
                                           "retried")
        study._storage.set_trial_state_values(victim._trial_id, state=TrialState.FAIL)
        retry_trial(study, study._storage.get_trial(victim._trial_id), max_retry=1)

    try:
        victim = act_mid_trial(_storage(path), proc, fail_it)
        out, err = proc.communicate(timeout=400)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Cannot tell" not in err
    assert err.strip().splitlines() == [
        f"trial #{victim.number} was failed by another process while this worker ran it "
        f"(worker lost: process 7 on here is gone (killed?); retried); going on"]
    trials = load(path).get_trials()
    assert trials[victim.number].state == TrialState.FAIL
    (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert retry.state == TrialState.COMPLETE
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 2


def test_a_changed_or_added_baseline_is_refused_by_name(tiny_study):
    """Baselines are the yardstick of every margin: one changed or added on resume would leave
    the study measured against two yardsticks."""
    from tests.search.conftest import TINY_STUDY

    cosine, step = TINY_STUDY["baselines"]
    path = tiny_study(n_trials=2)
    assert run(path).exit_code == 0
    path = tiny_study(n_trials=3, baselines=[cosine, {**step, "peak_lr": 0.2}, "linear"])
    result = run(path)
    assert result.exit_code == 1, result.output
    assert "baselines.linear (added)" in result.output
    assert "baselines.step.peak_lr (0.1 -> 0.2)" in result.output
    assert len(load(path).trials) == 2  # nothing stored was touched
