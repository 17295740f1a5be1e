"""Hostile study files, URLs and data folders: one clear answer each, nothing leaked or run.

Each case goes through the real CLI (in process) and must end with the right exit code, no
traceback, bounded output, no password, and the line that names the problem.
"""

from __future__ import annotations

import gzip
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
    # The document itself
    ("empty file", "", "name: missing"),
    ("only comments", "# nothing here\n", "name: missing"),
    ("a number", "42\n", "must be a mapping"),
    ("a string", "hello\n", "must be a mapping"),
    ("two documents", "---\nname: a\n---\nname: b\n", "not valid YAML"),
    ("python object tag", "name: !!python/object/apply:os.system ['touch pwned']\n",
     "not valid YAML"),
    ("a number too long", "name: x\nn_trials: " + "9" * 5000 + "\n", "5,000 characters long"),
    ("nul byte", "name: x\n\x00\n", "not valid YAML"),
    # name
    ("empty name", "name: ''\n", "name"),
    ("null name", "name: ~\n", "name"),
    ("name a number", "name: 123\n", "name: got 123"),
    ("name a date", "name: 2001-12-14\n", "name: got datetime.date"),
    ("name with a newline", 'name: "a\\nb"\n', "name"),
    ("name dot dot", "name: '..'\n", "name"),
    ("name of spaces", "name: '   '\n", "name"),
    # counts and numbers
    ("negative n_trials", "name: x\nn_trials: -1\n", "n_trials"),
    ("n_trials a word", "name: x\nn_trials: ten\n", "n_trials"),
    ("n_trials absurd", "name: x\nn_trials: 1000000000000\n", "n_trials"),
    ("n_trials yes", "name: x\nn_trials: yes\n", "n_trials: got True; must be a number"),
    ("n_trials infinite", "name: x\nn_trials: .inf\n", "n_trials"),
    ("n_trials fractional", "name: x\nn_trials: 2.5\n", "n_trials"),
    ("negative timeout", "name: x\ntimeout_s: -5\n", "timeout_s"),
    ("nan timeout", "name: x\ntimeout_s: .nan\n", "timeout_s"),
    ("epochs a word", "name: x\ntraining: {epochs: 3x}\n", "training.epochs"),
    ("epochs fractional", "name: x\ntraining: {epochs: 2.5}\n", "training.epochs"),
    ("epochs true", "name: x\ntraining: {epochs: true}\n", "training.epochs: got True"),
    ("epochs null", "name: x\ntraining: {epochs: null}\n", "training.epochs"),
    ("zero batch size", "name: x\ntraining: {batch_size: 0}\n", "training.batch_size"),
    ("absurd batch size", "name: x\ntraining: {batch_size: 1000000000}\n",
     "training.batch_size"),
    ("device tpu", "name: x\ntraining: {device: tpu}\n", "training.device"),
    ("training a list", "name: x\ntraining: [1, 2]\n", "training"),
    ("seed a word", "name: x\ntraining: {seed: x}\n", "training.seed"),
    ("seed fractional", "name: x\ntraining: {seed: 1.5}\n", "training.seed"),
    ("sampler seed 2**64", "name: x\nsampler: {seed: 18446744073709551616}\n", "sampler.seed"),
    ("weight decay true", "name: x\nsearch_space: {weight_decay: true}\n",
     "search_space.weight_decay"),
    # data and model
    ("unknown dataset", "name: x\ndata: {dataset: nope}\n", "data.dataset"),
    ("dataset a path", "name: x\ndata: {dataset: ../../etc/passwd}\n", "data.dataset"),
    ("dataset module missing", "name: x\ndata: {dataset: 'nomodule_xyz:make'}\n",
     "nomodule_xyz"),
    ("dataset function missing", "name: x\ndata: {dataset: 'os:nofunc_xyz'}\n", "nofunc_xyz"),
    ("negative val_size", "name: x\ndata: {dataset: fake, val_size: -1}\n", "data.val_size"),
    ("zero train_subset", "name: x\ndata: {dataset: fake, train_subset: 0}\n",
     "data.train_subset"),
    ("unknown model", "name: x\nmodel: nope\n", "model"),
    ("model a list", "name: x\nmodel: [a]\n", "model"),
    ("model module missing", "name: x\nmodel: 'nomodule_xyz:f'\n", "nomodule_xyz"),
    # search space
    ("no families", "name: x\nsearch_space: {families: []}\n", "at least one family"),
    ("families a string", "name: x\nsearch_space: {families: cosine}\n",
     "search_space.families"),
    ("family a number", "name: x\nsearch_space: {families: [123]}\n", "search_space.families"),
    ("range reversed", "name: x\nsearch_space: {peak_lr: {low: 0.1, high: 0.01}}\n",
     "must be >= low"),
    ("log range from zero", "name: x\nsearch_space: {peak_lr: {low: 0, high: 1, log: true}}\n",
     "search_space.peak_lr"),
    ("negative peak lr", "name: x\nsearch_space: {peak_lr: {low: -1, high: 1}}\n",
     "search_space.peak_lr"),
    ("peak lr a word", "name: x\nsearch_space: {peak_lr: fast}\n", "search_space.peak_lr"),
    ("peak lr underflows", "name: x\nsearch_space: {peak_lr: {low: 1e-400, high: 0.1}}\n",
     "search_space.peak_lr"),
    ("infinite range end", "name: x\nsearch_space: {peak_lr: {low: 0.1, high: .inf}}\n",
     "search_space.peak_lr"),
    ("warmup above one", "name: x\nsearch_space: {warmup_frac: {low: 0, high: 2}}\n",
     "search_space.warmup_frac"),
    ("negative weight decay", "name: x\nsearch_space: {weight_decay: -1}\n",
     "search_space.weight_decay"),
    ("unknown optimizer", "name: x\nsearch_space: {optimizers: [nope]}\n",
     "search_space.optimizers"),
    ("no optimizers", "name: x\nsearch_space: {optimizers: []}\n", "at least one optimizer"),
    ("unknown search key", "name: x\nsearch_space: {foo: 1}\n", "search_space.foo"),
    # sampler, pruner, re-runs
    ("unknown sampler", "name: x\nsampler: {name: nope}\n", "sampler.name"),
    ("negative startup", "name: x\nsampler: {n_startup_trials: -1}\n",
     "sampler.n_startup_trials"),
    ("unknown pruner", "name: x\npruner: {name: nope}\n", "pruner.name"),
    ("percentile 150", "name: x\npruner: {name: percentile, percentile: 150}\n",
     "pruner.percentile"),
    ("reduction factor 1", "name: x\npruner: {name: horizon, reduction_factor: 1}\n",
     "pruner.reduction_factor"),
    ("unknown judge", "name: x\npruner: {name: median, judge: nope}\n", "pruner.judge"),
    ("negative re-runs", "name: x\nreseed: {top_k: -1}\n", "reseed.top_k"),
    ("zero seeds", "name: x\nreseed: {seeds: 0}\n", "reseed.seeds"),
    # baselines
    ("empty baseline", "name: x\nbaselines: [{}]\n", "baselines.0"),
    ("baseline of no family", "name: x\nbaselines: [{name: a, family: nope}]\n",
     "baselines.0.family"),
    ("baseline negative lr", "name: x\nbaselines: [{name: a, family: cosine, peak_lr: -1}]\n",
     "baselines.0.peak_lr"),
    ("two baselines one name", "name: x\nbaselines: [{name: a, family: cosine, peak_lr: 0.1}, "
     "{name: a, family: linear, peak_lr: 0.1}]\n", "baseline names must be unique"),
    ("milestones out of order", "name: x\nbaselines: [{name: a, family: multistep, peak_lr: "
     "0.1, params: {milestones: [0.9, 0.2]}}]\n", "milestones"),
    ("milestone past the end", "name: x\nbaselines: [{name: a, family: multistep, peak_lr: "
     "0.1, params: {milestones: [1.5]}}]\n", "milestones"),
    ("negative gamma", "name: x\nbaselines: [{name: a, family: multistep, peak_lr: 0.1, "
     "params: {milestones: [0.5], gamma: -1}}]\n", "gamma"),
    ("unknown baseline param", "name: x\nbaselines: [{name: a, family: cosine, peak_lr: 0.1, "
     "params: {foo: 1}}]\n", "foo"),
    ("unknown preset", "name: x\nbaselines: [nope]\n", "baselines"),
    ("baseline of an unsearched family", "name: x\nbaselines: [{name: a, family: cyclic}]\n",
     "name it in search_space.families"),
    # storage and folders
    ("empty storage", "name: x\nstorage: ''\n", "storage"),
    ("storage folder missing", "name: x\nstorage: 'sqlite:////nonexistent_xyz/x.db'\n",
     "does not exist"),
    ("storage port out of range", f"name: x\nstorage: 'postgresql://u:{SECRET}@h:99999/db'\n",
     "storage"),
    ("storage unknown dialect", f"name: x\nstorage: 'redis://u:{SECRET}@h/0'\n", "storage"),
    ("storage a mapping", f"name: x\nstorage: {{url: 'postgresql://u@h/db', password: "
     f"{SECRET}}}\n", "storage"),
    ("storage a list", f"name: x\nstorage: ['postgresql://u:{SECRET}@h/db']\n", "storage"),
    ("storage unknown driver", f"name: x\nstorage: 'postgresql+nodriver://u:{SECRET}@h/db'\n",
     "storage"),
    ("storage with spaces", f"name: x\nstorage: ' postgresql://u:{SECRET}@h/db '\n", "storage"),
    ("negative retries", "name: x\nstorage_options: {max_retry: -1}\n",
     "storage_options.max_retry"),
    ("a password among storage options", f"name: x\nstorage_options: {{password: {SECRET}}}\n",
     "storage_options.password: unknown key"),
    ("a password at the top", f"name: x\npassword: {SECRET}\n", "password: unknown key"),
    ("a URL as the name", f"name: 'postgresql://u:{SECRET}@h/db'\n", "name"),
    ("a URL as the model", f"name: x\nmodel: 'postgresql://u:{SECRET}@h/db'\n", "model"),
    ("checkpoint under /dev/null", "name: x\ncheckpoint_dir: '/dev/null/x'\n",
     "checkpoint_dir"),
    ("unknown metric", "name: x\nmetric: nope\n", "metric"),
    ("unknown direction", "name: x\ndirection: sideways\n", "direction"),
    ("typo in a key", "name: x\nn_trail: 5\n", "n_trail: unknown key"),
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


