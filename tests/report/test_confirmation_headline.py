"""The confirmation's headline: choices made by validation, as the search made them."""

from __future__ import annotations

from lrsearch.report import confirmation_headline, extract_confirmation


def _runs(rows, seeds=(1, 2, 3)):
    return {"seeds": list(seeds), "metric": "val_acc", "runs": [
        {"trial": trial, "label": label, "baseline": baseline, "seed": s, "search_value": val,
         "test_acc": test + 0.002 * s} for trial, label, baseline, val, test in rows
        for s in seeds]}


ROWS = [(4, "trial 4 (wsd)", None, 0.61, 0.600),       # best by validation
        (7, "trial 7 (cosine)", None, 0.60, 0.640),    # best by test: a second winner's curse
        (0, "cosine", "cosine", 0.59, 0.590),          # the baseline best by validation
        (1, "step", "step", 0.55, 0.620)]              # a baseline that tests better


def test_winner_and_reference_are_chosen_by_validation_not_by_test():
    data = extract_confirmation(_runs(ROWS))
    assert data.rows[0].label == "trial 7 (cosine)"  # the table: by test mean, exploratory
    assert data.headline.label == "trial 4 (wsd)" and data.reference == "cosine"
    assert round(data.headline.margin.mean, 6) == 0.01
    assert "over cosine (the baseline best by validation): +0.0100, 95% interval" in \
        confirmation_headline(data)


def test_fewer_than_three_seeds_are_flagged_as_giving_no_interval():
    data = extract_confirmation(_runs(ROWS, seeds=(1, 2)))
    assert data.headline.margin.half_width is None
    assert "no interval (fewer than 3 seeds; run with --seeds 3 or more)" in \
        confirmation_headline(data)
