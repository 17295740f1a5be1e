"""Hostile study files, URLs and data folders: one clear answer each, nothing leaked or run.

Each case goes through the real CLI (in process) and must end with the right exit code, no
traceback, bounded output, no password, and the line that names the problem.
"""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lrsearch.cli import main

SECRET = "hunter2-secret"
MAX_OUTPUT_CHARS = 20_000


def _bomb() -> str:
    text, previous = "a: &a [x, x, x, x, x, x, x, x, x]\n", "a"
    for i in range(9):
        refs = ", ".join([f"*{previous}"] * 9)
        text += f"b{i}: &b{i} [{refs}]\n"
        previous = f"b{i}"
    return text + f"name: *{previous}\n"


def _alias_deep() -> str:
    text = ""
    for i in range(60):
        inner = "[" * 20 + (f"*a{i - 1}" if i else "1") + "]" * 20
        text += f"k{i}: &a{i} {inner}\n"
    return text + "name: x\n"


# (case, file content, what the answer must say)
BAD_FILES = [
    ("not utf-8", b"name: caf\xe9\n", "not UTF-8"),
    ("utf-16", "name: x\n".encode("utf-16"), "not UTF-8"),
    ("binary", bytes(range(256)) * 4, "not UTF-8"),
    ("too large", b"name: x\n" + b"# padding\n" * 120_000, "larger than"),
    ("duplicate key", "name: a\nname: b\n", "given twice"),
    ("nested duplicate key", "name: a\ntraining: {epochs: 2, epochs: 3}\n", "given twice"),
    ("deep nesting", "name: x\nsampler: " + "[" * 3000 + "]" * 3000 + "\n", "nested more"),
    ("alias bomb", _bomb(), "aliases are followed"),
    ("nesting through aliases", _alias_deep(), "nested more"),
    ("recursive alias", "name: x\nsampler: &s [*s]\n", "sampler"),
    ("not yaml", "name: [unclosed\n", "not valid YAML"),
    ("a list", "- name: x\n", "must be a mapping"),
    ("tab indentation", "name: x\ntraining:\n\tepochs: 2\n", "not valid YAML"),
    ("duplicate families", "name: x\nsearch_space: {families: [cosine, cosine]}\n",
     "more than once"),
    ("unknown family", "name: x\nsearch_space: {families: [cosine, nope]}\n",
     "unknown family"),
    ("in-memory sqlite", "name: x\nstorage: 'sqlite://'\n", "in-memory SQLite"),
    ("port not a number", f"name: x\nstorage: 'postgresql://u:{SECRET}@h:port/db'\n",
     "a port is a number"),
    ("not a url", f"name: x\nstorage: 'u:{SECRET}@nothing'\n", "must be a SQLAlchemy URL"),
    ("seed too large", "name: x\ntraining: {seed: 99999999999999999999}\n", "training.seed"),
    ("negative seed", "name: x\nsampler: {seed: -1}\n", "sampler.seed"),
    ("split seed too large", "name: x\ndata: {split_seed: 4294967296}\n", "data.split_seed"),
    ("absurd epochs", "name: x\ntraining: {epochs: 1000000000}\n", "training.epochs"),
    ("zero epochs", "name: x\ntraining: {epochs: 0}\n", "training.epochs"),
    ("infinite peak lr", "name: x\nsearch_space: {peak_lr: .inf}\n", "search_space.peak_lr"),
    ("nan peak lr", "name: x\nsearch_space: {peak_lr: .nan}\n", "search_space.peak_lr"),
    ("infinite weight decay", "name: x\nsearch_space: {weight_decay: .inf}\n",
     "search_space.weight_decay"),
    ("name too long", "name: " + "a" * 5000 + "\n", "name"),
    ("name with a slash", "name: ../../etc\n", "name"),
    ("huge unknown key", "name: x\n" + "k" * 1000 + ": 1\n", "unknown key"),
    ("key too long for yaml", "name: x\n" + "k" * 100_000 + ": 1\n", "not valid YAML"),
    ("huge value", "name: x\nmodel: " + "m" * 100_000 + "\n", "model"),
    ("many problems", "name: x\n" + "".join(f"key{i}: 1\n" for i in range(500)),
     "more"),
    ("judge with horizon rungs", "name: x\npruner: {name: horizon, judge: raw}\n",
     "pruner.judge"),
]


def _check_answer(result, expect: str, code: int = 1) -> None:
    output = result.output
    assert result.exit_code == code, output[-2000:]
    assert "Traceback" not in output
    assert len(output) < MAX_OUTPUT_CHARS, len(output)
    assert SECRET not in output
    assert expect in output, output[-2000:]


