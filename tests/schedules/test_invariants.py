"""Invariants over every registered family: a new family is tested the moment it is registered."""

from __future__ import annotations

import io
import json
import math
import random
import subprocess
import sys
import textwrap

import pytest
import torch

from lrsearch.schedules import ScheduleSpec, get_family, list_families
from tests.schedules._draw import draw_spec, run_lrs

FAMILIES = [f.name for f in list_families()]
STEP_FAMILIES = [f.name for f in list_families() if not f.metric_driven]
DRAWS = 25


def _specs(family: str, draws: int = DRAWS, **kwargs) -> list[ScheduleSpec]:
    rng = random.Random(f"invariants-{family}")
    return [draw_spec(family, rng, **kwargs) for _ in range(draws)]


def _model_optimizer(lr: float = 0.5, head_lr: float | None = None):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    groups = [{"params": model[0].parameters()}]
    groups.append({"params": model[1].parameters(), "lr": head_lr or lr})
    return torch.optim.SGD(groups, lr=lr, momentum=0.9)


@pytest.mark.parametrize("family", STEP_FAMILIES)
def test_lr_is_finite_and_non_negative(family):
    for spec in _specs(family):
        for step in range(spec.total_steps + 3):
            lr = spec.lr(step)
            assert math.isfinite(lr) and lr >= 0, (spec, step, lr)


@pytest.mark.parametrize("family", FAMILIES)
def test_warmup_is_monotone_from_start_towards_the_peak(family):
    for spec in _specs(family):
        warmup = [spec.multiplier(s) for s in range(spec.warmup_steps)]
        if not warmup:
            continue
        assert warmup[0] == spec.warmup_start
        assert all(b >= a for a, b in zip(warmup, warmup[1:]))
        # the ramp's next value would be the peak: start + (1 - start) * W / W
        slope = (1.0 - spec.warmup_start) / spec.warmup_steps
        assert math.isclose(warmup[-1] + slope, 1.0, rel_tol=1e-12)


@pytest.mark.parametrize("family", ["constant", "step", "multistep", "exponential", "poly",
                                    "linear", "cosine", "cosine_restarts", "wsd"])
def test_decaying_families_start_at_the_peak_after_warmup(family):
    for spec in _specs(family):
        assert spec.lr(spec.warmup_steps) == pytest.approx(spec.peak_lr, rel=1e-12) or \
            family in ("step", "multistep")  # a milestone may round to step 0


@pytest.mark.parametrize("family", FAMILIES)
def test_json_round_trip_is_exact(family):
    for spec in _specs(family):
        text = json.dumps(spec.to_dict())
        again = ScheduleSpec.from_dict(json.loads(text))
        assert again == spec
        assert again.to_dict() == spec.to_dict()
        assert json.loads(text) == spec.to_dict()


@pytest.mark.parametrize("family", FAMILIES)
def test_to_dict_holds_plain_json_types_only(family):
    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or type(value) in (str, int, float, bool)

    for spec in _specs(family, draws=5):
        assert plain(spec.to_dict())


@pytest.mark.parametrize("family", STEP_FAMILIES)
def test_to_torch_equals_lr_and_keeps_group_ratios(family):
    for spec in _specs(family, draws=10):
        optimizer = _model_optimizer(lr=0.02, head_lr=0.05)  # head at 2.5x the backbone
        scheduler = spec.to_torch(optimizer)
        lrs = run_lrs(scheduler, optimizer, spec.total_steps + 2)
        for step, (backbone, head) in enumerate(lrs):
            assert backbone == pytest.approx(spec.lr(step), rel=1e-12, abs=1e-300)
            assert head == pytest.approx(2.5 * spec.lr(step), rel=1e-12, abs=1e-300)


def _save_and_load(state) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)  # plain data only


