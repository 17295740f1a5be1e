"""One damaged JSON value inside a real SQLite study: every command names it in one line."""

from __future__ import annotations

import re
import sqlite3

import pytest
from click.testing import CliRunner

from lrsearch.cli import main
from tests.search.conftest import write_study

pytestmark = pytest.mark.slow


def test_a_damaged_value_is_named_with_its_trial_and_the_sql_that_removes_it(tmp_path):
    path = write_study(tmp_path, n_trials=2)
    assert CliRunner().invoke(main, ["run", str(path), "--quiet"]).exit_code == 0
    database = tmp_path / "studies.db"
    with sqlite3.connect(database) as connection:  # what SQLite's quick_check does not see
        connection.execute("UPDATE trial_user_attributes SET value_json = '{\"family\": \"co' "
                           "WHERE key = 'schedule' AND trial_id = (SELECT trial_id FROM trials "
                           "WHERE number = 1)")
    url = f"sqlite:///{database}"
    for args in (["report", "--storage", url, "--study", "tiny", "--out",
                  str(tmp_path / "r.html")],
                 ["export", "--storage", url, "--study", "tiny", "--out", str(tmp_path)],
                 ["run", str(path), "--n-trials", "3"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and len(result.output.splitlines()) <= 3
        assert "the attribute 'schedule' of trial 1 is not valid JSON" in result.output
    sql = re.search(r"(DELETE FROM \w+ WHERE \w+ = \d+);", result.output).group(1)
    with sqlite3.connect(database) as connection:
        connection.execute(sql)
    result = CliRunner().invoke(main, ["report", "--storage", url, "--study", "tiny",
                                       "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
