"""The public API of a spec: construction, serialisation, horizon transfer, the torch adapter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

import lrsearch
from lrsearch.schedules import ScheduleSpec, get_family, list_families

COSINE = ScheduleSpec("cosine", peak_lr=0.1, total_steps=1000, warmup_frac=0.05,
                      params={"final_ratio": 0.0})


def test_import_loads_no_heavy_dependency():
    code = ("import sys, lrsearch, lrsearch.schedules; "
            "print([m for m in ('torch', 'optuna', 'plotly', 'pydantic') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_with_total_steps_keeps_the_shape():
    longer = COSINE.with_total_steps(30_000)
    for fraction in (0.0, 0.05, 0.3, 0.5, 0.9, 1.0):
        assert longer.lr(round(fraction * 30_000)) == pytest.approx(
            COSINE.lr(round(fraction * 1000)), rel=1e-9, abs=1e-15)
    assert COSINE.total_steps == 1000  # frozen: a new spec was returned


def test_spec_is_frozen():
    with pytest.raises(AttributeError):
        COSINE.peak_lr = 1.0
    with pytest.raises(TypeError):
        COSINE.params["final_ratio"] = 0.5


def test_save_and_load(tmp_path):
    path = tmp_path / "best_schedule.json"
    COSINE.save(path)
    assert json.loads(path.read_text())["format"] == "lrsearch.schedule/1"
    assert lrsearch.load_spec(path) == COSINE
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"schedule": COSINE.to_dict(), "optimizer": {"name": "sgd"}}))
    assert lrsearch.load_spec(export) == COSINE


def test_past_the_end_holds_the_last_value():
    for family in ("cosine", "linear", "onecycle", "cosine_restarts"):
        info = get_family(family)
        spec = ScheduleSpec(family, peak_lr=1.0, total_steps=50, params=info.defaults())
        last = spec.lr(50 if family != "onecycle" else 49)
        assert [spec.lr(s) for s in (50, 51, 500)] == [last] * 3


def test_list_families_describes_every_parameter():
    families = list_families()
    assert [f.name for f in families] == [
        "constant", "step", "multistep", "exponential", "poly", "linear", "cosine",
        "cosine_restarts", "onecycle", "cyclic", "wsd", "piecewise", "plateau"]
    for info in families:
        # the defaults form a valid spec, and each search range lies inside the valid range
        ScheduleSpec(info.name, peak_lr=0.1, total_steps=100, params=info.defaults())
        for param in info.params:
            assert param.help and param.rule().startswith("must")
            search = param.search
            if search.choices is not None:
                assert set(search.choices) <= set(param.choices or (False, True))
            elif param.kind in ("float", "int"):
                assert param.low <= search.low < search.high <= param.high, param


def test_to_torch_overrides_a_leftover_initial_lr():
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)  # leaves initial_lr = 0.5
    scheduler = COSINE.to_torch(optimizer, total_steps=100)
    assert optimizer.param_groups[0]["initial_lr"] == pytest.approx(0.1)
    assert scheduler.base_lrs == [pytest.approx(0.1)]
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(COSINE.with_total_steps(100).lr(5))


def test_per_layer_lrs_keep_their_ratio():
    backbone, head = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam([{"params": backbone.parameters(), "lr": 1e-3},
                                  {"params": head.parameters(), "lr": 1e-2}])
    COSINE.to_torch(optimizer)
    assert [g["lr"] for g in optimizer.param_groups] == [0.0, 0.0]  # warm-up starts at 0
    spec = COSINE.with_total_steps(10).__class__("constant", peak_lr=0.3, total_steps=10)
    spec.to_torch(optimizer)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.3, 3.0])


def test_exported_code_rejects_a_length_too_short_for_the_warmup():
    namespace = {}
    spec = ScheduleSpec("linear", peak_lr=0.1, total_steps=100, warmup_frac=0.6,
                        params={"final_ratio": 0.0})
    exec(spec.to_torch_code(), namespace)
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    with pytest.raises(ValueError, match="total_steps"):
        namespace["build_scheduler"](optimizer, 1)
    scheduler = namespace["build_scheduler"](optimizer, 40)
    assert isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR)
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"total_steps": 40}]  # the callable object is saved


def test_cli_families_and_show(tmp_path):
    from click.testing import CliRunner

    from lrsearch.cli import main

    result = CliRunner().invoke(main, ["families"])
    assert result.exit_code == 0 and "onecycle" in result.output and "OneCycleLR" in result.output
    path = tmp_path / "spec.json"
    COSINE.save(path)
    result = CliRunner().invoke(main, ["show", str(path), "--code", "--steps", "500"])
    assert result.exit_code == 0 and "def build_scheduler(optimizer, total_steps)" in result.output
    result = CliRunner().invoke(main, ["show", str(path), "--steps", "500"])
    lines = result.output.splitlines()
    assert result.exit_code == 0 and lines[0] == f"cosine, peak_lr {COSINE.peak_lr:g}, 500 steps"
    assert lines[1].startswith(f"{COSINE.peak_lr:.3g} |") and lines[8].startswith("0")
    assert f"step 250 (50%): {COSINE.with_total_steps(500).lr(250):.4g}" in lines[10]
    assert json.loads("\n".join(lines[11:]))["total_steps"] == 500
    # A spec of fewer steps than the sketch has columns still draws every column.
    result = CliRunner().invoke(main, ["show", str(path), "--steps", "48"])
    rows = [line.split("|")[1] for line in result.output.splitlines()[1:9]]
    assert [sum(row[c] == "*" for row in rows) for c in range(60)] == [1] * 60
    path.write_text(json.dumps({**COSINE.to_dict(), "peak_lr": "fast"}))
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 1
    assert "peak_lr: got 'fast'; must be a number > 0" in result.output
    assert "Traceback" not in result.output


def test_onecycle_with_a_zero_length_phase_is_defined_where_torch_divides_by_zero():
    params = {"pct_start": 0.1, "div_factor": 10.0, "final_div_factor": 100.0, "anneal": "linear",
              "three_phase": False}
    spec = ScheduleSpec("onecycle", peak_lr=1.0, total_steps=10, params=params)  # 0.1 * 10 == 1
    with pytest.raises(ZeroDivisionError):
        torch.optim.lr_scheduler.OneCycleLR(
            torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=1.0), max_lr=1.0,
            total_steps=10, pct_start=0.1, anneal_strategy="linear", div_factor=10.0,
            final_div_factor=100.0, cycle_momentum=False)
    # the rising phase has zero length: step 0 is already the peak, then a linear fall
    assert [spec.lr(k) for k in (0, 9)] == [1.0, pytest.approx(0.001)]
    assert spec.lr(5) == pytest.approx(1.0 + (0.001 - 1.0) * 5 / 9)


def test_specs_are_hashable_and_equal_specs_hash_equal():
    same = ScheduleSpec.from_dict(json.loads(COSINE.to_json()))
    assert same is not COSINE and hash(same) == hash(COSINE)
    assert len({COSINE, same, COSINE.with_total_steps(10)}) == 2
    negative_zero = ScheduleSpec("linear", peak_lr=0.1, total_steps=10,
                                 params={"final_ratio": -0.0})
    zero = ScheduleSpec("linear", peak_lr=0.1, total_steps=10, params={"final_ratio": 0})
    assert negative_zero == zero and hash(negative_zero) == hash(zero)
    knots = ScheduleSpec("piecewise", peak_lr=0.1, total_steps=10,
                         params={"knots": [[0, 1], [0.5, 0.2], [1, 0]]})
    assert hash(knots) == hash(ScheduleSpec.from_dict(knots.to_dict()))


def test_specs_pickle_and_deepcopy():
    import copy
    import pickle

    assert pickle.loads(pickle.dumps(COSINE)) == COSINE
    assert copy.deepcopy(COSINE) == COSINE


def test_numpy_scalars_are_accepted_and_stored_as_plain_numbers():
    np = pytest.importorskip("numpy")
    spec = ScheduleSpec("multistep", peak_lr=np.float32(0.5), total_steps=np.int64(100),
                        warmup_frac=np.float64(0.1), warmup_start=np.float32(0.0),
                        params={"milestones": [np.float64(0.5), np.float32(0.75)],
                                "gamma": np.float32(0.5)})
    assert spec.lr(np.int64(60)) == spec.lr(60) == pytest.approx(0.25)
    assert spec.multiplier(np.int32(0)) == 0.0
    assert [type(v) for v in (spec.peak_lr, spec.total_steps, spec.warmup_start,
                              spec.params["gamma"])] == [float, int, float, float]
    assert json.loads(json.dumps(spec.to_dict())) == spec.to_dict()
    cosine = ScheduleSpec("cosine", peak_lr=0.1, total_steps=10,
                          params={"final_ratio": np.float32(0.0)})
    assert cosine.params["final_ratio"] == 0.0
    with pytest.raises(lrsearch.SpecError, match="step: got"):
        cosine.lr(np.float64(3.0))


def test_warmup_defaults_and_rules_come_from_one_place():
    from lrsearch.schedules import (
        WARMUP_FRAC,
        WARMUP_FRAC_DEFAULT,
        WARMUP_START,
        WARMUP_START_DEFAULT,
    )

    spec = ScheduleSpec("constant", peak_lr=0.1, total_steps=10)
    assert (spec.warmup_frac, spec.warmup_start) == (WARMUP_FRAC_DEFAULT, WARMUP_START_DEFAULT)
    from_dict = ScheduleSpec.from_dict({"family": "constant", "peak_lr": 0.1, "total_steps": 10})
    assert from_dict == spec
    assert WARMUP_FRAC.default == WARMUP_FRAC_DEFAULT and WARMUP_FRAC.rule() == \
        "must be a number in [0, 1)"
    assert WARMUP_START.default == WARMUP_START_DEFAULT and WARMUP_START.rule() == \
        "must be a number in [0, 1]"
    with pytest.raises(lrsearch.SpecError) as caught:
        ScheduleSpec("constant", peak_lr=0.1, total_steps=10, warmup_frac=1.0, warmup_start=2)
    assert caught.value.problems == [f"warmup_frac: got 1.0; {WARMUP_FRAC.rule()}",
                                     f"warmup_start: got 2; {WARMUP_START.rule()}"]


def test_to_torch_refuses_a_first_group_without_a_positive_lr():
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.0)
    with pytest.raises(lrsearch.SpecError) as caught:
        COSINE.to_torch(optimizer)
    [problem] = caught.value.problems
    assert problem.startswith("optimizer.param_groups[0]['lr']: got 0.0; must be > 0")
    assert "ratio" in problem
