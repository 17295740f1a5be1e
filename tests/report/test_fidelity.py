"""Pruning fidelity in the report: Kendall's tau, raw vs probe per point, the figure in the page."""

from __future__ import annotations

import itertools
import random

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from lrsearch.records import set_study_record
from lrsearch.report import (
    build_panels,
    extract_report,
    kendall_tau,
    load_report_study,
    render_report,
)

EPOCHS = 4


def _reference_tau(x, y):
    """Tau-b straight from its definition, pair by pair."""
    pairs = list(itertools.combinations(range(len(x)), 2))
    concordant = sum((x[i] - x[j]) * (y[i] - y[j]) > 0 for i, j in pairs)
    discordant = sum((x[i] - x[j]) * (y[i] - y[j]) < 0 for i, j in pairs)
    untied_x = sum(x[i] != x[j] for i, j in pairs)
    untied_y = sum(y[i] != y[j] for i, j in pairs)
    return (concordant - discordant) / (untied_x * untied_y) ** 0.5


def test_kendall_tau_b_matches_its_definition_with_ties():
    rng = random.Random(0)
    for n in (2, 5, 40, 300):
        x = [rng.randint(0, 6) for _ in range(n)]
        y = [rng.randint(0, 6) + xi for xi in x]
        assert kendall_tau(x, y) == pytest.approx(_reference_tau(x, y), abs=1e-12)
    assert kendall_tau([1, 1, 1], [1, 2, 3]) is None and kendall_tau([], []) is None
    with pytest.raises(ValueError, match="got 2 and 3 values"):
        kendall_tau([1, 2], [1, 2, 3])


def _trial(number: int, state: TrialState, raw: list[float], probe: dict[int, float],
           family: str):
    rows = [{"epoch": e, "step": 10 * e, "val_acc": v, "val_loss": 1.0,
             "probe_val_acc": probe.get(e), "probe_val_loss": None if e not in probe else 1.0}
            for e, v in enumerate(raw, start=1)]
    return create_trial(
        state=state, value=raw[-1] if state == TrialState.COMPLETE else None,
        params={"family": family},
        distributions={"family": CategoricalDistribution(("cosine", "wsd"))},
        intermediate_values=dict(probe), user_attrs={"epochs": rows})


def _probe_study() -> optuna.Study:
    """Three complete trials whose raw values at epoch 2 rank them backwards, probes right."""
    study = optuna.create_study(direction="maximize", study_name="probed")
    set_study_record(study, "config", {"metric": "val_acc", "training": {"epochs": EPOCHS},
                                   "pruner": {"judge": "probe"}})
    complete = TrialState.COMPLETE
    study.add_trials([
        _trial(0, complete, [0.3, 0.40, 0.5, 0.60], {2: 0.55, 3: 0.58}, "cosine"),
        _trial(1, complete, [0.3, 0.35, 0.5, 0.70], {2: 0.60, 3: 0.66}, "wsd"),
        _trial(2, complete, [0.3, 0.30, 0.4, 0.80], {2: 0.65, 3: 0.62}, "wsd"),
        _trial(3, TrialState.PRUNED, [0.3, 0.10], {2: 0.10}, "cosine"),  # not to the end
    ])
    return study


def test_fidelity_pairs_raw_and_probe_with_the_final_value_per_point():
    data = extract_report(_probe_study(), importances=False)
    assert [(p.epoch, p.progress) for p in data.fidelity] == [(2, 0.5), (3, 0.75)]
    at_2 = data.fidelity[0]
    assert at_2.numbers == [2, 1, 0]  # best first, pruned trial 3 left out
    assert at_2.raw == [0.30, 0.35, 0.40] and at_2.probe == [0.65, 0.60, 0.55]
    assert at_2.final == [0.8, 0.7, 0.6]
    assert (at_2.tau_raw, at_2.tau_probe) == (-1.0, 1.0)
    assert data.fidelity[1].tau_probe == pytest.approx(1 / 3)
    # The top trials' curves are the raw metric per epoch, not the (probe) reported values.
    assert data.top[0].metric.y == [0.3, 0.30, 0.4, 0.80]


def test_report_draws_the_fidelity_figure_or_says_why_not():
    data = extract_report(_probe_study(), importances=False)
    panels = {p.key: p for p in build_panels(data)}
    assert panels["fidelity"].figure is not None
    legend = [t.name for t in panels["fidelity"].figure.data if t.showlegend]
    assert legend[0] == "epoch 2 (50%): tau raw -1.00, probe +1.00"
    assert "probe val_acc at the pruning points" in panels["intermediate"].title
    page = render_report(data)
    assert "id='fidelity'" in page and "id=\"fig-fidelity\"" in page
    data.fidelity = []
    panels = {p.key: p for p in build_panels(data)}
    assert panels["fidelity"].figure is None and "no complete trial" in panels["fidelity"].note


@pytest.mark.slow
def test_a_real_probed_study_has_fidelity_points(real_url):
    data = extract_report(load_report_study(real_url, "tiny"), importances=False)
    assert [p.epoch for p in data.fidelity] == [1, 2]  # 3 epochs: points at epochs 1 and 2
    for point in data.fidelity:
        assert len(point.raw) == len(point.probe) == len(point.final) == data.counts["COMPLETE"]