def _images(count: int = 10, dtype=np.uint8) -> np.ndarray:
    return np.zeros((count, 3072), dtype)


# (case, how the data folder is broken, what the answer names)
BROKEN_FOLDERS = [
    ("a batch missing", lambda f: (f / "data_batch_3").unlink(), "lacks ['data_batch_3']"),
    ("the test batch missing", lambda f: (f / "test_batch").unlink(), "lacks ['test_batch']"),
    ("a batch a folder", lambda f: ((f / "data_batch_2").unlink(), (f / "data_batch_2").mkdir()),
     "lacks ['data_batch_2']"),
    ("a batch a symlink loop", lambda f: ((f / "data_batch_5").unlink(),
                                          (f / "data_batch_5").symlink_to(f / "data_batch_5")),
     "lacks ['data_batch_5']"),
    ("an empty batch file", lambda f: (f / "data_batch_1").write_bytes(b""), "Ran out of input"),
    ("a text file", lambda f: (f / "data_batch_1").write_text("hello\n"), "data_batch_1"),
    ("a gzipped batch", lambda f: (f / "data_batch_1").write_bytes(
        gzip.compress(pickle.dumps({"data": _images(), "labels": [0] * 10}))), "data_batch_1"),
    ("labels past the classes", lambda f: _put(f, {"data": _images(), "labels": [10] * 10}),
     "labels range over [0, 10]"),
    ("negative labels", lambda f: _put(f, {"data": _images(), "labels": [-1] * 10}),
     "labels range over [-1, 0]"),
    ("fractional labels", lambda f: _put(f, {"data": _images(), "labels": [0.5] * 10}),
     "must be a list of integers"),
    ("labels too large", lambda f: _put(f, {"data": _images(), "labels": [10**30] * 10}),
     "must be a list of integers"),
    ("labels words", lambda f: _put(f, {"data": _images(), "labels": ["cat"] * 10}),
     "must be a list of integers"),
    ("too few labels", lambda f: _put(f, {"data": _images(), "labels": [0] * 5}),
     "5 labels for 10 images"),
    ("float images", lambda f: _put(f, {"data": _images(dtype=np.float64), "labels": [0] * 10}),
     "dtype float64"),
    ("flat images", lambda f: _put(f, {"data": np.zeros(30720, np.uint8), "labels": [0] * 10}),
     "shape (30720,)"),
    ("object images", lambda f: _put(f, {"data": np.array([object()] * 10), "labels": [0] * 10}),
     "refused: loading it could run code"),
    ("images as bytes", lambda f: _put(f, {"data": b"\x00" * 30720, "labels": [0] * 10}),
     "must be uint8 with shape (N, 3072)"),
    ("keys as bytes", lambda f: _put(f, {b"data": _images(), b"labels": [0] * 10}),
     "KeyError: 'data'"),
]


