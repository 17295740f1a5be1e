"""A user's own model for the search-quality suite: a plain CNN with no normalisation layers.

Without BatchNorm it learns slowly and its best peak LR and schedule sit elsewhere than
small_cnn's (the registry's typical SGD LR of 0.1 is too high for it), which is what the suite
needs: a workload lrsearch was not tuned for, reached as a user reaches it
(``model: "plain_cnn:build"`` in a study file next to this module).
"""

from torch import nn


def build(num_classes: int, width: int = 32) -> nn.Module:
    """Three conv blocks (conv, ReLU, max-pool) and a linear head; no normalisation."""
    def block(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]

    return nn.Sequential(*block(3, width), *block(width, 2 * width), *block(2 * width, 4 * width),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, num_classes))
