"""Bad specs: every kind of problem names the field, the value and the rule; all at once."""

from __future__ import annotations

import json

import pytest

from lrsearch import LrsearchError, SpecError, load_spec
from lrsearch.schedules import ScheduleSpec

GOOD = {"format": "lrsearch.schedule/1", "family": "cosine", "peak_lr": 0.1, "total_steps": 100,
        "warmup_frac": 0.05, "warmup_start": 0.0, "params": {"final_ratio": 0.0}}


def _problems(**changes) -> list[str]:
    data = {**GOOD, **changes}
    with pytest.raises(SpecError) as caught:
        ScheduleSpec.from_dict({k: v for k, v in data.items() if v is not _DROP})
    return caught.value.problems


_DROP = object()


def test_the_product_example_is_valid():
    spec = ScheduleSpec.from_dict(GOOD)
    assert spec.warmup_steps == 5 and spec.lr(5) == 0.1


def test_unknown_family_lists_the_known_ones():
    [problem] = _problems(family="cosin")
    assert problem.startswith("family: got 'cosin'; must be one of [")
    for name in ("constant", "cosine", "onecycle", "piecewise", "plateau"):
        assert repr(name) in problem


@pytest.mark.parametrize("field, value, rule", [
    ("peak_lr", 0, "must be a number > 0"),
    ("peak_lr", float("nan"), "must be a number > 0"),
    ("peak_lr", "0.1", "must be a number > 0"),
    ("total_steps", 0, "must be an integer >= 1"),
    ("total_steps", 10.5, "must be an integer >= 1"),
    ("warmup_frac", 1.0, "must be a number in [0, 1)"),
    ("warmup_start", -0.1, "must be a number in [0, 1]"),
    ("format", "lrsearch.schedule/2", "must be 'lrsearch.schedule/1'"),
])
def test_bad_top_level_field_names_field_value_and_rule(field, value, rule):
    [problem] = _problems(**{field: value})
    assert problem.startswith(f"{field}: got {value!r}")
    assert rule in problem


def test_missing_and_unknown_top_level_fields():
    problems = _problems(peak_lr=_DROP, lr=0.1)
    assert any(p.startswith("lr: got 0.1; unknown field") for p in problems)
    assert any(p.startswith("peak_lr: missing") for p in problems)


def test_every_problem_at_once_top_level_and_values_together():
    with pytest.raises(SpecError) as caught:
        ScheduleSpec.from_dict({"family": "cosine", "peak_lr": -1, "total_steps": 0,
                                "params": {"final_ratio": 2}, "bogus": 1})
    by_field = {p.split(":")[0]: p for p in caught.value.problems}
    assert set(by_field) == {"bogus", "peak_lr", "total_steps", "params.final_ratio"}
    assert by_field["bogus"].startswith("bogus: got 1; unknown field")
    assert by_field["peak_lr"] == "peak_lr: got -1; must be a number > 0"
    assert by_field["total_steps"] == "total_steps: got 0; must be an integer >= 1"
    assert by_field["params.final_ratio"] == \
        "params.final_ratio: got 2; must be a number in [0, 1]"


def test_a_wrong_format_hides_nothing():
    problems = _problems(format="x", family="cosin", warmup_frac=1.5, total_steps=_DROP,
                         extra=[1])
    by_field = {p.split(":")[0]: p for p in problems}
    assert set(by_field) == {"format", "family", "warmup_frac", "total_steps", "extra"}
    assert by_field["format"] == "format: got 'x'; must be 'lrsearch.schedule/1'"
    assert by_field["family"].startswith("family: got 'cosin'; must be one of [")
    assert by_field["total_steps"].startswith("total_steps: missing")
    assert "got 1.5" in by_field["warmup_frac"]


def test_not_an_object():
    with pytest.raises(SpecError, match=r"spec: got list; must be a JSON object"):
        ScheduleSpec.from_dict([GOOD])


def test_missing_unknown_and_out_of_range_params_all_at_once():
    problems = _problems(family="onecycle", params={
        "pct_start": 1.5, "div_factor": 25.0, "anneal": "cosine", "three_phase": "yes",
        "final_div": 1e4})
    by_field = {p.split(":")[0]: p for p in problems}
    assert set(by_field) == {"params.final_div", "params.final_div_factor", "params.pct_start",
                             "params.anneal", "params.three_phase"}
    assert by_field["params.final_div"].startswith(
        "params.final_div: got 10000.0; unknown parameter of 'onecycle'")
    assert "missing" in by_field["params.final_div_factor"]
    assert "got 1.5; must be a number in (0, 1)" in by_field["params.pct_start"]
    assert "must be one of ['cos', 'linear']" in by_field["params.anneal"]
    assert "must be true or false" in by_field["params.three_phase"]