def _resume_points(spec: ScheduleSpec) -> set[int]:
    """The start, the end, the middle and, with a warm-up, a step inside it."""
    points = {0, spec.total_steps // 2, spec.total_steps}
    if spec.warmup_steps > 0:
        points.add(spec.warmup_steps // 2)
        points.add(spec.warmup_steps - 1)
    return points


@pytest.mark.parametrize("family", STEP_FAMILIES)
def test_state_dict_round_trip_mid_schedule(family):
    specs = _specs(family, draws=6)
    specs += [ScheduleSpec(family, peak_lr=0.3, total_steps=total, warmup_frac=frac,
                           warmup_start=0.25, params=spec.params)
              for total, frac, spec in ((1, 0.0, specs[0]), (2, 0.5, specs[1]),
                                        (3, 0.4, specs[2]), (40, 0.3, specs[3]))]
    inside_warmup = 0
    for spec in specs:
        for resume in sorted(_resume_points(spec)):
            optimizer = _model_optimizer(lr=0.02, head_lr=0.05)
            scheduler = spec.to_torch(optimizer)
            run_lrs(scheduler, optimizer, resume)
            saved = _save_and_load({"scheduler": scheduler.state_dict()})
            # A fresh optimizer and a scheduler built from a *different* spec: the state wins,
            # the optimizer's LRs included (its own state is not loaded here).
            fresh_opt = _model_optimizer(lr=1.0)
            restored = ScheduleSpec("constant", peak_lr=9.0, total_steps=3).to_torch(fresh_opt)
            restored.load_state_dict(saved["scheduler"])
            rest = run_lrs(restored, fresh_opt, spec.total_steps + 1 - resume)
            expected = [spec.lr(s) for s in range(resume, spec.total_steps + 2)]
            context = (spec, resume)
            assert [r[0] for r in rest] == pytest.approx(expected, rel=1e-12, abs=1e-300), context
            assert [r[1] for r in rest] == pytest.approx([2.5 * lr for lr in expected],
                                                         rel=1e-12, abs=1e-300), context
            inside_warmup += 0 < resume < spec.warmup_steps
    assert inside_warmup >= 2


def test_plateau_state_dict_round_trip_mid_schedule():
    spec = ScheduleSpec("plateau", peak_lr=0.1, total_steps=50, warmup_frac=0.2,
                        params={"factor": 0.5, "patience": 1, "threshold": 0.0,
                                "threshold_mode": "abs", "cooldown": 0, "min_ratio": 0.01,
                                "mode": "min"})
    metrics = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8]

    def drive(scheduler, optimizer, epochs):
        lrs = []
        for metric in epochs:
            for _ in range(5):
                optimizer.step()
                scheduler.step()
            scheduler.step(metric)
            lrs.append([group["lr"] for group in optimizer.param_groups])
        return lrs

    optimizer = _model_optimizer(lr=0.02, head_lr=0.05)
    scheduler = spec.to_torch(optimizer)
    full = drive(scheduler, optimizer, metrics)
    assert full[4][0] < full[2][0]  # it did reduce before the checkpoint
    assert full[-1][0] < full[4][0]  # and again after it
    for cut in (1, 5):  # inside the warm-up (10 steps) and after two reductions
        optimizer = _model_optimizer(lr=0.02, head_lr=0.05)
        scheduler = spec.to_torch(optimizer)
        first = drive(scheduler, optimizer, metrics[:cut])
        saved = _save_and_load(scheduler.state_dict())
        for field in ("steps_done", "peak_lrs", "warmup_steps", "warmup_start"):
            assert field in saved
        # Only the scheduler is restored, into one built for another length and peak: it must
        # put its LRs back into the optimizer itself.
        fresh_opt = _model_optimizer(lr=0.02, head_lr=0.05)
        restored = spec.with_total_steps(7).to_torch(fresh_opt)
        restored.load_state_dict(saved)
        assert [g["lr"] for g in fresh_opt.param_groups] == first[-1]
        assert first + drive(restored, fresh_opt, metrics[cut:]) == full, cut


_RUN_EXPORTED = textwrap.dedent("""
    import json, sys
    sys.modules["lrsearch"] = None          # lrsearch must not be importable here
    import torch
    results = []
    for job in json.loads(open(sys.argv[1]).read()):
        namespace = {}
        exec(compile(open(job["path"]).read(), job["path"], "exec"), namespace)
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
        optimizer = torch.optim.SGD([{"params": model[0].parameters()},
                                     {"params": model[1].parameters(), "lr": 1.5}], lr=0.5)
        scheduler = namespace["build_scheduler"](optimizer, job["total_steps"])
        lrs = [[g["lr"] for g in optimizer.param_groups]]
        metrics = job["metrics"]
        for step in range(job["steps"]):
            optimizer.step()
            scheduler.step()
            if metrics and (step + 1) % 5 == 0:
                scheduler.step(metrics[(step + 1) // 5 - 1])
            lrs.append([g["lr"] for g in optimizer.param_groups])
        results.append(lrs)
    print(json.dumps(results))
""")


def _export_jobs(tmp_path):
    """Three random specs per family with steps and metrics."""
    jobs = []
    for family in FAMILIES:
        rng = random.Random(f"export-{family}")
        for index in range(3):
            spec = draw_spec(family, rng, max_steps=120)
            steps = spec.total_steps + 2
            metrics = None
            if spec.info.metric_driven:
                metrics = [rng.choice([1.0, 0.9, 0.8]) for _ in range(steps // 5 + 1)]
            path = tmp_path / f"{family}_{index}_schedule.py"
            path.write_text(spec.to_torch_code())
            jobs.append({"family": family, "spec": spec, "path": str(path), "steps": steps,
                         "total_steps": spec.total_steps, "metrics": metrics})
    return jobs


@pytest.fixture(scope="module")
def exported_runs(tmp_path_factory):
    """Every family's exported code, run in ONE subprocess where lrsearch is not importable."""
    tmp_path = tmp_path_factory.mktemp("exported")
    jobs = _export_jobs(tmp_path)
    job_file = tmp_path / "jobs.json"
    job_file.write_text(json.dumps([{k: v for k, v in job.items() if k != "spec"}
                                    for job in jobs]))
    out = subprocess.run([sys.executable, "-c", _RUN_EXPORTED, str(job_file)], cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return list(zip(jobs, json.loads(out.stdout)))


def _our_lrs(spec: ScheduleSpec, steps: int, metrics) -> list[list[float]]:
    optimizer = torch.optim.SGD(
        [{"params": torch.nn.Linear(3, 4).parameters()},
         {"params": torch.nn.Linear(4, 2).parameters(), "lr": 1.5}], lr=0.5)
    scheduler = spec.to_torch(optimizer)
    lrs = [[g["lr"] for g in optimizer.param_groups]]
    for step in range(steps):
        optimizer.step()
        scheduler.step()
        if metrics and (step + 1) % 5 == 0:
            scheduler.step(metrics[(step + 1) // 5 - 1])
        lrs.append([g["lr"] for g in optimizer.param_groups])
    return lrs


@pytest.mark.parametrize("family", FAMILIES)
def test_exported_code_gives_the_same_lrs_without_lrsearch(family, exported_runs):
    runs = [(job, lrs) for job, lrs in exported_runs if job["family"] == family]
    assert len(runs) == 3
    for job, exported in runs:
        spec = job["spec"]
        assert exported == _our_lrs(spec, job["steps"], job["metrics"])  # bit for bit
        if not spec.info.metric_driven:
            assert [row[0] for row in exported] == [spec.lr(s) for s in range(job["steps"] + 1)]


def test_exported_code_imports_only_torch_and_the_standard_library():
    import ast

    for family in FAMILIES:
        spec = draw_spec(family, random.Random(family))
        tree = ast.parse(spec.to_torch_code())
        roots = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots.add(node.module.split(".")[0])
        assert roots <= {"math", "torch"}, (family, roots)


@pytest.mark.parametrize("family", [f.name for f in list_families() if f.wsd_form])
def test_a_family_with_a_wsd_form_is_that_wsd_step_for_step(family):
    """The WSD form is the same schedule, warm-up and final ratio included: the priors run
    as it in a space of WSD alone (decay fractions up to 1), so it must be exact."""
    for spec in _specs(family):
        as_wsd = ScheduleSpec.from_dict({**spec.to_dict(), "family": "wsd",
                                         "params": get_family(family).as_wsd(spec.params)})
        assert [as_wsd.lr(k) for k in range(spec.total_steps + 1)] == pytest.approx(
            [spec.lr(k) for k in range(spec.total_steps + 1)], rel=1e-12, abs=1e-15)
