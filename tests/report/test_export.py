"""``lrsearch export`` and ``lrsearch.load_best``: the winner as a spec and as plain PyTorch."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import optuna
import pytest
import torch
from click.testing import CliRunner

import lrsearch
from lrsearch.cli import main
from lrsearch.errors import LrsearchError
from lrsearch.records import set_study_record, trial_epochs, with_curves
from lrsearch.report import export_best, load_report_study, optimizer_code
from lrsearch.search import redact_url
from lrsearch.train import OptimizerSettings, build_optimizer
from lrsearch.train._networks import build_model
from tests.report._studies import make_study

# Runs an exported best_schedule.py with lrsearch unimportable; prints group 0's LR per step.
_RUN_EXPORTED = """
import json, sys
sys.modules["lrsearch"] = None
import torch
namespace = {"__name__": "best_schedule"}
exec(open(sys.argv[1]).read(), namespace)
model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                            torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 10))
optimizer = namespace["build_optimizer"](model)
scheduler = namespace["build_scheduler"](optimizer, total_steps=int(sys.argv[2]))
lrs = []
for step in range(int(sys.argv[2])):
    lrs.append(optimizer.param_groups[0]["lr"])
    optimizer.step()
    scheduler.step()
print(json.dumps({"lrs": lrs, "optimizer": type(optimizer).__name__,
                  "groups": [g["name"] for g in optimizer.param_groups]}))
