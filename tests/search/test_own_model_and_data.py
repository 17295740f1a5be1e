"""A study of the user's own model on the user's own image folder, end to end through the CLI.

Real runs on SQLite from another working directory than the study file's; then the report,
the export and the confirmation, and the resumes a changed model or data root refuses.
"""

from __future__ import annotations

import json

import optuna
import pytest
from click.testing import CliRunner

from lrsearch.cli import main
from lrsearch.records import DATA_ATTR, MODEL_ATTR, study_records
from tests.own_code import image_folder, model_module, starting_together
from tests.search.conftest import write_study


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def own_study(folder, module, **changes):
    """A study file in ``folder``: ``module``'s tiny model on the image folder ``images``."""
    return write_study(folder, **{
        "n_trials": 4, "model": f"{module}:tiny", "model_kwargs": {"width": 8},
        "data": {"dataset": "imagefolder", "root": "images", "val_size": 18, "image_size": 16},
        "training": {"epochs": 4, "batch_size": 16, "device": "cpu", "seed": 0},
        "pruner": {"name": "none"}, "baselines": [],
        "search_space": {"families": ["cosine", "linear"],
                         "peak_lr": {"low": 0.05, "high": 0.2, "log": True}},
        **changes})


@pytest.fixture
def study_folder(tmp_path, monkeypatch):
    """A study folder with a model module and an image folder; the tests run elsewhere."""
    folder = tmp_path / "study"
    folder.mkdir()
    image_folder(folder / "images", per_class=30)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return folder


def test_own_model_and_image_folder_learn_and_report_export_confirm(study_folder):
    module = model_module(study_folder)
    path = own_study(study_folder, module)
    storage = f"sqlite:///{study_folder / 'studies.db'}"
    result = invoke("run", path, "--quiet")
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="tiny", storage=storage)
    best = study.best_value
    assert best > 0.6, best  # 3 classes: chance is 1/3
    assert study_records(study)[MODEL_ATTR] == \
        f"{module}:tiny(num_classes=3, width=8) (267 parameters)"
    assert study_records(study)[DATA_ATTR].startswith(f"imagefolder ({study_folder / 'images'} "
                                                  f"(test: 9 of its images, seed 0)): 63 train "
                                                  f"/ 18 val / 9 test images of 3x16x16")
    report = study_folder / "report.html"
    assert invoke("report", "--storage", storage, "--study", "tiny", "--out",
                  report).exit_code == 0
    assert f"{module}:tiny(num_classes=3, width=8)" in report.read_text()
    assert invoke("export", "--storage", storage, "--study", "tiny", "--out",
                  study_folder / "best").exit_code == 0
    exported = json.loads((study_folder / "best" / "best_schedule.json").read_text())
    assert exported["source"]["value"] == pytest.approx(best)
    result = invoke("confirm", "--storage", storage, "--study", "tiny", "--top", 1,
                    "--seeds", 1)
    assert result.exit_code == 0, result.output
    runs = study_records(optuna.load_study(study_name="tiny", storage=storage))["confirmation"]
    assert len(runs["runs"]) == 1 and runs["train_images"] == 81  # train + val, never test


def test_a_changed_factory_or_data_root_refuses_a_resume(study_folder):
    module = model_module(study_folder)
    assert invoke("run", own_study(study_folder, module, n_trials=1), "--quiet").exit_code == 0
    result = invoke("run", own_study(study_folder, module, n_trials=2, model=f"{module}:other",
                                     model_kwargs={}), "--quiet")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"model (\"{module}:tiny\" -> \"{module}:other\")" in result.output
    assert "model_kwargs (removed)" in result.output
    image_folder(study_folder / "more", per_class=30)
    result = invoke("run", own_study(study_folder, module, n_trials=2, data={
        "dataset": "imagefolder", "root": "more", "val_size": 18, "image_size": 16}), "--quiet")
    assert result.exit_code == 1 and 'data.root ("images" -> "more")' in result.output


def test_a_broken_factory_is_one_message_and_nothing_is_stored(study_folder):
    module = model_module(study_folder)
    for function, message in [("ten_outputs", "returns outputs of shape [2, 10]"),
                              ("nothing", f"module '{module}' (")]:
        path = own_study(study_folder, module, model=f"{module}:{function}", model_kwargs={})
        result = invoke("run", path)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert message in result.output
    assert not (study_folder / "studies.db").exists()


def test_validate_imports_the_factory_and_checks_the_folder(study_folder):
    module = model_module(study_folder)
    result = invoke("validate", own_study(study_folder, module))
    assert result.exit_code == 0, result.output
    assert "(that needs torch)" in result.output
    result = invoke("validate", own_study(study_folder, "no_such_models_xyz", data={
        "dataset": "imagefolder", "root": "nowhere"}))
    assert result.exit_code == 1 and "2 problems" in result.output
    assert "model: got 'no_such_models_xyz:tiny'; no module 'no_such_models_xyz'" in \
        result.output
    assert "data.root: got 'nowhere';" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("server_url", ["postgresql"], indirect=True)
def test_workers_import_the_model_from_the_study_folder(study_folder, server_url):
    from lrsearch.config import load_study
    from lrsearch.launch import run_workers

    module = starting_together(study_folder, 2)  # each worker takes a trial
    config = load_study(own_study(study_folder, module, n_trials=4), {"storage": server_url})
    summary, code = run_workers(config, 2, progress="off")
    # Workers stop once finished + running trials reach n_trials; two deciding at the same
    # moment may add one (the documented contract: tests/search/test_study_servers.py).
    assert code == 0 and 4 <= summary.complete + summary.pruned <= 5
    study = optuna.load_study(study_name="tiny", storage=server_url)
    assert study_records(study)[MODEL_ATTR].startswith(f"{module}:tiny(num_classes=3, width=8)")
    assert len({t.user_attrs["worker"]["pid"] for t in study.trials}) == 2


DATA_MODULE = '''
import torch


def colours(root=None):
    """Two classes: dark and bright images, 8x8."""
    generator = torch.Generator().manual_seed(0)
    y = torch.arange(96) % 2
    x = (torch.rand(96, 3, 8, 8, generator=generator) * 100 + 120 * y.view(-1, 1, 1, 1))
    return (x.to(torch.uint8)[:80], y[:80]), (x.to(torch.uint8)[80:], y[80:])
'''


def test_a_data_function_and_own_model_run_and_find_lr(study_folder):
    module, data_module = model_module(study_folder), model_module(study_folder, DATA_MODULE)
    path = own_study(study_folder, module, n_trials=1,
                     data={"dataset": f"{data_module}:colours", "val_size": 16})
    result = invoke("run", path, "--quiet")
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{study_folder / 'studies.db'}")
    assert study_records(study)[DATA_ATTR].startswith(f"{data_module}:colours ({data_module}:"
                                                  f"colours()): 64 train / 16 val / 16 test "
                                                  f"images of 3x8x8, 2 classes")
    result = invoke("find-lr", path, "--steps", 10, "--quiet", "--out", study_folder / "lr")
    assert result.exit_code == 0, result.output
    assert "10 of 10 steps" in result.output