@pytest.mark.parametrize("case, content, expect", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_validate_answers_a_hostile_study_file_in_one_clear_line(tmp_path, case, content,
                                                                 expect):
    path = tmp_path / "study.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    _check_answer(CliRunner().invoke(main, ["validate", str(path)]), expect)


def test_a_refused_file_leaves_the_database_there_unchanged(tmp_path):
    db = tmp_path / "studies.db"
    with sqlite3.connect(db) as connection:
        connection.execute("create table kept (x integer)")
        connection.execute("insert into kept values (1)")
    before = db.read_bytes()
    path = tmp_path / "study.yaml"
    path.write_text(f"name: x\nstorage: 'sqlite:///{db}'\nname: y\n")
    _check_answer(CliRunner().invoke(main, ["run", str(path)]), "given twice")
    assert db.read_bytes() == before


def test_a_password_in_the_url_query_is_never_printed(tmp_path):
    path = tmp_path / "study.yaml"
    # Nothing listens on port 1: the run fails to reach the storage and says so.
    path.write_text(f"name: x\nstorage: 'postgresql://me@127.0.0.1:1/db?password={SECRET}'\n"
                    f"data: {{dataset: fake}}\n")
    result = CliRunner().invoke(main, ["run", str(path)])
    _check_answer(result, "127.0.0.1", code=result.exit_code)
    assert result.exit_code != 0 and "password=***" in result.output


class _Payload:
    """Pickled, it calls ``Path.touch`` on load: what a hostile data folder would do."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def _data_folder(tmp_path: Path, batch: object) -> Path:
    folder = tmp_path / "data" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    good = {"data": np.zeros((10, 3072), np.uint8), "labels": [0] * 10}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps(good))
    (folder / "data_batch_1").write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": list("abcdefghij")}))
    return folder.parent


@pytest.mark.parametrize("case", ["code on load", "truncated", "labels not a list",
                                  "not a dict", "wrong shape"])
def test_a_hostile_or_broken_data_batch_is_refused_without_running_it(tmp_path, case):
    touched = tmp_path / "touched"
    batch = {"code on load": {"data": _Payload(touched), "labels": [0]},
             "labels not a list": {"data": np.zeros((10, 3072), np.uint8), "labels": 7},
             "not a dict": [1, 2, 3],
             "wrong shape": {"data": np.zeros((10, 5), np.uint8), "labels": [0] * 10},
             "truncated": None}[case]
    root = _data_folder(tmp_path, batch)
    if case == "truncated":
        path = root / "cifar-10-batches-py" / "data_batch_1"
        path.write_bytes(pickle.dumps({"data": np.zeros((10, 3072), np.uint8)})[:40])
    study = tmp_path / "study.yaml"
    study.write_text(f"name: x\nstorage: 'sqlite:///{tmp_path / 's.db'}'\n"
                     f"data: {{dataset: cifar10, data_dir: '{root}'}}\n")
    result = CliRunner().invoke(main, ["run", str(study)])
    _check_answer(result, "data_batch_1", code=1)
    assert not touched.exists()


@pytest.mark.parametrize("directions, expect", [
    (["maximize", "minimize"], "has 2 objectives"),
    (["maximize"], "was not made by `lrsearch run`"),
])
@pytest.mark.parametrize("command", ["report", "export", "confirm"])
def test_report_export_and_confirm_refuse_a_plain_optuna_study(tmp_path, directions, expect,
                                                               command):
    import optuna

    url = f"sqlite:///{tmp_path / 'plain.db'}"
    study = optuna.create_study(study_name="plain", storage=url, directions=directions)
    study.optimize(lambda t: [t.suggest_float("x", 0, 1)] * len(directions), n_trials=2)
    result = CliRunner().invoke(main, [command, "--storage", url, "--study", "plain"])
    _check_answer(result, expect)


@pytest.mark.slow
def test_a_storage_broken_under_a_study_gets_one_line_not_a_traceback(tmp_path):
    from tests.search.conftest import write_study

    path = write_study(tmp_path, n_trials=1, baselines=[], pruner={"name": "none"},
                       training={"epochs": 1, "batch_size": 64, "device": "cpu", "seed": 0})
    assert CliRunner().invoke(main, ["run", str(path), "--quiet"]).exit_code == 0
    db = tmp_path / "studies.db"
    url = f"sqlite:///{db}"
    commands = (["report", "--storage", url, "--study", "tiny", "--out", str(tmp_path / "r")],
                ["export", "--storage", url, "--study", "tiny", "--out", str(tmp_path / "e")])
    # A table Optuna reads after opening the storage, damaged: every read of it fails.
    with sqlite3.connect(db) as connection:
        connection.execute("drop table trial_user_attributes")
        connection.execute("create table trial_user_attributes (x integer)")
    for command in commands:
        _check_answer(CliRunner().invoke(main, command), "the study storage failed")
    # A corrupt disk: every page but the first is garbage; refused when the storage opens.
    with sqlite3.connect(db) as connection:
        page = connection.execute("pragma page_size").fetchone()[0]
    data = db.read_bytes()
    db.write_bytes(data[:page] + bytes(i % 251 for i in range(len(data) - page)))
    for command in commands:
        _check_answer(CliRunner().invoke(main, command), "malformed")


def test_a_checkpoint_dir_that_cannot_be_made_is_named_by_validate_and_run(tmp_path):
    (tmp_path / "a-file").write_text("")
    path = tmp_path / "study.yaml"
    path.write_text(f"name: x\nstorage: 'sqlite:///{tmp_path / 's.db'}'\n"
                    f"data: {{dataset: fake}}\ncheckpoint_dir: '{tmp_path / 'a-file' / 'sub'}'\n")
    for command in ("validate", "run"):
        _check_answer(CliRunner().invoke(main, [command, str(path)]), "is a file, not a folder")
    assert not (tmp_path / "s.db").exists()  # refused before anything was stored


@pytest.mark.slow
def test_a_trial_that_fails_before_training_says_why(tmp_path):
    """Anything that fails a trial, even before its training starts, is stored as its reason."""
    import optuna

    from lrsearch.config import load_study
    from lrsearch.records import fail_reason
    from lrsearch.search import Objective, open_study
    from lrsearch.train import load_data
    from tests.search.conftest import write_study

    config = load_study(write_study(tmp_path, n_trials=1, baselines=[]))
    (tmp_path / "ckpt").write_text("")  # checkpoint_dir became a file after the checks
    opened = open_study(config, progress="off")
    objective = Objective(config, opened.space, load_data(config.data))
    opened.study.optimize(objective, n_trials=1, catch=(Exception,))
    (trial,) = opened.study.trials
    assert trial.state == optuna.trial.TrialState.FAIL
    assert fail_reason(trial).startswith(("FileExistsError", "NotADirectoryError"))