def _put(folder: Path, entry: dict) -> None:
    (folder / "data_batch_1").write_bytes(pickle.dumps(entry, protocol=2))


@pytest.mark.parametrize("case, breaks, expect", BROKEN_FOLDERS,
                         ids=[c[0] for c in BROKEN_FOLDERS])
def test_a_broken_data_folder_is_named_in_one_line(tmp_path, case, breaks, expect):
    root = _data_folder(tmp_path, {"data": _images(), "labels": [0] * 10})
    breaks(root / "cifar-10-batches-py")
    study = tmp_path / "study.yaml"
    study.write_text(f"name: x\nstorage: 'sqlite:///{tmp_path / 's.db'}'\n"
                     f"data: {{dataset: cifar10, data_dir: '{root}'}}\n")
    _check_answer(CliRunner().invoke(main, ["run", str(study)]), expect, code=1)
    assert not (tmp_path / "s.db").exists()  # refused before a study was made


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
                ["export", "--storage", url, "--study", "tiny", "--out", str(tmp_path / "e")],
                ["run", str(path), "--n-trials", "2"])
    # A table Optuna reads after opening the storage, damaged: every read of it fails.
    with sqlite3.connect(db) as connection:
        connection.execute("drop table trial_user_attributes")
        connection.execute("create table trial_user_attributes (x integer)")
    for command in commands:
        _check_answer(CliRunner().invoke(main, command), f"the study storage {url} failed: no "
                      f"such column: trial_user_attributes.trial_id; the database's tables are "
                      f"not Optuna's")
    # A corrupt disk: every page but the first is garbage; refused when the storage opens.
    with sqlite3.connect(db) as connection:
        page = connection.execute("pragma page_size").fetchone()[0]
    data = db.read_bytes()
    db.write_bytes(data[:page] + bytes(i % 251 for i in range(len(data) - page)))
    for command in (*commands, ["validate", str(path)]):
        _check_answer(CliRunner().invoke(main, command), "is damaged (database disk image is "
                      "malformed)")


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


