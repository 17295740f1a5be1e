"""The optimizer hyperparameters, each declared once: meaning, valid range and default.

The declarations are the schedules' own :class:`~lrsearch.schedules.ParamInfo`, so a study
file, the search space, the training code and the export check and describe them alike.
Defaults are torch's where torch has the argument (Lookahead's are Zhang et al.'s).
"""

from __future__ import annotations

from lrsearch.schedules import ParamInfo

__all__ = ["GROUP_PARAMS", "WEIGHT_DECAY", "DECOUPLED_WEIGHT_DECAY", "HEAD_LR_MULT",
           "MOMENTUM", "MOMENTUM_POSITIVE", "NESTEROV", "BETA1", "BETA2", "EPS", "ADAM_PARAMS",
           "LOOKAHEAD_STEPS", "LOOKAHEAD_ALPHA"]

WEIGHT_DECAY = ParamInfo("weight_decay", "L2 decay, added to the gradient; never applied to "
                         "normalisation or bias parameters", low=0.0, default=5e-4)
# Decoupled decay shrinks the weights by lr * weight_decay a step: 0.05 at an AdamW LR of 1e-3
# is the 5e-5 a step that SGD's 5e-4 gives at its LR of 0.1.
DECOUPLED_WEIGHT_DECAY = ParamInfo("weight_decay", "decoupled decay (AdamW), lr * weight_decay "
                                   "a step; never applied to normalisation or bias parameters",
                                   low=0.0, default=0.05)
HEAD_LR_MULT = ParamInfo("head_lr_mult", "classifier-head LR as a multiple of the backbone LR",
                         low=0.0, low_open=True, default=1.0)
GROUP_PARAMS = (WEIGHT_DECAY, HEAD_LR_MULT)
"""Settings of every optimizer: lrsearch applies them per param group (the decay's default is
the optimizer's: :attr:`~lrsearch.optimizers.OptimizerInfo.weight_decay`)."""

MOMENTUM = ParamInfo("momentum", "SGD momentum", low=0.0, high=1.0, high_open=True,
                     default=0.9)
MOMENTUM_POSITIVE = ParamInfo(
    "momentum", "schedule-free SGD's momentum, with which it interpolates (so > 0)", low=0.0,
    high=1.0, low_open=True, high_open=True, default=0.9)
NESTEROV = ParamInfo("nesterov", "SGD Nesterov momentum (needs momentum > 0)", kind="bool",
                     default=True)
BETA1 = ParamInfo("beta1", "first-moment decay of the Adam family", low=0.0, high=1.0,
                  high_open=True, default=0.9)
BETA2 = ParamInfo("beta2", "second-moment decay of the Adam family", low=0.0, high=1.0,
                  high_open=True, default=0.999)
EPS = ParamInfo("eps", "denominator term of the Adam family", low=0.0, low_open=True,
                default=1e-8)
ADAM_PARAMS = (BETA1, BETA2, EPS)
LOOKAHEAD_STEPS = ParamInfo("lookahead_steps", "Lookahead's k: inner steps between two syncs "
                            "of the slow weights", kind="int", low=1, default=6)
LOOKAHEAD_ALPHA = ParamInfo("lookahead_alpha", "Lookahead's alpha: how far the slow weights "
                            "move toward the fast ones", low=0.0, high=1.0, low_open=True,
                            default=0.5)
