"""Real tiny training runs on the CPU: LRs, plateau, reproducibility, NaN, callbacks, test set."""

from __future__ import annotations

import json
import math

import pytest
import torch

from lrsearch.errors import DivergedError, TrainingError
from lrsearch.schedules import ScheduleSpec
from lrsearch.train import (
    DataSettings,
    OptimizerSettings,
    TrainSettings,
    _augment,
    _device,
    _loop,
    _training_run,
    load_data,
    resolve_device,
    train,
)
from lrsearch.train._training_run import TrainingRun

ONECYCLE = {"pct_start": 0.3, "div_factor": 10.0, "final_div_factor": 100.0, "anneal": "cos",
            "three_phase": False}
TINY = TrainSettings(epochs=2, batch_size=64, device="cpu", lr_record_every=1)


def _plateau(mode: str, patience: int = 0) -> ScheduleSpec:
    return ScheduleSpec("plateau", peak_lr=0.1, total_steps=1, params={
        "factor": 0.5, "patience": patience, "threshold": 1e-4, "threshold_mode": "rel",
        "cooldown": 0, "min_ratio": 0.0, "mode": mode})


def _without_timings(result) -> dict:
    data = result.to_dict()
    for key in ("seconds", "images_per_second"):
        data.pop(key)
    for epoch in data["epochs"]:
        epoch.pop("seconds")
    return data


def test_lr_used_at_every_step_is_the_spec_lr(fake_data: DataSettings) -> None:
    spec = ScheduleSpec("onecycle", peak_lr=0.2, total_steps=1, warmup_frac=0.25,
                        params=ONECYCLE)
    result = train(spec, OptimizerSettings(head_lr_mult=0.5), TINY, fake_data)
    assert (result.steps_per_epoch, result.total_steps) == (4, 8)
    laid = spec.with_total_steps(8)
    assert [s for s, _ in result.lr_curve] == list(range(8))
    for step, lr in result.lr_curve:
        assert lr == pytest.approx(laid.lr(step), rel=1e-9)


def test_lr_curve_is_sparse_with_first_and_last_step(fake_data: DataSettings) -> None:
    spec = ScheduleSpec("cosine", peak_lr=0.1, total_steps=1, params={"final_ratio": 0.0})
    settings = TrainSettings(epochs=3, batch_size=32, device="cpu", lr_record_every=5)
    result = train(spec, OptimizerSettings(), settings, fake_data)
    assert [s for s, _ in result.lr_curve] == [0, 5, 10, 15, 20, 23]


def test_same_seed_same_result_bitwise(fake_data: DataSettings) -> None:
    spec = ScheduleSpec("cosine", peak_lr=0.05, total_steps=1, params={"final_ratio": 0.0})
    first = train(spec, OptimizerSettings(), TINY, fake_data)
    again = train(spec, OptimizerSettings(), TINY, fake_data)
    other = train(spec, OptimizerSettings(), TrainSettings(**{**TINY.__dict__, "seed": 1}),
                  fake_data)
    assert _without_timings(first) == _without_timings(again)
    assert first.epochs[-1].train_loss != other.epochs[-1].train_loss