# (case, storage URL; tmp is the test's folder, which holds a file "afile", an empty file
# "empty.db" and a text file "text.db")
BAD_URLS = [
    ("empty", ""),
    ("not a url", f"u:{SECRET}@nothing"),
    ("http", "http://example.com/x"),
    ("redis", f"redis://u:{SECRET}@h/0"),
    ("nothing listens", f"postgresql://u:{SECRET}@127.0.0.1:1/db"),
    ("port out of range", f"postgresql://u:{SECRET}@127.0.0.1:99999/db"),
    ("port a word", f"postgresql://u:{SECRET}@127.0.0.1:abc/db"),
    ("broken host", f"postgresql://u:{SECRET}@[::1/db"),
    ("unknown driver", f"postgresql+nodriver://u:{SECRET}@h/db"),
    ("password in the query", f"postgresql://u@127.0.0.1:1/db?password={SECRET}"),
    ("mysql, nothing listens", f"mysql+pymysql://u:{SECRET}@127.0.0.1:1/db"),
    ("unicode", "postgresql://ü:ß@höst/db"),
    ("a newline", f"postgresql://u:{SECRET}@h/db\nx"),
    ("spaces", "   "),
    ("sqlite missing", "sqlite:///{tmp}/missing.db"),
    ("sqlite a folder", "sqlite:///{tmp}"),
    ("sqlite under a file", "sqlite:///{tmp}/afile/x.db"),
    ("sqlite empty file", "sqlite:///{tmp}/empty.db"),
    ("sqlite text file", "sqlite:///{tmp}/text.db"),
    ("sqlite in memory", "sqlite://"),
    ("sqlite in memory, named", "sqlite:///:memory:"),
    ("sqlite no study", "sqlite:///{tmp}/nostudy.db"),
    ("sqlite path too long", "sqlite:///" + "p" * 5000),
]


