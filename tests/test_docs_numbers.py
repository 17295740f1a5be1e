"""The docs' generated numbers match the last run of bench/docs_numbers.py, saved as JSON.

A hand edit of a generated block (a count, a time, a trial line) fails here: re-run the script
instead. No training: the blocks are rendered from bench/results/docs_numbers.json.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import docs_blocks  # noqa: E402

FIGURES = REPO / "bench" / "results" / "docs_numbers.json"


@pytest.fixture(scope="module")
def figures() -> dict:
    return json.loads(FIGURES.read_text())


def test_every_generated_block_is_what_the_saved_figures_render(figures):
    assert docs_blocks.out_of_sync(REPO, figures) == []


def test_a_hand_edited_number_is_caught(figures, tmp_path):
    for path in {path for path, _ in docs_blocks.BLOCKS.values()}:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text((REPO / path).read_text())
    readme = tmp_path / "README.md"
    study = figures["study"]
    counts = f"{study['complete']} complete, {study['pruned']} pruned"
    assert readme.read_text().count(counts) == 1
    readme.write_text(readme.read_text().replace(counts, f"99 complete, {study['pruned']} pruned"))
    assert docs_blocks.out_of_sync(tmp_path, figures) == [
        "README.md: block readme-output differs from what the saved figures render"]


def test_rendering_again_changes_nothing(figures):
    rendered = docs_blocks.render_blocks(figures)
    for path in {path for path, _ in docs_blocks.BLOCKS.values()}:
        text = (REPO / path).read_text()
        assert docs_blocks.apply_blocks(text, rendered) == text, path
