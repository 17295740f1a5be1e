"""The paired statistics of a confirmation, checked against scipy's t intervals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lrsearch.records import paired_margin, summarise_values, t_quantile_975


@pytest.mark.parametrize("n", [3, 10, 31, 40])
def test_interval_is_scipys_t_interval_for_any_number_of_seeds(n):
    values = list(np.random.default_rng(n).normal(0.7, 0.02, size=n))
    summary = summarise_values(values)
    low, high = stats.t.interval(0.95, n - 1, loc=np.mean(values), scale=stats.sem(values))
    assert summary.mean == pytest.approx(np.mean(values))
    assert summary.mean - summary.half_width == pytest.approx(low, rel=1e-12)
    assert summary.mean + summary.half_width == pytest.approx(high, rel=1e-12)


def test_the_quantile_past_thirty_degrees_is_not_the_normal_ones():
    assert t_quantile_975(31) == pytest.approx(2.0395, abs=1e-4)  # not 1.96


def test_paired_margin_is_the_t_interval_of_the_differences():
    rng = np.random.default_rng(0)
    shared = rng.normal(0, 0.02, size=5)  # the noise both schedules of a seed share
    schedule = {s: 0.71 + n + rng.normal(0, 0.002) for s, n in enumerate(shared)}
    baseline = {s: 0.70 + n for s, n in enumerate(shared)}
    differences = [schedule[s] - baseline[s] for s in schedule]
    margin = paired_margin(schedule, baseline)
    low, high = stats.t.interval(0.95, 4, loc=np.mean(differences),
                                 scale=stats.sem(differences))
    assert (margin.mean - margin.half_width, margin.mean + margin.half_width) == \
        pytest.approx((low, high), rel=1e-12)
    assert stats.ttest_rel(list(schedule.values()), list(baseline.values())).pvalue < 0.05
    flipped = paired_margin(schedule, baseline, sign=-1.0)  # lower is better: a negative margin
    assert flipped.mean == pytest.approx(-margin.mean)


def test_fewer_than_three_seeds_give_no_interval():
    assert summarise_values([0.7]).half_width is None
    two = summarise_values([0.70, 0.72])
    assert two.std == pytest.approx(np.std([0.70, 0.72], ddof=1)) and two.half_width is None
    assert paired_margin({1: 0.71, 2: 0.73}, {1: 0.70, 2: 0.71}).half_width is None