@pytest.mark.parametrize("command", ["report", "export", "confirm"])
@pytest.mark.parametrize("case, url", BAD_URLS, ids=[c[0] for c in BAD_URLS])
def test_a_hostile_storage_url_gets_one_clear_line_and_changes_no_file(tmp_path, case, url,
                                                                       command):
    import optuna

    (tmp_path / "afile").write_text("x")
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "text.db").write_text("hello, not a database\n" * 50)
    optuna.create_study(storage=f"sqlite:///{tmp_path / 'nostudy.db'}", study_name="gone")
    optuna.delete_study(study_name="gone", storage=f"sqlite:///{tmp_path / 'nostudy.db'}")
    files = {path: path.read_bytes() for path in tmp_path.iterdir()}
    url = url.replace("{tmp}", str(tmp_path))
    args = [command, "--storage", url] + ([] if command == "confirm" else
                                          ["--out", str(tmp_path / "out")])
    result = CliRunner().invoke(main, args)
    _check_answer(result, "storage" if case != "sqlite no study" else "holds no study")
    assert {path: path.read_bytes() for path in tmp_path.iterdir()} == files


def _cli_cases(study: Path, db: Path) -> list[tuple[str, list[str], str]]:
    url = f"sqlite:///{db}"
    return [
        ("n-trials 0", ["run", str(study), "--n-trials", "0"], "--n-trials"),
        ("n-trials a word", ["run", str(study), "--n-trials", "abc"], "--n-trials"),
        ("negative timeout", ["run", str(study), "--timeout", "-1"], "--timeout"),
        ("device tpu", ["run", str(study), "--device", "tpu"], "--device"),
        ("zero workers", ["run", str(study), "--workers", "0"], "--workers"),
        ("workers on sqlite", ["run", str(study), "--workers", "2"], "PostgreSQL"),
        ("a broken storage override", ["run", str(study), "--storage", f"u:{SECRET}@x"],
         "storage"),
        ("study file a folder", ["run", str(study.parent)], "is a directory"),
        ("study file missing", ["run", str(study.parent / "nope.yaml")], "nope.yaml"),
        ("validate a folder", ["validate", str(study.parent)], "is a directory"),
        ("validate /dev/zero", ["validate", "/dev/zero"], "larger than"),
        ("data dir a file", ["run", str(study), "--data-dir", str(db)], "--data-dir"),
        ("report an unknown study", ["report", "--storage", url, "--study", "nope", "--out",
                                     str(study.parent / "r.html")], "nope"),
        ("export trial -1", ["export", "--storage", url, "--trial", "-1", "--out",
                             str(study.parent / "e")], "-1"),
        ("dashboard port a word", ["dashboard", "--storage", url, "--port", "abc"], "--port"),
        ("dashboard port too large", ["dashboard", "--storage", url, "--port", "99999"],
         "--port"),
        ("dashboard negative port", ["dashboard", "--storage", url, "--port", "-1"], "--port"),
        ("find-lr of no file", ["find-lr", str(study.parent / "nope.yaml")], "nope.yaml"),
        ("slurm zero workers", ["slurm", str(study), "--workers", "0"], "--workers"),
        ("confirm zero seeds", ["confirm", "--storage", url, "--seeds", "0"], "--seeds"),
        ("confirm top-k 0", ["confirm", "--storage", url, "--top-k", "0"], "--top-k"),
        ("report top-k 0", ["report", "--storage", url, "--top-k", "0", "--out",
                            str(study.parent / "r.html")], "--top-k"),
        ("unknown command", ["nope"], "No such command"),
        ("unknown option", ["run", str(study), "--nope"], "No such option"),
    ]


