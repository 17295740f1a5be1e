"""A user's model, ``module:function``: found from the study's folder, built, checked, named."""

from __future__ import annotations

import pytest
import torch

from lrsearch.errors import TrainingError
from lrsearch.train import build_model, describe_model
from tests.own_code import model_module


def test_a_factory_is_built_from_the_study_folder_with_its_kwargs(tmp_path, monkeypatch):
    name = model_module(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the module is found in study_dir, not the working directory
    model = build_model(f"{name}:tiny", 3, {"width": 5}, study_dir=str(tmp_path))
    assert model[0].out_channels == 5 and model[-1].out_features == 3
    assert describe_model(f"{name}:tiny", {"width": 5}, str(tmp_path), (3, 16, 16), 3) == \
        f"{name}:tiny(num_classes=3, width=5) (168 parameters)"  # 140 + 10 + 18


def test_torchvision_models_are_factories_too():
    line = describe_model("torchvision.models:resnet18", {}, None, (3, 32, 32), 4)
    assert line.startswith("torchvision.models:resnet18(num_classes=4) (11,")


@pytest.mark.parametrize(("function", "message"), [
    ("nothing", "has no 'nothing'; its public callables: ['not_a_module', 'other', 'raises', "
                "'ten_outputs', 'tiny']"),
    ("NOT_A_FUNCTION", "'NOT_A_FUNCTION' in "),
    ("raises", ":raises(num_classes=3) raised RuntimeError: weights file not found"),
    ("not_a_module", ":not_a_module(num_classes=3) returned a str; must return a "
                     "torch.nn.Module"),
    ("ten_outputs", ":ten_outputs returns outputs of shape [2, 10] for 2 images of 3x16x16; "
                    "must return [2, 3] (one logit per class; the data has 3 classes)"),
])
def test_a_bad_factory_is_named(tmp_path, function, message):
    name = model_module(tmp_path)
    with pytest.raises(TrainingError, match="^model: ") as caught:
        describe_model(f"{name}:{function}", {}, str(tmp_path), (3, 16, 16), 3)
    assert message in str(caught.value)


def test_a_module_that_is_missing_or_fails_to_import_is_named(tmp_path):
    with pytest.raises(TrainingError, match=r"no module 'no_such_models_xyz' in the study's "
                                            r"folder .* nor on sys.path"):
        build_model("no_such_models_xyz:tiny", 3, study_dir=str(tmp_path))
    name = model_module(tmp_path, "import no_such_package_xyz\n")
    with pytest.raises(TrainingError, match=f"module '{name}' failed to import: "
                                            f"ModuleNotFoundError: No module named "
                                            f"'no_such_package_xyz'"):
        build_model(f"{name}:tiny", 3, study_dir=str(tmp_path))
    broken = model_module(tmp_path, "def tiny(:\n")
    with pytest.raises(TrainingError, match=f"module '{broken}' failed to import: SyntaxError"):
        build_model(f"{broken}:tiny", 3, study_dir=str(tmp_path))


def test_checking_the_outputs_leaves_the_model_as_it_was(tmp_path):
    name = model_module(tmp_path)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(f"{name}:tiny", 3, study_dir=str(tmp_path))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    from lrsearch.train._networks import check_outputs

    model.train()
    check_outputs(model, "m", (3, 16, 16), 3, torch.device("cpu"))
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
