"""The family registry: every schedule family, its function and its parameters, declared once.

Family parameters' defaults and default search ranges live here and nowhere else (the spec's own
fields, warm-up included, are declared in ``_fields.py``); the search space, the baselines and
the docs read them through :func:`list_families`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lrsearch.schedules import _cyclic, _decay, _piecewise
from lrsearch.schedules._params import ParamInfo, SearchRange

__all__ = ["FamilyInfo", "list_families", "get_family", "family_names"]


@dataclass(frozen=True)
class FamilyInfo:
    """A schedule family.

    Attributes:
        name: The ``family`` value of a spec.
        summary: One line on the shape.
        params: The family's parameters, in signature order.
        torch_equivalent: The torch scheduler it equals step for step, or ``None``.
        function: ``f(k, n, **params) -> multiplier``, or ``None`` for metric-driven families.
        metric_driven: The LR follows a validation metric (``plateau``), not the step.
        warms_up_itself: The family starts low and rises to the peak on its own (onecycle,
            cyclic); a spec's linear warm-up in front of it would climb to the peak and then
            drop to the family's start, so the search gives these families no warm-up.
        cross_check: ``f(params) -> problems`` for rules that tie parameters together; it gets
            the parameters that passed their own checks (some may be absent).
        wsd_form: The ``wsd`` parameters this family is, step for step, with its own parameters
            added (linear and cosine decay are WSD whose decay takes the whole run), or None.
    """

    name: str
    summary: str
    params: tuple[ParamInfo, ...]
    torch_equivalent: str | None
    function: Callable[..., float] | None
    metric_driven: bool = False
    warms_up_itself: bool = False
    cross_check: Callable[[Mapping[str, Any]], list[str]] | None = None
    wsd_form: Mapping[str, Any] | None = None

    def param(self, name: str) -> ParamInfo:
        """The parameter called ``name``."""
        return next(p for p in self.params if p.name == name)

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its default value."""
        return {p.name: p.default for p in self.params}

    def as_wsd(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """``params`` of this family as the ``wsd`` parameters of the same schedule, or None.

        Example:
            >>> get_family("cosine").as_wsd({"final_ratio": 0.0})
            {'decay_frac': 1.0, 'decay_shape': 'cosine', 'final_ratio': 0.0}
        """
        return None if self.wsd_form is None else {**self.wsd_form, **params}


def _unit(name: str, help: str, default: float, search: SearchRange, *, open_low=False,
          open_high=False) -> ParamInfo:
    """A float parameter that is a fraction or ratio in [0, 1]."""
    return ParamInfo(name, help, kind="float", low=0.0, high=1.0, low_open=open_low,
                     high_open=open_high, default=default, search=search)


def _final_ratio(default: float = 0.0, *, positive: bool = False) -> ParamInfo:
    search = SearchRange(1e-3, 0.3, log=True) if positive else SearchRange(0.0, 0.1)
    return _unit("final_ratio", "multiplier of peak_lr reached at the end of training",
                 default, search, open_low=positive)


_GAMMA_STEP = ParamInfo("gamma", "factor applied to the LR at each decay step", low=0.0,
                        high=1.0, low_open=True, kind="float", default=0.1,
                        search=SearchRange(0.05, 0.7, log=True))


def _onecycle_cross_check(params: Mapping[str, Any]) -> list[str]:
    """three_phase needs pct_start < 0.5: its first two phases take 2 * pct_start."""
    if params.get("three_phase") and params.get("pct_start", 0.0) >= 0.5:
        return [f"params.pct_start: got {params['pct_start']!r}; must be < 0.5 when three_phase "
                f"is true (the first two phases take 2 * pct_start)"]
    return []


# cyclic.gamma is torch's per-step factor of exp_range: the end amplitude is gamma ** n (n family
# steps), so no one factor suits every length (with_total_steps changes exp_range's shape);
# [0.9995, 1] keeps the cycles alive from ~300 to ~20k steps (the figures: docs/schedules.md).
_CYCLIC_GAMMA_SEARCH = SearchRange(0.9995, 1.0)

_FAMILIES = (
    FamilyInfo("constant", "the peak LR throughout", (), None, _decay.constant),
    FamilyInfo("step", "decay by gamma every step_frac of training", (
        _unit("step_frac", "decay period as a fraction of the family's steps", 0.3,
              SearchRange(0.1, 0.5), open_low=True),
        _GAMMA_STEP,
    ), "StepLR", _decay.step),
    FamilyInfo("multistep", "decay by gamma at each milestone", (
        ParamInfo("milestones", "fractions of the family's steps where the LR decays",
                  kind="fractions", default=(0.5, 0.75), search=SearchRange(0.3, 0.95)),
        _GAMMA_STEP,
    ), "MultiStepLR", _decay.multistep),
    FamilyInfo("exponential", "exponential decay to final_ratio", (
        _final_ratio(0.01, positive=True),
    ), "ExponentialLR", _decay.exponential),
    FamilyInfo("poly", "polynomial decay (1 - p) ** power to final_ratio", (
        ParamInfo("power", "exponent of the decay (1 = linear)", kind="float", low=0.0,
                  low_open=True, default=1.0, search=SearchRange(0.5, 3.0)),
        _final_ratio(),
    ), "PolynomialLR", _decay.poly),
    FamilyInfo("linear", "linear decay to final_ratio (budgeted training)", (
        _final_ratio(),
    ), "LinearLR", _decay.linear, wsd_form={"decay_frac": 1.0, "decay_shape": "linear"}),
    FamilyInfo("cosine", "cosine annealing to final_ratio", (
        _final_ratio(),
    ), "CosineAnnealingLR", _decay.cosine, wsd_form={"decay_frac": 1.0, "decay_shape": "cosine"}),
    FamilyInfo("cosine_restarts", "cosine with warm restarts (SGDR)", (
        ParamInfo("cycles", "whole cycles in the family: it ends at the last one's low point",
                  kind="int", low=1, high=100, default=4, search=SearchRange(1, 6)),
        ParamInfo("cycle_mult", "each cycle is this many times longer than the last",
                  kind="int", low=1, high=10, default=1, search=SearchRange(1, 3)),
        _final_ratio(),
    ), "CosineAnnealingWarmRestarts", _cyclic.cosine_restarts),
    FamilyInfo("onecycle", "Smith's one-cycle: up to the peak, then down far below the start", (
        _unit("pct_start", "fraction of the family spent rising", 0.3, SearchRange(0.1, 0.5),
              open_low=True, open_high=True),
        ParamInfo("div_factor", "start LR = peak_lr / div_factor", kind="float", low=1.0,
                  default=25.0, search=SearchRange(5.0, 50.0, log=True)),
        ParamInfo("final_div_factor", "final LR = start LR / final_div_factor", kind="float",
                  low=1.0, default=1e4, search=SearchRange(10.0, 1e4, log=True)),
        ParamInfo("anneal", "shape of each phase", kind="choice", choices=("cos", "linear"),
                  default="cos", search=SearchRange(choices=("cos", "linear"))),
        ParamInfo("three_phase", "add a phase back down to the start LR before the final fall",
                  kind="bool", default=False, search=SearchRange(choices=(False, True))),
    ), "OneCycleLR", _cyclic.onecycle, warms_up_itself=True,
        cross_check=_onecycle_cross_check),
    FamilyInfo("cyclic", "cyclical LR between base_ratio and the peak (CLR)", (
        _unit("base_ratio", "lowest LR of a cycle as a multiplier of peak_lr", 0.1,
              SearchRange(0.01, 0.5, log=True), open_high=True),
        ParamInfo("cycles", "whole cycles in the family: it ends at the last one's low point",
                  kind="int", low=1, high=100, default=5, search=SearchRange(1, 8)),
        _unit("up_frac", "fraction of each cycle spent rising", 0.5, SearchRange(0.1, 0.9),
              open_low=True, open_high=True),
        ParamInfo("mode", "amplitude policy", kind="choice",
                  choices=("triangular", "triangular2", "exp_range"), default="triangular",
                  search=SearchRange(choices=("triangular", "triangular2", "exp_range"))),
        ParamInfo("gamma", "per-step amplitude factor of exp_range (torch's gamma)", kind="float",
                  low=0.0, high=1.0, low_open=True, default=1.0,
                  search=_CYCLIC_GAMMA_SEARCH),
    ), "CyclicLR", _cyclic.cyclic, warms_up_itself=True),
    FamilyInfo("wsd", "warmup-stable-decay: hold the peak, then a short final decay", (
        _unit("decay_frac", "fraction of the family spent decaying at the end", 0.2,
              SearchRange(0.1, 0.5), open_low=True),
        _final_ratio(),
        ParamInfo("decay_shape", "shape of the final decay", kind="choice",
                  choices=("linear", "cosine", "sqrt"), default="linear",
                  search=SearchRange(choices=("linear", "cosine", "sqrt"))),
    ), None, _decay.wsd),
    FamilyInfo("piecewise", "free-form: linear interpolation between knots [[p, m], ...]", (
        ParamInfo("knots", "[progress, multiplier] pairs from progress 0 to 1", kind="knots",
                  default=((0.0, 1.0), (1.0, 0.0)), search=SearchRange(0.0, 1.0)),
    ), None, _piecewise.piecewise),
    FamilyInfo("plateau", "reduce on plateau of the validation metric (min: loss, max: accuracy)", (
        _unit("factor", "factor applied to the LR at each reduction", 0.1,
              SearchRange(0.1, 0.7), open_low=True, open_high=True),
        ParamInfo("patience", "epochs without improvement before a reduction", kind="int",
                  low=0, default=10, search=SearchRange(1, 5)),
        ParamInfo("threshold", "smallest change that counts as an improvement", kind="float",
                  low=0.0, default=1e-4, search=SearchRange(1e-4, 1e-2, log=True)),
        ParamInfo("threshold_mode", "threshold relative to the best value or absolute",
                  kind="choice", choices=("rel", "abs"), default="rel",
                  search=SearchRange(choices=("rel",))),
        ParamInfo("cooldown", "epochs to wait after a reduction", kind="int", low=0, default=0,
                  search=SearchRange(0, 2)),
        _unit("min_ratio", "lowest LR as a multiplier of peak_lr", 0.0, SearchRange(0.0, 0.01)),
        ParamInfo("mode", "min: watch validation loss; max: watch validation accuracy",
                  kind="choice", choices=("min", "max"), default="min",
                  search=SearchRange(choices=("min", "max"))),
    ), "ReduceLROnPlateau", None, metric_driven=True),
)

_BY_NAME = {f.name: f for f in _FAMILIES}


def list_families() -> list[FamilyInfo]:
    """Every registered family with its parameters, ranges and default search ranges.

    Example:
        >>> [f.name for f in list_families()][:3]
        ['constant', 'step', 'multistep']
        >>> list_families()[6].param("final_ratio").rule()
        'must be a number in [0, 1]'
    """
    return list(_FAMILIES)


def family_names() -> list[str]:
    """The names of the registered families."""
    return [f.name for f in _FAMILIES]


def get_family(name: str) -> FamilyInfo | None:
    """The family called ``name``, or ``None``."""
    return _BY_NAME.get(name)