CLI_CASES = [case[0] for case in _cli_cases(Path("s.yaml"), Path("s.db"))]


@pytest.mark.parametrize("case", CLI_CASES)
def test_a_hostile_command_line_gets_one_clear_line(tmp_path, case):
    import optuna

    db = tmp_path / "s.db"
    optuna.create_study(storage=f"sqlite:///{db}", study_name="plain")
    study = tmp_path / "study.yaml"
    study.write_text(f"name: x\nstorage: 'sqlite:///{db}'\ndata: {{dataset: fake}}\n")
    before = db.read_bytes()
    _, args, expect = next(c for c in _cli_cases(study, db) if c[0] == case)
    result = CliRunner().invoke(main, args)
    _check_answer(result, expect, code=result.exit_code)
    assert result.exit_code in (1, 2)  # 2: click's usage errors
    assert db.read_bytes() == before


def test_a_spec_file_that_is_not_utf8_gets_one_line(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_bytes(b'{"family": "cosine", "peak_lr": 0.1, "total_steps": 10}\xff\xfe')
    _check_answer(CliRunner().invoke(main, ["show", str(spec)]), "not UTF-8 (byte 0xff")


def test_a_model_module_that_exits_at_import_is_named_by_validate(tmp_path):
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(3)\n\ndef build(num_classes):\n"
                                       "    pass\n")
    study = tmp_path / "s.yaml"
    study.write_text('name: s\nmodel: "exits:build"\n')
    _check_answer(CliRunner().invoke(main, ["validate", str(study)]),
                  "module 'exits' called sys.exit(3) while being imported")


def test_an_unencoded_at_in_a_password_is_named_and_its_tail_never_shown(tmp_path):
    url = "postgresql://me:se@cr3t@127.0.0.1:5432/db"
    study = tmp_path / "s.yaml"
    study.write_text(f'name: s\nstorage: "{url}"\n')
    for args in (["validate", str(study)], ["report", "--storage", url, "--study", "s"],
                 ["export", "--storage", url, "--study", "s"]):
        result = CliRunner().invoke(main, args)
        _check_answer(result, "holds '@' more than once: write an '@' in the password as %40")
        assert "cr3t" not in result.output


def test_the_storage_url_may_come_from_the_environment(tmp_path):
    from tests.search.conftest import write_study

    url = f"sqlite:///{tmp_path / 'from-env.db'}"
    env = {"LRSEARCH_STORAGE": url}
    result = CliRunner().invoke(main, ["run", str(write_study(tmp_path, n_trials=2)),
                                       "--quiet"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-env.db").exists() and not (tmp_path / "studies.db").exists()
    result = CliRunner().invoke(main, ["report", "--study", "tiny", "--out",
                                       str(tmp_path / "r.html")], env=env)
    assert result.exit_code == 0, result.output


def test_a_wrong_password_on_mariadb_is_called_a_login_problem_not_rights():
    from tests.conftest import unavailable

    result = CliRunner().invoke(main, ["report", "--storage",
                                       f"mysql+pymysql://root:{SECRET}@127.0.0.1:3306/test",
                                       "--study", "s"])
    if "Can't connect" in result.output:
        unavailable("MariaDB unreachable at 127.0.0.1:3306")
    _check_answer(result, "the server refuses this login: check the user and password")
    assert "grant it the rights" not in result.output