"""


def export(url, study, out, *extra):
    return CliRunner().invoke(main, ["export", "--storage", url, "--study", study,
                                     "--out", str(out), *map(str, extra)])


def run_exported(path, total_steps):
    out = subprocess.run([sys.executable, "-c", _RUN_EXPORTED, str(path), str(total_steps)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_best_trial_exported_as_json_and_torch_only_code(synthetic_url, tmp_path):
    result = export(synthetic_url, "synthetic", tmp_path)
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "best_schedule.json").read_text())
    study = load_report_study(synthetic_url, "synthetic")
    best = study.best_trial
    assert document["source"]["trial"] == best.number
    assert document["source"]["value"] == best.value
    assert document["source"]["study"] == "synthetic"
    assert document["schedule"]["total_steps"] == 500  # laid onto the trial's real steps
    assert document["optimizer"]["momentum"] == 0.9  # the defaults the trial used, filled in
    spec = lrsearch.load_spec(tmp_path / "best_schedule.json")
    assert spec == lrsearch.load_best(synthetic_url, "synthetic")
    assert spec.to_dict() == document["schedule"]
    ran = run_exported(tmp_path / "best_schedule.py", 777)  # another length than the study's
    expected = [spec.with_total_steps(777).lr(step) for step in range(777)]
    assert ran["lrs"] == pytest.approx(expected, rel=1e-9, abs=1e-15)
    kind = {"sgd": "SGD", "ranger": "Lookahead"}[document["optimizer"]["name"]]
    assert ran["optimizer"] == kind and ran["groups"][0] == "backbone"


def test_other_trial_with_ranger_rebuilds_lookahead_radam(synthetic_url, tmp_path):
    study = load_report_study(synthetic_url, "synthetic")
    number = next(t.number for t in study.trials
                  if t.user_attrs["optimizer"]["name"] == "ranger"
                  and t.params["family"] != "plateau")
    assert export(synthetic_url, "synthetic", tmp_path, "--trial", number).exit_code == 0
    document = json.loads((tmp_path / "best_schedule.json").read_text())
    assert document["source"]["trial"] == number and document["optimizer"]["name"] == "ranger"
    spec = lrsearch.load_spec(tmp_path / "best_schedule.json")
    ran = run_exported(tmp_path / "best_schedule.py", 123)
    assert ran["optimizer"] == "Lookahead"
    assert ran["lrs"] == pytest.approx([spec.with_total_steps(123).lr(s) for s in range(123)],
                                       rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("name", ["sgd", "adam", "amsgrad", "adamw", "adamax", "radam",
                                  "ranger"])
def test_exported_optimizer_equals_lrsearchs(name):
    settings = {"name": name, "weight_decay": 0.01, "head_lr_mult": 3.0}
    namespace = {"PEAK_LR": 0.05}
    exec(optimizer_code(settings), namespace)
    torch.manual_seed(0)
    model = build_model("small_cnn", 10)
    ours = namespace["build_optimizer"](model)
    theirs = build_optimizer(model, OptimizerSettings(**settings), peak_lr=0.05)
    assert type(ours).__name__ == type(theirs).__name__
    inner = getattr(ours, "inner", ours)
    assert type(inner) is type(getattr(theirs, "inner", theirs))
    strip = [{k: v for k, v in g.items() if k != "params"} for g in ours.param_groups]
    assert strip == [{k: v for k, v in g.items() if k != "params"} for g in theirs.param_groups]
    assert [[id(p) for p in g["params"]] for g in ours.param_groups] == \
        [[id(p) for p in g["params"]] for g in theirs.param_groups]


def test_real_study_exports_its_real_length(real_url, tmp_path):
    assert export(real_url, "tiny", tmp_path).exit_code == 0
    document = json.loads((tmp_path / "best_schedule.json").read_text())
    study = load_report_study(real_url, "tiny")
    assert document["schedule"]["total_steps"] == trial_epochs(
        with_curves(study, [study.best_trial])[0])[-1]["step"]
    assert document["source"]["storage"].startswith("sqlite:///")


def test_the_only_study_needs_no_name_and_a_pruned_export_is_warned(real_url, tmp_path):
    result = CliRunner().invoke(main, ["export", "--storage", real_url, "--out", str(tmp_path)])
    assert result.exit_code == 0 and "warning" not in result.output
    study = load_report_study(real_url, None)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned, "the tiny study prunes"
    result = export(real_url, "tiny", tmp_path, "--trial", pruned[0].number)
    assert result.exit_code == 0
    assert f"warning: trial {pruned[0].number} is pruned (pruned after epoch" in result.output


def test_several_studies_need_a_name(tmp_path):
    from tests.report._studies import make_study

    url = f"sqlite:///{tmp_path / 'two.db'}"
    make_study(url, n_trials=3)
    optuna.create_study(storage=url, study_name="another")
    result = CliRunner().invoke(main, ["export", "--storage", url])
    assert result.exit_code == 1
    assert "holds 2 studies: ['another', 'synthetic']; name one with --study" in result.output


def test_no_complete_trial_and_unknown_trial_are_clear_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    study = optuna.create_study(storage=url, study_name="empty", direction="maximize")
    set_study_record(study, "config", {"name": "empty"})  # as `lrsearch run` made it
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED,
                                              intermediate_values={1: 0.1}))
    result = export(url, "empty", tmp_path)
    assert result.exit_code == 1 and "no complete trial" in result.output
    assert "Traceback" not in result.output
    with pytest.raises(LrsearchError, match="no complete trial"):
        lrsearch.load_best(url, "empty")
    result = export(url, "empty", tmp_path, "--trial", 5)
    assert result.exit_code == 1 and "trials 0..0" in result.output
    result = export(url, "empty", tmp_path, "--trial", 0)
    assert result.exit_code == 1 and "no schedule" in result.output


def test_source_storage_hides_the_password():
    study = make_study(None, n_trials=1)
    document = export_best(study, storage=redact_url("postgresql://me:secret@db/x")).document
    assert "secret" not in json.dumps(document)


def test_readme_plain_training_script_runs_on_a_real_export(real_url, tmp_path):
    # The README's "without lrsearch" example, run as written next to an exported file.
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in readme.split("```python\n")[1:]]
    script = next(b for b in blocks if "from best_schedule import" in b)
    assert export(real_url, "tiny", tmp_path).exit_code == 0
    (tmp_path / "train.py").write_text('import sys\nsys.modules["lrsearch"] = None\n' + script
                                       + '\nprint(optimizer.param_groups[0]["lr"], '
                                         'scheduler.last_epoch)\n')
    out = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    last_lr, steps = out.stdout.split()
    spec = lrsearch.load_spec(tmp_path / "best_schedule.json")
    assert int(steps) == 30 * 20  # the README's 30 epochs of 20 batches, not the study's
    assert float(last_lr) == pytest.approx(spec.with_total_steps(600).lr(600), rel=1e-9,
                                           abs=1e-15)


def test_plain_optuna_study_and_unwritable_out_are_clear_errors(synthetic_url, tmp_path):
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    study = optuna.create_study(storage=url, study_name="plain")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    result = export(url, "plain", tmp_path / "out")
    assert result.exit_code == 1 and "was not made by `lrsearch run`" in result.output
    assert isinstance(result.exc_info[1], SystemExit)  # a message, not a traceback
    assert not (tmp_path / "out").exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = export(synthetic_url, "synthetic", blocker / "sub")
    assert result.exit_code == 1 and f"cannot write the export into {blocker / 'sub'}" in \
        result.output
    assert isinstance(result.exc_info[1], SystemExit)


def _imports(code: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module.split(".")[0])
    return modules


def test_exported_docstring_names_what_the_file_imports(synthetic_url, tmp_path):
    assert export(synthetic_url, "synthetic", tmp_path / "best").exit_code == 0
    code = (tmp_path / "best" / "best_schedule.py").read_text()
    assert _imports(code) - set(sys.stdlib_module_names) == {"torch"}
    assert "nothing but torch and\nthe standard library" in ast.get_docstring(ast.parse(code))
    study = load_report_study(synthetic_url, "synthetic")
    preset = next(t.number for t in study.trials if t.user_attrs.get("baseline") ==
                  "schedulefree")
    assert export(synthetic_url, "synthetic", tmp_path / "sf", "--trial", preset).exit_code == 0
    code = (tmp_path / "sf" / "best_schedule.py").read_text()
    assert _imports(code) - set(sys.stdlib_module_names) == {"torch", "schedulefree"}
    docstring = ast.get_docstring(ast.parse(code))
    assert "nothing but torch" not in docstring
    assert "schedulefree package (pip install\nschedulefree" in docstring
    namespace = {"__name__": "best_schedule"}
    exec(code, namespace)  # and it runs: a schedule-free optimizer under the schedule
    optimizer = namespace["build_optimizer"](torch.nn.Linear(3, 2))
    assert type(optimizer).__name__ == "SGDScheduleFree"
    namespace["build_scheduler"](optimizer, total_steps=100)
