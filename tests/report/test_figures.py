"""What the figures draw: every trial visible, axes that fit, labels that do not collide."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState, create_trial

from lrsearch.report import build_panels, extract_report
from lrsearch.report._figures import history_figure, intermediate_figure
from lrsearch.report._pruning_figures import rank_bias_figure, survivors_note
from tests.report._studies import make_study


def _rows(values: list[float]) -> list[dict]:
    return [{"epoch": e, "step": 10 * e, "val_acc": v} for e, v in enumerate(values, start=1)]


def _pruned_at_first_point_study() -> optuna.Study:
    """Complete trials of 2 epochs, and trials pruned at their first (only) report."""
    study = optuna.create_study(direction="maximize")
    for number in range(6):
        final = 0.5 + 0.05 * number
        study.add_trial(create_trial(value=final, intermediate_values={1: 0.4 + 0.01 * number,
                                                                       2: final},
                                     user_attrs={"epochs": _rows([0.4 + 0.01 * number, final])}))
    for _ in range(3):
        study.add_trial(create_trial(state=TrialState.PRUNED, intermediate_values={1: 0.1},
                                     user_attrs={"epochs": _rows([0.1])}))
    return study


def test_a_trial_pruned_at_its_only_point_is_drawn():
    data = extract_report(_pruned_at_first_point_study(), importances=False)
    figure = intermediate_figure(data)
    pruned = next(t for t in figure.data if t.name == "pruned")
    assert "markers" in pruned.mode  # one point and no line would draw nothing
    assert [x for x in pruned.x if x is not None] == [1, 1, 1]
    assert figure.layout.xaxis.dtick == 1  # whole epochs, not ticks at 1.5


def test_lr_curves_ticks_whole_epochs():
    from lrsearch.report._figures import lr_curves_figure

    data = extract_report(_pruned_at_first_point_study(), importances=False)
    assert lr_curves_figure(data).layout.xaxis2.dtick == 1


def test_pruning_bias_axis_is_the_fraction_of_training_even_with_one_point():
    data = extract_report(_pruned_at_first_point_study(), importances=False)
    assert [c.progress for c in data.rank_bias] == [[0.5]]  # a single point
    figure = rank_bias_figure(data)
    assert list(figure.layout.xaxis.range) == [0, 1]


def test_history_names_baselines_in_the_legend_not_as_text_on_the_plot():
    data = extract_report(make_study(None, n_trials=20), importances=False)
    figure = history_figure(data)
    assert not any("text" in (t.mode or "") for t in figure.data)  # no overlapping labels
    named = [t for t in figure.data if (t.name or "").startswith("baseline ")]
    assert [t.name for t in named] == ["baseline cosine", "baseline step-50-75",
                                       "baseline schedulefree"]
    assert len({t.marker.symbol for t in named}) == 3  # told apart in the legend
    assert all("baseline" in t.hovertemplate for t in named)


def test_pruning_panels_say_they_show_survivors():
    data = extract_report(_pruned_at_first_point_study(), importances=False)
    panels = {p.key: p for p in build_panels(data)}
    note = panels["rank-bias"].note
    assert "6 trials that ran to the end (of 9)" in note and "3 pruned" in note
    assert "survivors" in note
    unpruned = extract_report(make_study(None, n_trials=4), importances=False)
    assert survivors_note(unpruned) == ("The 4 trials that ran to the end (of 4; none was "
                                        "pruned).")
