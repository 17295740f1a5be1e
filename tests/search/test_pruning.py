"""The pruning policy without training: points to epochs, the default judge, what is reported."""

from __future__ import annotations

import optuna
import pytest

from lrsearch.config import PrunerConfig, parse_study
from lrsearch.search import (
    Objective,
    SearchSpace,
    build_pruner,
    pruning_epochs,
    reported_kind,
    resolve_judge,
)


@pytest.mark.parametrize("pruner, epochs, expected", [
    ({}, 6, (2, 4)),
    ({}, 30, (10, 20)),
    ({}, 5, (2, 3)),                                  # 1.67 -> 2, 3.33 -> 3
    ({"at_progress": [0.5, 2 / 3]}, 3, (2,)),         # 2.0 -> 2 and 2.5 -> 3 (halves up) = last
    ({}, 1, ()),                                      # the last epoch is never a point
    ({"at_progress": [0.9, 0.05]}, 10, (1, 9)),       # sorted, at least epoch 1
    ({"at_progress": [0.25, 0.5], "min_progress": 0.5}, 8, (4,)),
    ({"name": "none"}, 6, ()),
])
def test_points_map_to_the_nearest_epoch_before_the_last(pruner, epochs, expected):
    assert pruning_epochs(PrunerConfig(**pruner), epochs) == expected


def test_probe_is_the_default_for_several_families_only():
    several = parse_study({"name": "d", "search_space": {"families": ["cosine", "wsd"]}})
    one = parse_study({"name": "d", "search_space": {"families": ["cosine"]}})
    assert resolve_judge(several.pruner, 2) == "probe"
    assert resolve_judge(one.pruner, 1) == "raw"
    forced = parse_study({"name": "d", "pruner": {"judge": "raw"}})
    assert resolve_judge(forced.pruner, 5) == "raw"
    assert reported_kind(PrunerConfig(name="none", judge="probe"), 5) == "raw"


def _objective(pruner: dict, families: list[str]) -> Objective:
    config = parse_study({"name": "d", "training": {"epochs": 6}, "pruner": pruner,
                          "search_space": {"families": families}})
    return Objective(config, SearchSpace.from_config(config), data=None)


def test_objective_probes_at_the_points_only_when_judging_by_probe():
    probing = _objective({}, ["cosine", "step"])
    assert probing.judge == "probe" and probing.probe.epochs == (2, 4)
    assert probing.probe.frac == 0.1
    assert _objective({}, ["cosine"]).probe is None  # one family: raw, no probe
    assert _objective({"name": "none"}, ["cosine", "step"]).probe is None  # no cost at all
    row = {"epoch": 4, "val_acc": 0.5, "probe_val_acc": 0.6}
    assert probing._judged_value(row) == 0.6
    assert probing._judged_value({"epoch": 1, "val_acc": 0.5, "probe_val_acc": None}) is None
    assert _objective({"judge": "raw"}, ["cosine", "step"])._judged_value(row) == 0.5


def test_pruners_warm_up_until_the_first_point():
    pruner = build_pruner(PrunerConfig(at_progress=[0.5, 0.75]), epochs=8)
    assert isinstance(pruner, optuna.pruners.MedianPruner)
    assert pruner._n_warmup_steps == 4
