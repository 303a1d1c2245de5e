"""Exploratory pilot 3 (C5 only): flatness at 320 epochs on seeds 5-9, convergence runs at 640.
Seeds 5-9 are neither exploratory (0-4) nor confirmatory (100-107, 200-207): it changes no verdict.
It says whether alpha's contrast stops moving past 320 epochs (registration 2's gate: it moved
-0.041 from 160 to 320), which sizes a registration 3 of C5. Started 2026-12-05 (14 of 20 cells
computed that session).

    AUGWORTH_CACHE=<folder> AUGWORTH_EXECUTOR=process AUGWORTH_WORKERS=2 \
        PYTHONPATH=src python pilots/flatness_320.py        # computes what is missing, then prints
"""
from augworth import config, verdicts
from augworth.experiments.registry import run
from augworth.verdicts import flatness as vf
S = [5, 6, 7, 8, 9]
p = config.load_params("flatness", "book", {"seeds": S, "convergence_seeds": S, "epochs": 320})
r = run("flatness", p)
print(f"== flatness at 320 epochs, seeds 5-9, convergence runs at 640 ({r.meta.get('source')}, {r.meta.get('git_commit','?')[:10]})")
verdicts.show(vf.decide_all(r.value, p))
long = dict(r.value, cells=r.value["convergence"], convergence=[])
p640 = config.load_params("flatness", "book", {"seeds": S, "convergence_seeds": [], "epochs": 640})
print("-- read on the convergence runs (640 epochs) as the main runs:")
verdicts.show(vf.decide_all(long, p640))
t = vf.over_budgets(vf.budget_readings(r.value, p), p.step)
print(t.round(4).to_string())
