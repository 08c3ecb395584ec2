"""mlsysim-planner: the best training or serving configuration for a goal.

``plan_training(...)`` and ``plan_serving(...)`` search every configuration of a space on the sweep
engine and return a :class:`~mlsysim_planner.plan.Plan` (ranked table, Pareto front, what binds).
Names are imported on first use: plugin discovery must not pay for numpy and pint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsysim_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .plan import Plan
    from .serving import plan_serving
    from .training import plan_training

__all__ = ["Plan", "plan_serving", "plan_training"]
__getattr__, __dir__ = lazy_exports(
    __name__, {"Plan": ".plan", "plan_serving": ".serving", "plan_training": ".training"}
)
