"""Storage URLs, friendly storage errors, and the progress display."""

from __future__ import annotations

import optuna
import pytest

from lrsearch.config import StorageOptions
from lrsearch.errors import StudyError
from lrsearch.search import normalise_url, open_storage, redact_url
from lrsearch.search._progress import StudyProgress


def test_urls_pick_installed_drivers_and_hide_passwords():
    assert normalise_url("mysql://u:p@h/db") == "mysql+pymysql://u:p@h/db"
    assert normalise_url("mariadb://u@h/db") == "mysql+pymysql://u@h/db"
    assert normalise_url("postgresql://u@h/db").startswith("postgresql")
    assert redact_url("mysql+pymysql://u:secret@h/db") == "mysql+pymysql://u:***@h/db"


def test_sqlite_in_a_missing_folder(tmp_path):
    with pytest.raises(StudyError, match="does not exist"):
        open_storage(f"sqlite:///{tmp_path}/nope/x.db", StorageOptions())


def test_sqlite_has_no_heartbeat(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/x.db", StorageOptions())
    assert storage.get_heartbeat_interval() is None


def test_unknown_driver_is_a_study_error():
    with pytest.raises(StudyError, match="storage"):
        open_storage("oracle+nodriver://u@h/db", StorageOptions())


def test_progress_bar_and_lines(capsys):
    study = optuna.create_study(direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with StudyProgress(5, 0, 3, "val_acc", "bar") as bar:
        for trial in study.trials:
            bar.finished(study, trial)
        assert bar.done == 2 and bar._best.startswith("best: ")
    with StudyProgress(5, 0, 3, "val_acc", "lines") as lines:
        lines.finished(study, study.trials[0])
    assert "trial 0 complete" in capsys.readouterr().err
