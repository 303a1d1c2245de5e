"""Exploratory pilot 2: the book profile's chapters whose pre-registered convergence checks failed,
at twice the registered budget (convergence runs at 4x), on seeds 5-9 -- seeds that are neither
exploratory (0-4) nor confirmatory (100+) in params/book/preregistration.yaml. It changes no
verdict: it says how many steps the next registration's budgets need. Each chapter's verdicts
under the book's rules on these seeds, and the verdicts read on the 4x runs as if they were the
main runs (their effect at 4x the registered budget).

    AUGWORTH_CACHE=<folder> AUGWORTH_EXECUTOR=process AUGWORTH_WORKERS=2 \
        python pilots/longer_budgets.py [chapter ...]        # computes what is missing, then prints

Wall time here (2 worker processes, 2-core AMD EPYC): flatness 31 min, exchange_rate 37, sample_complexity 27. The results of the run on 2026-12-05 are in pilots/longer_budgets.txt.
"""

from __future__ import annotations

import importlib
import sys

from augworth import config, prereg, verdicts
from augworth.experiments.registry import run

#: Twice the registered budget (params/book/<chapter>.yaml), convergence runs for every seed: the
#: registration's ``longer_budgets`` (params/book/preregistration.yaml)
SETTINGS = prereg.load("book").longer
SEEDS = prereg.load("book").longer_seeds
BUDGET = {"flatness": "epochs", "exchange_rate": "steps", "sample_complexity": "epochs"}


def main(names) -> None:
    for name in names:
        p = config.load_params(name, "book", SETTINGS[name])
        result = run(name, p)
        rules = importlib.import_module(f"augworth.verdicts.{name}")
        print(f"== {name} at {getattr(p, BUDGET[name])} {BUDGET[name]}, seeds {SEEDS}, convergence runs at 2x "
              f"({result.meta.get('source')}, {result.meta.get('git_commit', '?')[:10]})")
        verdicts.show(decide(name, rules, result.value, p))
        value = result.value
        if value.get("convergence") and "cells" in value:  # runners whose main and longer runs are alike
            key = BUDGET[name]
            longer = config.load_params(name, "book", {**SETTINGS[name], "convergence_seeds": [],
                                                       key: 2 * getattr(p, key)})
            as_main = dict(value, cells=value["convergence"], convergence=[])
            print(f"-- read on the convergence runs ({2 * getattr(p, key)} {key}) as the main runs:")
            verdicts.show(decide(name, rules, as_main, longer))
        print()


def decide(name: str, rules, value: dict, p) -> dict:
    """A chapter's verdicts from its runner's value, as its notebook reaches them."""
    return (rules.decide_value if name == "exchange_rate" else rules.decide_all)(value, p)


if __name__ == "__main__":
    main(sys.argv[1:] or list(SETTINGS))
