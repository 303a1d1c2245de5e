"""Convergence of a training budget, over seeds: has a model trained for S steps converged?

A budget S has converged when doubling it changes the metric by less than a tolerance: the
paired change m(2S) - m(S) over seeds (each seed is one subset, initialisation and draw
sequence, trained once for S and once for 2S steps), with its Student t interval. Read on a
ladder of budgets S, 2S, 4S, ..., the steps to convergence are the smallest S whose change lies
below the tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .stats import Interval, t_interval


@dataclass(frozen=True)
class Doubling:
    """The paired change of the metric from ``steps`` to twice ``steps``."""

    steps: int
    change: Interval

    def converged(self, tolerance: float) -> bool:
        """|mean change| below ``tolerance`` (the point estimate: the interval is shown beside)."""
        return abs(self.change.estimate) < tolerance


def doublings(by_budget: Mapping[int, Mapping[int, float]]) -> list[Doubling]:
    """Every budget whose double is measured too: {steps: {seed: metric}} -> the paired changes
    over the seeds measured at both budgets, smallest budget first."""
    out = []
    for s in sorted(by_budget):
        if 2 * s in by_budget:
            seeds = sorted(set(by_budget[s]) & set(by_budget[2 * s]))
            diffs = np.array([by_budget[2 * s][k] - by_budget[s][k] for k in seeds], dtype=float)
            out.append(Doubling(s, t_interval(diffs)))
    return out


def steps_to_converge(by_budget: Mapping[int, Mapping[int, float]], tolerance: float) -> int | None:
    """The smallest measured budget whose doubling changes the metric by less than ``tolerance``
    (mean over seeds); None when none does."""
    return next((d.steps for d in doublings(by_budget) if d.converged(tolerance)), None)
