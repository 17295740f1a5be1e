"""``peak_lr: auto`` and the ``lr_range_test`` section of a study file."""

from __future__ import annotations

import pytest

from lrsearch.config import AUTO, RANGE_TEST_RULES, LrRangeTestConfig, parse_study
from lrsearch.errors import ConfigError


def problems_of(data) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_study({"name": "d", **data})
    return caught.value.problems


def test_auto_for_all_optimizers_or_one():
    config = parse_study({"name": "d", "search_space": {"peak_lr": "auto"}})
    assert config.search_space.peak_lr == AUTO
    config = parse_study({"name": "d", "search_space": {"optimizers": {
        "sgd": {"peak_lr": "auto"}, "adamw": None}}})
    assert config.search_space.optimizers["sgd"].peak_lr == AUTO
    # YAML reads 1e-3 (no dot) as a string: it is still a number.
    assert parse_study({"name": "d", "search_space": {"peak_lr": "1e-3"}}).search_space.peak_lr \
        == 0.001


def test_a_wrong_word_names_what_is_accepted():
    assert problems_of({"search_space": {"optimizers": {"sgd": {"peak_lr": "automatic"}}}}) == [
        "search_space.optimizers.sgd.peak_lr: got 'automatic'; must be a number, a range "
        "{low, high, log} or 'auto'"]


def test_every_range_test_problem_is_listed():
    problems = problems_of({"lr_range_test": {"start_lr": 1.0, "end_lr": 0.5, "num_steps": 5000,
                                              "smooth_beta": 1.0, "rule": "fastest",
                                              "width": 1.0, "colour": "red"}})
    assert len(problems) == 6, problems
    assert "lr_range_test.end_lr: got 0.5; must be > start_lr (1)" in problems
    assert any(p.startswith("lr_range_test.num_steps: got 5000") for p in problems)
    assert any(p.startswith("lr_range_test.rule: got 'fastest'") and "'valley'" in p
               for p in problems)
    assert any(p.startswith("lr_range_test.colour: unknown key") and "width" in p
               for p in problems)


def test_a_baseline_cannot_fix_an_auto_peak_lr():
    assert problems_of({"search_space": {"peak_lr": "auto", "families": ["cosine"]},
                        "baselines": [{"name": "b", "family": "cosine", "peak_lr": 0.1}]}) == [
        "baselines.0.peak_lr: got 0.1; must be left out when the peak_lr of 'sgd' is auto (its "
        "range is known only after the LR range test)"]
    parse_study({"name": "d", "search_space": {"peak_lr": "auto", "families": ["cosine"]},
                 "baselines": [{"name": "b", "family": "cosine"}]})


def test_the_study_section_is_the_range_tests_own_settings():
    train = pytest.importorskip("lrsearch.train")
    assert issubclass(LrRangeTestConfig, train.RangeTestSettings)
    assert LrRangeTestConfig(width=4.0).settings() == train.RangeTestSettings()
    assert set(RANGE_TEST_RULES) == set(train.RULES)  # a function for every rule a study names