@pytest.mark.parametrize("family, params, field", [
    ("multistep", {"milestones": [0.7, 0.3], "gamma": 0.1}, "params.milestones"),
    ("multistep", {"milestones": [], "gamma": 0.1}, "params.milestones"),
    ("multistep", {"milestones": [0.5, 1.0], "gamma": 0.1}, "params.milestones"),
    ("piecewise", {"knots": [[0, 1], [0.5, -0.1], [1, 0]]}, "params.knots"),
    ("piecewise", {"knots": [[0.1, 1], [1, 0]]}, "params.knots"),
    ("piecewise", {"knots": [[0, 1]]}, "params.knots"),
    ("cosine_restarts", {"cycles": 2, "cycle_mult": 1.5, "final_ratio": 0},
     "params.cycle_mult"),
    ("exponential", {"final_ratio": 0.0}, "params.final_ratio"),
    ("cyclic", {"base_ratio": 1.0, "cycles": 5, "up_frac": 0.5,
                "mode": "triangular", "gamma": 1.0}, "params.base_ratio"),
    ("cyclic", {"base_ratio": 0.1, "cycles": 5, "up_frac": 1.0,
                "mode": "triangular", "gamma": 1.0}, "params.up_frac"),
    ("plateau", {"factor": 1.0, "patience": 2, "threshold": 1e-4, "threshold_mode": "rel",
                 "cooldown": 0, "min_ratio": 0, "mode": "max"}, "params.factor"),
    ("onecycle", {"pct_start": 0.6, "div_factor": 25.0, "final_div_factor": 1e4,
                  "anneal": "cos", "three_phase": True}, "params.pct_start"),
])
def test_family_specific_rules(family, params, field):
    [problem] = _problems(family=family, params=params)
    assert problem.startswith(f"{field}: got ")
    assert "must" in problem


def test_warmup_must_leave_a_family_step():
    [problem] = _problems(total_steps=2, warmup_frac=0.9)
    assert problem.startswith("warmup_frac: got 0.9") and "at least one step" in problem


def test_onecycle_cross_parameter_rule_lives_in_the_registry():
    from lrsearch.schedules import get_family

    check = get_family("onecycle").cross_check
    assert check({"pct_start": 0.5, "three_phase": True})
    assert check({"pct_start": 0.49, "three_phase": True}) == []
    assert check({"pct_start": 0.7, "three_phase": False}) == []
    assert check({"three_phase": True}) == []  # pct_start itself was invalid: said already
    [problem] = _problems(family="onecycle", params={
        "pct_start": 0.5, "div_factor": 25.0, "final_div_factor": 1e4, "anneal": "cos",
        "three_phase": True})
    assert problem.startswith("params.pct_start: got 0.5; must be < 0.5 when three_phase")


def test_integral_floats_are_accepted_as_integers():
    spec = ScheduleSpec.from_dict({**GOOD, "total_steps": 100.0})
    assert spec.total_steps == 100 and isinstance(spec.total_steps, int)


def test_bad_steps_for_lr():
    spec = ScheduleSpec.from_dict(GOOD)
    for step in (-1, 1.5, True):
        with pytest.raises(SpecError, match="step: got"):
            spec.lr(step)


def test_plateau_has_no_lr_after_warmup():
    spec = ScheduleSpec("plateau", peak_lr=0.1, total_steps=10, warmup_frac=0.2, params={
        "factor": 0.1, "patience": 2, "threshold": 1e-4, "threshold_mode": "rel",
        "cooldown": 0, "min_ratio": 0.0, "mode": "min"})
    assert spec.lr(1) == pytest.approx(0.05)
    with pytest.raises(SpecError, match="follows the validation metric"):
        spec.lr(2)


def test_load_spec_reports_the_file(tmp_path):
    with pytest.raises(LrsearchError, match="no such file"):
        load_spec(tmp_path / "missing.json")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    with pytest.raises(LrsearchError, match="not valid JSON"):
        load_spec(bad_json)
    bad_spec = tmp_path / "bad_spec.json"
    bad_spec.write_text(json.dumps({**GOOD, "peak_lr": -1}))
    with pytest.raises(SpecError) as caught:
        load_spec(bad_spec)
    assert caught.value.problems == [f"{bad_spec}: peak_lr: got -1; must be a number > 0"]
