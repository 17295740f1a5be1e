"""``peak_lr: auto``: a real range test at the start of a real study, stored and reused; the
study's set-up (range test, baselines) survives a stopped first run and runs once when
several processes open a new study at once."""

from __future__ import annotations

import platform
import signal
import subprocess
import sys
import threading
import time

import optuna
import pytest
from click.testing import CliRunner
from optuna.distributions import FloatDistribution

from lrsearch.cli import main
from lrsearch.config import Range, load_study, parse_study
from lrsearch.records import (
    CLAIM_ATTR,
    FINGERPRINT_ATTR,
    RANGE_TEST_ATTR_PREFIX,
    SETUP_DONE_ATTR,
    open_storage,
    set_study_record,
    study_records,
)
from lrsearch.search import (
    SearchSpace,
    _lr_range_test,
    fingerprint,
    open_study,
)
from lrsearch.search.parallel import _setup_claim
from tests.conftest import REPO
from tests.search._processes import hears_ctrl_c

pytestmark = pytest.mark.slow

RANGE_TEST = {"start_lr": 1.0e-4, "end_lr": 10.0, "num_steps": 20}
AUTO_SPACE = {"families": ["cosine", "linear"], "peak_lr": "auto"}


def _study(tiny_study, **changes):
    settings = {"n_trials": 3, "baselines": [], "lr_range_test": RANGE_TEST,
                "training": {"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0},
                "pruner": {"name": "none"}, "search_space": AUTO_SPACE}
    return tiny_study(**{**settings, **changes})


def _load(path) -> optuna.Study:
    return optuna.load_study(study_name="tiny",
                             storage=f"sqlite:///{path.parent / 'studies.db'}")


def test_range_test_is_stored_bounds_the_trials_and_is_reused(tiny_study):
    path = _study(tiny_study)
    result = CliRunner().invoke(main, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    study = _load(path)
    stored = study_records(study)[RANGE_TEST_ATTR_PREFIX + "sgd"]
    span = stored["search_range"]
    suggested = stored["result"]["suggested_lr"]
    assert span == {"low": suggested / 10, "high": suggested * 10, "log": True}  # width 10
    assert stored["result"]["settings"]["num_steps"] == 20
    assert len(stored["result"]["lrs"]) <= 20 and stored["result"]["model"] == "small_cnn"
    trials = study.get_trials()
    assert len(trials) == 3
    for trial in trials:
        assert trial.distributions["sgd.peak_lr"] == FloatDistribution(
            span["low"], span["high"], log=True)
        assert span["low"] <= trial.params["sgd.peak_lr"] <= span["high"]
        assert trial.user_attrs["schedule"]["peak_lr"] == trial.params["sgd.peak_lr"]

    # A resume reads the stored test: same range, no new test, the fingerprint still fits.
    config = load_study(path)
    opened = open_study(config)
    assert opened.range_tests_run == () and not opened.created
    assert opened.space.optimizers["sgd"]["peak_lr"] == Range(**span)
    result = CliRunner().invoke(main, ["run", str(path), "--quiet", "--n-trials", "4"])
    assert result.exit_code == 0, result.output
    study = _load(path)
    # not run (nor stored) again
    assert study_records(study)[RANGE_TEST_ATTR_PREFIX + "sgd"] == stored
    assert len(study.get_trials()) == 4


def test_the_stored_result_wins_over_a_new_test(tiny_study):
    # What another worker stored first is what every later process uses.
    path = _study(tiny_study, search_space={**AUTO_SPACE, "optimizers": {
        "sgd": {"peak_lr": "auto"}, "adam": {"peak_lr": 1.0e-3}}})
    config = load_study(path)
    first = open_study(config, progress="off")
    assert first.created and first.range_tests_run == ("sgd",)
    # adam's peak LR is fixed
    assert RANGE_TEST_ATTR_PREFIX + "adam" not in study_records(first.study)
    record = dict(study_records(first.study)[RANGE_TEST_ATTR_PREFIX + "sgd"])
    record["search_range"] = {"low": 0.01, "high": 0.02, "log": True}
    set_study_record(first.study, RANGE_TEST_ATTR_PREFIX + "sgd", record)
    again = open_study(config, progress="off")
    assert again.range_tests_run == ()
    assert again.space.optimizers["sgd"]["peak_lr"] == Range(low=0.01, high=0.02, log=True)
    assert again.space.optimizers["adam"]["peak_lr"] == 1.0e-3


def test_changed_range_test_settings_are_refused_on_resume(tiny_study):
    path = _study(tiny_study)
    open_study(load_study(path), progress="off")
    path = _study(tiny_study, lr_range_test={**RANGE_TEST, "width": 2.0})
    result = CliRunner().invoke(main, ["run", str(path), "--quiet"])
    assert result.exit_code == 1 and "changed" in result.output
    assert "Traceback" not in result.output


def test_range_test_settings_count_in_the_fingerprint_only_with_auto():
    def fingerprint_of(peak_lr, num_steps):
        config = parse_study({"name": "d", "search_space": {"peak_lr": peak_lr},
                              "lr_range_test": {"num_steps": num_steps}})
        return fingerprint(config, SearchSpace.from_config(config))

    fixed = {"low": 0.01, "high": 0.1, "log": True}
    assert fingerprint_of(fixed, 100) == fingerprint_of(fixed, 200)  # older studies resume
    assert fingerprint_of("auto", 100) != fingerprint_of("auto", 200)


def test_preset_baselines_run_at_the_suggested_peak_lr(tiny_study):
    # Presets are queued after the range test: the middle of the auto range is its suggestion.
    path = _study(tiny_study, n_trials=2, baselines=["cosine", "schedulefree"])
    result = CliRunner().invoke(main, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    study = _load(path)
    suggested = study_records(study)[RANGE_TEST_ATTR_PREFIX + "sgd"]["result"]["suggested_lr"]
    trials = study.get_trials()
    assert [t.user_attrs["baseline"] for t in trials] == ["cosine", "schedulefree"]
    for trial in trials:
        assert trial.user_attrs["schedule"]["peak_lr"] == pytest.approx(suggested, rel=1e-9)


# --- Set-up: range test and baselines survive a stopped first run, and run once. ---------

def _fake_record(suggested_lr: float) -> dict:
    return {"search_range": {"low": suggested_lr / 10, "high": suggested_lr * 10, "log": True},
            "width": 10.0, "result": {"suggested_lr": suggested_lr}}


def _baselines_of(study: optuna.Study) -> list[str]:
    return [t.user_attrs["baseline"] for t in study.get_trials() if "baseline" in t.user_attrs]


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError])
def test_a_first_run_stopped_in_its_range_test_keeps_its_baselines(tiny_study, monkeypatch,
                                                                     stop):
    path = _study(tiny_study, baselines=["cosine", "schedulefree"])
    config = load_study(path)
    real = _lr_range_test._run_and_describe

    def stopped(*args, **kwargs):
        raise stop("stopped in the range test")

    monkeypatch.setattr(_lr_range_test, "_run_and_describe", stopped)
    with pytest.raises(stop):
        open_study(config, progress="off")
    study = _load(path)
    assert study.get_trials() == [] and RANGE_TEST_ATTR_PREFIX + "sgd" not in study_records(study)
    assert study_records(study)[CLAIM_ATTR]["state"] == "failed"
    assert SETUP_DONE_ATTR not in study_records(study)

    monkeypatch.setattr(_lr_range_test, "_run_and_describe", real)
    started = time.monotonic()
    again = open_study(config, progress="off")  # no wait: the claim was released
    assert time.monotonic() - started < _setup_claim.STALE_S
    assert not again.created and again.range_tests_run == ("sgd",)
    suggested = study_records(again.study)[RANGE_TEST_ATTR_PREFIX + "sgd"]["result"]["suggested_lr"]
    assert _baselines_of(again.study) == ["cosine", "schedulefree"]
    for trial in again.study.get_trials():
        assert trial.user_attrs["fixed_schedule"]["peak_lr"] == pytest.approx(suggested)
    third = open_study(config, progress="off")
    assert third.range_tests_run == () and _baselines_of(third.study) == ["cosine",
                                                                          "schedulefree"]


def test_a_study_from_before_set_up_claims_queues_no_baseline_twice(tiny_study):
    path = _study(tiny_study, baselines=["cosine", "linear"])
    first = open_study(load_study(path), progress="off")
    # What lrsearch stored before claims existed: no claim, no done mark.
    for key in (CLAIM_ATTR, SETUP_DONE_ATTR):
        set_study_record(first.study, key, None)
    again = open_study(load_study(path), progress="off")
    assert again.range_tests_run == () and _baselines_of(again.study) == ["cosine", "linear"]
    assert study_records(again.study)[SETUP_DONE_ATTR] is True


def _open_together(config, count: int = 2) -> list:
    """``open_study`` in ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def opener(index: int) -> None:
        barrier.wait()
        try:
            results[index] = open_study(config, worker_index=index)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            results[index] = exc

    threads = [threading.Thread(target=opener, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def _race(tiny_study, monkeypatch, storage: str | None = None) -> None:
    changes = {"baselines": ["cosine", "step"]}
    if storage is not None:
        changes["storage"] = storage
    config = load_study(_study(tiny_study, **changes))
    # The database exists (its tables made): two workers of a new study, not of a new file.
    open_storage(config.storage, config.storage_options).remove_session()
    calls = []

    def slow_test(*args, **kwargs):  # each call a different result: a second one would show
        calls.append(threading.current_thread().name)
        time.sleep(3.0)
        return _fake_record(0.01 * len(calls))

    monkeypatch.setattr(_lr_range_test, "_run_and_describe", slow_test)
    opened = _open_together(config)
    assert len(calls) == 1
    assert sorted(o.created for o in opened) == [False, True]
    assert sum(len(o.range_tests_run) for o in opened) == 1
    ranges = [o.space.optimizers["sgd"]["peak_lr"] for o in opened]
    assert ranges == [Range(low=0.001, high=0.1, log=True)] * 2
    study = opened[0].study
    assert sorted(_baselines_of(study)) == ["cosine", "step"]  # queued once
    assert study_records(study)[SETUP_DONE_ATTR] is True
    assert study_records(study)[CLAIM_ATTR]["state"] == "done"


def test_two_openers_of_a_new_sqlite_study_run_one_range_test(tiny_study, monkeypatch, capsys):
    _race(tiny_study, monkeypatch)
    assert "waiting for process" in capsys.readouterr().err


def test_two_openers_of_a_new_server_study_run_one_range_test(tiny_study, monkeypatch,
                                                               server_url):
    _race(tiny_study, monkeypatch, server_url)


def _killed_holder(path, stuck_in: str) -> int:
    """Start ``open_study`` on the study file in a process that hangs in ``stuck_in``
    (``"range test"`` or ``"initialise"``: before the fingerprint is stored), SIGKILL it there;
    its pid."""
    script = ("import sys, time\n"
              "from lrsearch.config import load_study\n"
              "from lrsearch.search import _lr_range_test, _study, open_study\n"
              "def hang(*args, **kwargs):\n"
              "    print('stuck', flush=True)\n"
              "    time.sleep(600)\n"
              "if sys.argv[2] == 'range test':\n"
              "    _lr_range_test._run_and_describe = hang\n"
              "else:\n"
              "    _study._initialise = hang\n"
              "open_study(load_study(sys.argv[1]), progress='off')\n")
    holder = subprocess.Popen([sys.executable, "-c", script, str(path), stuck_in], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "stuck"
    finally:
        holder.kill()  # SIGKILL: no clean-up, the claim stays "running"
        holder.wait()
    assert study_records(_load(path))[CLAIM_ATTR]["state"] == "running"
    return holder.pid


def test_a_killed_holder_on_this_machine_is_taken_over_at_once(tiny_study, monkeypatch,
                                                               capsys):
    path = _study(tiny_study, baselines=["cosine"])
    pid = _killed_holder(path, "range test")
    monkeypatch.setattr(_lr_range_test, "_run_and_describe", lambda *a, **k: _fake_record(0.05))
    started = time.monotonic()
    opened = open_study(load_study(path))
    assert time.monotonic() - started < _setup_claim.STALE_S / 2  # not waiting for staleness
    assert not opened.created and opened.range_tests_run == ("sgd",)
    assert opened.space.optimizers["sgd"]["peak_lr"] == Range(low=0.005, high=0.5, log=True)
    assert _baselines_of(opened.study) == ["cosine"]
    err = capsys.readouterr().err
    assert f"process {pid} on {platform.node()} is gone (killed?); setting it up here" in err


def test_a_creator_killed_before_storing_the_fingerprint_is_taken_over(tiny_study,
                                                                       monkeypatch):
    path = _study(tiny_study, baselines=["cosine"])
    _killed_holder(path, "initialise")
    assert FINGERPRINT_ATTR not in study_records(_load(path))  # claimed, nothing else stored
    monkeypatch.setattr(_lr_range_test, "_run_and_describe", lambda *a, **k: _fake_record(0.05))
    config = load_study(path)
    opened = open_study(config, progress="off")  # not "was not created by lrsearch"
    attrs = study_records(opened.study)
    assert attrs[FINGERPRINT_ATTR] == fingerprint(config, SearchSpace.from_config(config))
    assert attrs["config"]["name"] == "tiny" and "lrsearch_version" in attrs
    assert attrs[SETUP_DONE_ATTR] is True and opened.range_tests_run == ("sgd",)
    assert _baselines_of(opened.study) == ["cosine"]
    again = open_study(config, progress="off")  # and it is a study like any other now
    assert again.range_tests_run == () and _baselines_of(again.study) == ["cosine"]


def test_a_taken_over_holder_leaves_the_new_claim_alone(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'x.db'}")
    first = _setup_claim.SetupClaim.write(study)
    with pytest.raises(RuntimeError), first:
        # A waiter judged the first holder dead and took over; the first one then fails.
        second = _setup_claim.SetupClaim.write(study)
        second.__enter__()
        raise RuntimeError("the first holder's range test fails at last")
    stored = study_records(study)[CLAIM_ATTR]
    assert stored["owner"] == second.record["owner"] and stored["state"] == "running"
    assert second.held and _setup_claim._take_over_because(stored, 0.0) is None
    second.__exit__(None, None, None)
    assert study_records(study)[CLAIM_ATTR]["state"] == "done"
    assert study_records(study)[SETUP_DONE_ATTR] is True


def test_ctrl_c_while_taking_the_claim_over_releases_it(tiny_study):
    path = _study(tiny_study)
    study = open_study(load_study(path), progress="off").study
    set_study_record(study, SETUP_DONE_ATTR, None)
    set_study_record(study, CLAIM_ATTR, {"owner": "old", "state": "failed", "reason": "boom"})
    # A waiter that takes the failed claim over, then settles for long enough to be stopped.
    script = ("import sys\n"
              "from lrsearch.config import load_study\n"
              "from lrsearch.search import open_study\n"
              "from lrsearch.search.parallel import _setup_claim\n"
              "_setup_claim.SETTLE_S = 600\n"
              "open_study(load_study(sys.argv[1]), progress='off')\n")
    waiter = subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=REPO,
                              stderr=subprocess.PIPE, text=True, preexec_fn=hears_ctrl_c)
    try:
        deadline = time.monotonic() + 120
        while study_records(_load(path))[CLAIM_ATTR].get("pid") != waiter.pid:
            assert waiter.poll() is None and time.monotonic() < deadline, waiter.communicate()
            time.sleep(0.2)
        waiter.send_signal(signal.SIGINT)
        _, err = waiter.communicate(timeout=60)
    finally:
        waiter.kill()
    assert "KeyboardInterrupt" in err
    claim = study_records(_load(path))[CLAIM_ATTR]
    assert claim["pid"] == waiter.pid
    assert claim["state"] == "failed" and claim["reason"] == "interrupted"
