"""Lookahead (Zhang et al. 2019) around any torch optimizer; with RAdam inside it is Ranger.

Every ``k`` inner steps the slow weights move ``alpha`` of the way toward the fast ones and the
fast weights restart from there. The wrapper IS a ``torch.optim.Optimizer`` whose
``param_groups`` is the inner optimizer's list itself, so LR schedulers accept it and the LRs
they set are the ones the inner optimizer uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.optim import Optimizer

__all__ = ["Lookahead"]


class Lookahead(Optimizer):
    """Lookahead wrapper sharing ``inner``'s param groups.

    Args:
        inner: The fast optimizer (RAdam for Ranger).
        k: Inner steps between two syncs of the slow weights, >= 1.
        alpha: Step of the slow weights toward the fast ones, in (0, 1].

    The values are not checked here: the registry's rules (``lookahead_steps``,
    ``lookahead_alpha``) are checked when the optimizer's settings are made.

    Example:
        >>> model = torch.nn.Linear(2, 1)
        >>> opt = Lookahead(torch.optim.RAdam(model.parameters(), lr=0.1), k=2, alpha=0.5)
        >>> opt.param_groups is opt.inner.param_groups
        True
    """

    def __init__(self, inner: Optimizer, k: int = 6, alpha: float = 0.5) -> None:
        # The base constructor sets up hooks and state; its copied groups are then replaced by
        # the inner optimizer's own list, so both see (and schedulers change) the same dicts.
        super().__init__([{"params": g["params"]} for g in inner.param_groups], inner.defaults)
        self.param_groups = inner.param_groups
        self.inner = inner
        self.k = k
        self.alpha = alpha
        self.inner_steps = 0

    def _remember_slow_weights(self) -> None:
        for group in self.param_groups:
            for param in group["params"]:
                state = self.state[param]
                if "slow_param" not in state:
                    state["slow_param"] = param.detach().clone()

    @torch.no_grad()
    def _sync(self) -> None:
        for group in self.param_groups:
            for param in group["params"]:
                slow = self.state[param]["slow_param"]
                slow.add_(param - slow, alpha=self.alpha)
                param.copy_(slow)

    def step(self, closure: Callable[[], float] | None = None) -> Any:
        """One inner step; every ``k``-th one also syncs the slow weights."""
        self._remember_slow_weights()
        loss = self.inner.step(closure)
        self.inner_steps += 1
        if self.inner_steps % self.k == 0:
            self._sync()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Zero the gradients of the shared parameters."""
        self.inner.zero_grad(set_to_none=set_to_none)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group to the inner optimizer (during construction: to the base class)."""
        if hasattr(self, "inner"):
            self.inner.add_param_group(param_group)
        else:
            super().add_param_group(param_group)

    def state_dict(self) -> dict[str, Any]:
        """The inner optimizer's state, the slow weights and the step counter."""
        return {"inner": self.inner.state_dict(), "lookahead": super().state_dict(),
                "inner_steps": self.inner_steps, "k": self.k, "alpha": self.alpha}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""
        self.inner.load_state_dict(state_dict["inner"])
        super().load_state_dict(state_dict["lookahead"])
        self.param_groups = self.inner.param_groups  # the base class rebuilt its own list
        self.inner_steps = int(state_dict["inner_steps"])
        self.k = int(state_dict["k"])
        self.alpha = float(state_dict["alpha"])