def test_same_seed_same_weights_bitwise(fake_data: DataSettings) -> None:
    data = load_data(fake_data)
    spec = ScheduleSpec("constant", peak_lr=0.05, total_steps=1)
    runs = [TrainingRun(spec, OptimizerSettings(name="ranger"), TINY, data) for _ in range(2)]
    for run in runs:
        run.train_epoch(1)
    for a, b in zip(runs[0].model.state_dict().values(), runs[1].model.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(("mode", "expected_lrs"), [("min", [0.1, 0.1, 0.05, 0.025]),
                                                    ("max", [0.1, 0.1, 0.1, 0.1])])
def test_plateau_is_fed_the_metric_of_its_mode(fake_data, monkeypatch, mode, expected_lrs):
    # The loss stays flat while the accuracy improves: only mode "min" (loss) sees a plateau.
    evaluations = iter([(1.0, 0.1), (1.0, 0.2), (1.0, 0.3), (1.0, 0.4)])
    monkeypatch.setattr(TrainingRun, "evaluate", lambda self, x, y: next(evaluations))
    settings = TrainSettings(epochs=4, batch_size=128, device="cpu")
    result = train(_plateau(mode), OptimizerSettings(), settings, fake_data)
    # Epoch e's LR follows the metrics of the epochs before it; patience 0 reduces at the
    # first evaluation without improvement (the first one only sets the best value).
    assert [e.lr for e in result.epochs] == pytest.approx(expected_lrs)


def test_nan_loss_stops_the_run_with_epoch_and_step(fake_data: DataSettings) -> None:
    spec = ScheduleSpec("constant", peak_lr=1e20, total_steps=1)
    with pytest.raises(DivergedError, match=r"loss nan at step \d+ \(epoch 1") as info:
        train(spec, OptimizerSettings(name="adam"), TINY, fake_data)
    assert info.value.epoch == 1 and 0 < info.value.step < 4


def test_exploded_but_finite_loss_also_counts_as_diverged(fake_data: DataSettings) -> None:
    spec = ScheduleSpec("constant", peak_lr=1e4, total_steps=1)
    with pytest.raises(DivergedError, match=r"above the limit 230\.3 \(= 100 x the loss of"):
        train(spec, OptimizerSettings(), TINY, fake_data)


def test_callback_exceptions_propagate_unchanged(fake_data: DataSettings) -> None:
    class Pruned(Exception):
        pass

    seen = []

    def on_epoch(result) -> None:
        seen.append(result)
        raise Pruned("prune me")

    spec = ScheduleSpec("constant", peak_lr=0.05, total_steps=1)
    with pytest.raises(Pruned, match="prune me"):
        train(spec, OptimizerSettings(), TINY, fake_data, on_epoch=on_epoch)
    assert [r.epoch for r in seen] == [1] and seen[0].step == 4


def test_result_is_plain_json_and_test_set_only_when_asked(fake_data: DataSettings) -> None:
    spec = ScheduleSpec("constant", peak_lr=0.05, total_steps=1)
    settings = TrainSettings(epochs=1, batch_size=64, device="cpu")
    plain = train(spec, OptimizerSettings(), settings, fake_data)
    assert plain.test_loss is None and plain.test_acc is None
    tested = train(spec, OptimizerSettings(), settings, load_data(fake_data),
                   evaluate_test=True)
    assert math.isfinite(tested.test_loss) and 0 <= tested.test_acc <= 1
    data = tested.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["seed"] == 0 and data["device_name"] == "cpu"
    assert tested.images_per_second > 0


def test_bad_training_settings() -> None:
    with pytest.raises(TrainingError, match=r"epochs: got 0; must be greater than or equal to 1"):
        TrainSettings(epochs=0)
    with pytest.raises(TrainingError, match=r"device: got 'tpu'"):
        resolve_device("tpu")


def test_above_chance_on_the_shared_cifar10_copy(shared_cifar10) -> None:
    data = DataSettings(data_dir=str(shared_cifar10), val_size=500, train_subset=2048)
    spec = ScheduleSpec("onecycle", peak_lr=0.1, total_steps=1, params=ONECYCLE)
    settings = TrainSettings(epochs=1, batch_size=64, device="cpu")
    result = train(spec, OptimizerSettings(), settings, data, evaluate_test=True)
    assert result.epochs[-1].val_acc > 0.2  # chance: 0.1
    assert result.test_acc > 0.2


def test_schedule_free_evaluates_its_averaged_weights_then_trains_on(fake_data) -> None:
    # schedulefree's protocol: optimizer.eval() moves the weights to the average x
    # (y lerped toward z by 1 - 1/momentum); optimizer.train() brings y back for the next steps.
    from lrsearch.train import load_data

    spec = ScheduleSpec("constant", peak_lr=0.05, total_steps=1, warmup_frac=0.2)
    run = TrainingRun(spec, OptimizerSettings(name="sgd_schedulefree", momentum=0.9),
                      TrainSettings(epochs=2, batch_size=64, device="cpu"),
                      load_data(fake_data, "cpu"))
    run.train_epoch(1)
    params = list(run.model.parameters())
    trained = [p.detach().clone() for p in params]
    averaged = [y.lerp(run.optimizer.state[p]["z"], 1 - 1 / 0.9) for y, p in zip(trained, params)]
    run.evaluate(run.data.val_x, run.data.val_y)
    assert all(torch.allclose(p, x, atol=1e-6) for p, x in zip(params, averaged))
    assert not all(torch.equal(p, y) for p, y in zip(params, trained))
    norms = [m for m in run.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(m.num_batches_tracked.item() == 1 for m in norms)  # recomputed: 1 pass
    run.train_epoch(2)
    assert run.optimizer.param_groups[0]["train_mode"]


def test_schedule_free_sgd_learns_on_the_shared_cifar10_copy(shared_cifar10) -> None:
    data = DataSettings(data_dir=str(shared_cifar10), val_size=500, train_subset=2048)
    spec = ScheduleSpec("constant", peak_lr=0.5, total_steps=1, warmup_frac=0.1)
    settings = TrainSettings(epochs=1, batch_size=64, device="cpu")
    result = train(spec, OptimizerSettings(name="sgd_schedulefree"), settings, data)
    assert result.epochs[-1].val_acc > 0.2  # chance: 0.1


def test_bf16_autocast_on_the_cpu_computes_in_bf16(fake_data: DataSettings) -> None:
    spec = ScheduleSpec("constant", peak_lr=0.05, total_steps=1)
    settings = TrainSettings(epochs=1, batch_size=64, device="cpu", precision="bf16")
    run = TrainingRun(spec, OptimizerSettings(), settings, load_data(fake_data))
    dtypes = []
    run.model.fc.register_forward_hook(lambda module, inputs, output: dtypes.append(output.dtype))
    train_loss, _, _, _ = run.train_epoch(1)
    val_loss, val_acc = run.evaluate(run.data.val_x, run.data.val_y)
    assert dtypes and set(dtypes) == {torch.bfloat16}  # training and evaluation alike
    assert math.isfinite(train_loss) and math.isfinite(val_loss) and 0 <= val_acc <= 1


@pytest.fixture
def gpu_code_paths(monkeypatch) -> dict[str, int]:
    """Make the loop on the CPU take the GPU's paths: the gather crop and a NaN check every 8
    steps. Yields how often each crop method ran."""
    calls = {"gather": 0, "slices": 0}

    def counted(name):
        original = getattr(_augment, f"_crop_flip_by_{name}")

        def wrapper(*args):
            calls[name] += 1
            return original(*args)
        return wrapper

    for name in calls:
        monkeypatch.setattr(_augment, f"_crop_flip_by_{name}", counted(name))
    monkeypatch.setattr(_training_run, "crop_method", lambda device: "gather")
    checks = _training_run._CHECK_EVERY_STEPS
    monkeypatch.setitem(checks, "cpu", checks["cuda"])
    return calls


def test_the_gpu_code_paths_train_in_bf16_on_the_cpu(fake_data, gpu_code_paths) -> None:
    spec = ScheduleSpec("cosine", peak_lr=0.05, total_steps=1, params={"final_ratio": 0.0})
    settings = TrainSettings(epochs=2, batch_size=64, device="cpu", precision="bf16")
    result = train(spec, OptimizerSettings(), settings, fake_data)
    assert gpu_code_paths == {"gather": 2, "slices": 0}  # one augmented epoch each
    assert all(math.isfinite(e.train_loss) and math.isfinite(e.val_loss) for e in result.epochs)
    assert [e.step for e in result.epochs] == [4, 8] and result.epochs[-1].train_acc > 0


def test_a_check_every_8_steps_names_the_first_bad_step(fake_data, monkeypatch) -> None:
    spec = ScheduleSpec("constant", peak_lr=1e20, total_steps=1)
    settings = TrainSettings(epochs=1, batch_size=16, device="cpu")  # 16 steps per epoch
    with pytest.raises(DivergedError) as every_step:
        train(spec, OptimizerSettings(name="adam"), settings, fake_data)
    monkeypatch.setitem(_training_run._CHECK_EVERY_STEPS, "cpu", 8)
    with pytest.raises(DivergedError) as every_8:
        train(spec, OptimizerSettings(name="adam"), settings, fake_data)
    assert (every_8.value.epoch, every_8.value.step) == (every_step.value.epoch,
                                                         every_step.value.step)
    assert f"at step {every_step.value.step} " in str(every_8.value)


def test_auto_and_bare_cuda_resolve_to_the_indexed_current_device(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    assert resolve_device("auto") == resolve_device("cuda") == torch.device("cuda", 1)
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    assert _device.same_device("cuda", torch.device("cuda", 1))
    assert not _device.same_device("cuda", "cuda:0") and not _device.same_device("cuda", "cpu")


def test_data_already_on_the_device_is_not_copied(fake_data, monkeypatch) -> None:
    def moved(data, device):
        raise AssertionError(f"data on {data.device} copied to {device}")

    monkeypatch.setattr(_loop, "_moved", moved)
    spec = ScheduleSpec("constant", peak_lr=0.05, total_steps=1)
    settings = TrainSettings(epochs=1, batch_size=128, device="cpu:0")  # names the same CPU
    result = train(spec, OptimizerSettings(), settings, load_data(fake_data))
    assert result.device_name == "cpu"


def test_throughput_bench_runs_more_rounds_when_the_data_is_short(tiny_cifar10, capsys) -> None:
    from bench import throughput

    # The documented GPU command asks for 100 x 512 images: more than real or fake data hold.
    assert throughput.plan_rounds(49_999, 512, steps=100, rounds=3) == (97, 4)
    assert throughput.plan_rounds(9_999, 512, steps=100, rounds=3) == (19, 16)
    assert throughput.plan_rounds(9_999, 128, steps=30, rounds=3) == (30, 3)
    throughput.main(["--device", "cpu", "--data-dir", str(tiny_cifar10), "--batch-size", "16",
                     "--steps", "10", "--rounds", "1", "--dataloader", "--workers", "0"])
    lines = capsys.readouterr().out.splitlines()
    assert "6 steps (--steps 10 capped by the data) x 2 timed rounds" in lines[0]  # 99 images
    assert [line.split()[0] for line in lines[2:5]] == ["plain", "lrsearch", "DataLoader"]
    assert lines[-1].startswith("summary: lrsearch/plain ") and "lrsearch/DataLoader " in lines[-1]
    trials = [line.split(", checkpoint")[0] for line in lines if ", checkpoint " in line]
    assert trials == ["3 epochs, probes (1, 2)", "3 epochs, no probes",
                      "3 epochs, probes (1, 2)"]
    assert "training/whole trial " in lines[-1]


def test_throughput_bench_hand_written_crop_flip_is_a_real_crop_and_flip() -> None:
    from bench.throughput import hand_crop_flip

    torch.manual_seed(0)
    images = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8)
    out = hand_crop_flip(images, padding_px=2)
    assert out.shape == images.shape and out.dtype == torch.uint8
    seen = set()
    for original, cropped in zip(images, out):  # order kept: image i stays image i
        padded = {flip: torch.nn.functional.pad(original.flip(-1) if flip else original,
                                                (2, 2, 2, 2)) for flip in (False, True)}
        matches = [(flip, dy, dx) for flip in (False, True) for dy in range(5) for dx in range(5)
                   if torch.equal(padded[flip][:, dy:dy + 8, dx:dx + 8], cropped)]
        assert matches, "each output is a padded crop of its image or of its mirror"
        seen.add(matches[0])
    assert len(seen) > 10  # the shifts and flips vary from image to image
