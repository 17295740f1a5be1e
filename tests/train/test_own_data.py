"""A user's data: an ImageFolder of generated PNGs, and a ``module:function`` data set."""

from __future__ import annotations

import pytest
import torch

from lrsearch.errors import DataError
from lrsearch.train import DataSettings, load_data
from tests.own_code import image_folder, model_module


def folder_settings(**changes) -> DataSettings:
    return DataSettings(**{"dataset": "imagefolder", "root": "images", "val_size": 12,
                           "image_size": 16, **changes})


def test_an_image_folder_is_resized_split_and_holds_a_test_share(tmp_path, monkeypatch):
    image_folder(tmp_path / "images", per_class=20)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a relative root starts at the study's folder
    data = load_data(folder_settings(), study_dir=str(tmp_path))
    assert data.num_classes == 3 and data.train_x.shape[1:] == (3, 16, 16)
    assert data.train_x.dtype == torch.uint8
    assert (len(data.train_y), len(data.val_y), len(data.test_y)) == (42, 12, 6)  # 60 images
    # red, green, blue: each channel's mean is the mean of the three colours' (about 107/255).
    assert all(0.35 < m < 0.5 for m in data.mean) and all(s > 0.2 for s in data.std)
    assert str(tmp_path / "images") in data.source
    other = load_data(folder_settings(split_seed=1), study_dir=str(tmp_path))
    assert not torch.equal(other.test_x, data.test_x)  # the test share is seeded


def test_a_test_root_is_the_test_set_and_must_hold_the_same_classes(tmp_path):
    image_folder(tmp_path / "images", per_class=10)
    image_folder(tmp_path / "test", per_class=4, seed=1)
    data = load_data(folder_settings(test_root="test"), study_dir=str(tmp_path))
    assert (len(data.train_y), len(data.test_y)) == (18, 12)
    image_folder(tmp_path / "two", per_class=2, classes=("red", "green"))
    with pytest.raises(DataError, match=r"^data.test_root: .* holds the classes \['green', "
                                        r"'red'\]; must hold those of data.root"):
        load_data(folder_settings(test_root="two"), study_dir=str(tmp_path))


def test_a_bad_image_folder_is_named(tmp_path):
    image_folder(tmp_path / "one", per_class=2, classes=("red",))
    with pytest.raises(DataError, match=r"^data.root: .* holds 1 class folder\(s\) \['red'\]; "
                                        r"an image folder needs at least 2"):
        load_data(folder_settings(root="one"), study_dir=str(tmp_path))
    with pytest.raises(DataError, match="^data.root: got .*missing'; not a folder"):
        load_data(folder_settings(root="missing"), study_dir=str(tmp_path))
    root = image_folder(tmp_path / "broken", per_class=3)
    (root / "red" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"^data.root: 1 of 10 images cannot be read: .*bad.png: "
                                        r"UnidentifiedImageError"):
        load_data(folder_settings(root="broken"), study_dir=str(tmp_path))


DATA_MODULE = '''
import torch


def tensors(root=None):
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8, generator=generator)
    y = torch.arange(40) % 4
    return (x, y), (x[:8], y[:8])


class Pairs(torch.utils.data.Dataset):
    def __init__(self, count):
        self.count = count

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        return torch.full((3, 8, 8), index / self.count), index % 2


def datasets():
    return Pairs(30), Pairs(10)


def one_part():
    return torch.zeros(3)
'''


def test_a_data_function_returns_tensors_or_datasets(tmp_path):
    name = model_module(tmp_path, DATA_MODULE)
    data = load_data(DataSettings(dataset=f"{name}:tensors", val_size=10),
                     study_dir=str(tmp_path))
    assert data.num_classes == 4 and data.train_x.shape == (30, 1, 8, 8)
    assert len(data.mean) == 1 and len(data.test_y) == 8
    data = load_data(DataSettings(dataset=f"{name}:datasets", val_size=5),
                     study_dir=str(tmp_path))
    assert data.num_classes == 2 and data.train_x.dtype == torch.uint8
    assert int(data.test_x.max()) == round(9 / 10 * 255)  # floats in [0, 1] become uint8
    with pytest.raises(DataError, match=r"^data.dataset: .*:one_part\(\) returned a Tensor; "
                                        r"must return \(train, test\)"):
        load_data(DataSettings(dataset=f"{name}:one_part", val_size=5), study_dir=str(tmp_path))


def test_streamed_data_learns_resumes_bit_for_bit_and_probes_without_a_trace(tmp_path):
    from lrsearch.schedules import ScheduleSpec
    from lrsearch.train import OptimizerSettings, ProbeSettings, TrainSettings, train

    image_folder(tmp_path / "images", per_class=20)
    data = load_data(folder_settings(placement="stream", loader_workers=2),
                     study_dir=str(tmp_path))
    assert data.streamed and "streamed to the training device by a DataLoader with 2 " \
                             "workers" in data.describe()
    spec = ScheduleSpec("cosine", peak_lr=0.1, total_steps=1, params={"final_ratio": 0.0})
    settings = TrainSettings(epochs=3, batch_size=8, device="cpu", seed=0)
    whole = train(spec, OptimizerSettings(), settings, data)
    assert whole.epochs[-1].val_acc > 0.6  # 3 classes: chance is 1/3
    checkpoint = tmp_path / "run.pt"
    stopped = train(spec, OptimizerSettings(), settings, data, checkpoint_path=checkpoint,
                    on_epoch=lambda e: "stop" if e.epoch == 1 else None)
    assert stopped.stopped == "stop"
    resumed = train(spec, OptimizerSettings(), settings, data, checkpoint_path=checkpoint)
    assert [e.val_loss for e in resumed.epochs] == [e.val_loss for e in whole.epochs]
    probed = train(spec, OptimizerSettings(), settings, data,
                   probe=ProbeSettings(epochs=(1, 2), frac=0.5))
    assert probed.epochs[0].probe_val_acc is not None
    assert [e.val_loss for e in probed.epochs] == [e.val_loss for e in whole.epochs]
