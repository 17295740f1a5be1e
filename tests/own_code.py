"""A user's own model module and image folder, written by the tests next to their study files.

Each test names its module uniquely: Python imports a module once per process, so two tests
writing different files under one name would share the first.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np

MODEL_MODULE = '''
from torch import nn


def tiny(num_classes, width=8):
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))


def other(num_classes):
    return tiny(num_classes, width=4)


def ten_outputs(num_classes):
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 10))


def not_a_module(num_classes):
    return "a model"


def raises(num_classes):
    raise RuntimeError("weights file not found")


NOT_A_FUNCTION = 3
'''

# Each class's mean colour (0..255 per channel): the classes differ in hue, each image is
# its class's colour plus per-pixel noise, so a tiny model learns them in a few epochs.
COLOURS = {"red": (200, 60, 60), "green": (60, 200, 60), "blue": (60, 60, 200)}


# ``tiny`` whose first trial in each process waits until PROCESSES processes have started one:
# the first call in a process describes the model as the study opens, the second builds a
# trial's model. So no worker can finish a small study before the others have taken a trial.
STARTING_TOGETHER = '''
import os
import time
from pathlib import Path

from torch import nn

_STARTED = Path({folder!r})
_CALLS = []


def tiny(num_classes, width=8):
    _CALLS.append(1)
    if len(_CALLS) == 2:
        _STARTED.mkdir(exist_ok=True)
        (_STARTED / str(os.getpid())).touch()
        deadline = time.monotonic() + 120
        while len(list(_STARTED.iterdir())) < {processes} and time.monotonic() < deadline:
            time.sleep(0.05)
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))
'''


def starting_together(folder: Path, processes: int) -> str:
    """A model module in ``folder`` whose ``tiny`` lets no worker's first trial train before
    ``processes`` workers have each started one (or two minutes passed): tests that count the
    workers that ran trials then do not depend on how fast each worker started."""
    return model_module(folder, STARTING_TOGETHER.format(folder=str(folder / "started"),
                                                         processes=processes))


def model_module(folder: Path, text: str = MODEL_MODULE) -> str:
    """Write a model module into ``folder``; its (unique) module name."""
    name = f"own_models_{uuid.uuid4().hex[:8]}"
    (folder / f"{name}.py").write_text(text)
    return name


def image_folder(root: Path, per_class: int = 24, size: int = 20, seed: int = 0,
                 classes: tuple[str, ...] = tuple(COLOURS)) -> Path:
    """An ImageFolder of generated PNGs: one subfolder per class, ``per_class`` images each."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            noise = rng.normal(0, 40, (size, size + 4, 3))  # not square: cropped when read
            pixels = np.clip(np.array(COLOURS[name]) + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{index}.png")
    return root
