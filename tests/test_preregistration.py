"""The book profile's pre-registration (params/book/preregistration.yaml) says what the code and
the chapters' parameters do: every claim, the margins and tolerances the verdicts use, seed sets
disjoint between exploration and confirmation, convergence runs on confirmatory seeds, and a
compute the budget allows."""

from __future__ import annotations

import yaml

from augworth import claims, config, paths, runtime
from augworth.verdicts import sample_complexity as vsc

PREREG = paths.PARAMS / "book" / "preregistration.yaml"


def prereg() -> dict:
    return yaml.safe_load(PREREG.read_text())


def test_every_claim_is_registered_with_its_rule_threshold_and_margin():
    reg = prereg()
    assert sorted(reg["claims"]) == sorted(claims.CLAIMS)
    for cid, c in reg["claims"].items():
        assert c["rule"] and "threshold" in c and "margin" in c and c["convergence"], cid
    for cid, m in claims.MARGINS.items():  # the verdicts' margins are the registered ones
        assert reg["claims"][cid]["margin"] == m, cid
    assert claims.ACCURACY_TOL == 0.005 and "+-0.005" in reg["confirmatory"]["convergence"]
    assert vsc.DRAWS_TOL == 0.1 and "+-0.1" in reg["confirmatory"]["convergence"]
    assert isinstance(reg["deviations"], list)


def test_confirmatory_seeds_are_disjoint_from_the_exploratory_ones_and_run_in_the_profile():
    reg = prereg()
    explore = set(reg["exploratory"]["seeds"])
    confirm = reg["confirmatory"]["seeds"]
    for name in ("flatness", "saliency", "class_level", "sample_complexity", "exchange_rate"):
        p = config.load_params(name, "book")
        seeds = set(p.trained_seeds() if hasattr(p, "trained_seeds") else p.seeds)
        assert not explore & set(confirm[name]), name
        assert set(confirm[name]) <= seeds and explore <= seeds, name
        assert set(p.convergence_seeds) <= set(confirm[name]), f"{name}: convergence runs on confirmatory seeds"
        assert len(p.convergence_seeds) >= 4, name
    assert set(config.load_params("class_level", "book").choice_seeds) == explore
    inv = set(config.load_params("exchange_rate", "book").invariance_seeds)
    assert set(confirm["exchange_rate_c3"]) <= inv and not explore & set(confirm["exchange_rate_c3"])


def test_the_registered_profile_fits_its_compute_budget():
    from augworth.experiments import plan

    minutes = plan.profile_minutes("book")  # two reference cores
    assert minutes <= 180, f"the book profile counts {minutes:.0f} minutes on the reference machine"


def test_the_longer_budget_pilot_doubles_the_registered_budgets_on_unregistered_seeds():
    """pilots/longer_budgets.py: twice each chapter's registered budget, on seeds that are neither
    exploratory nor confirmatory, so that what it shows can size a next registration without
    touching this one."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("longer_budgets", paths.ROOT / "pilots" / "longer_budgets.py")
    pilot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pilot)
    reg = prereg()
    registered = set(reg["exploratory"]["seeds"]).union(*map(set, reg["confirmatory"]["seeds"].values()))
    assert not set(pilot.SEEDS) & registered
    for name, settings in pilot.SETTINGS.items():
        key = pilot.BUDGET[name]
        assert settings[key] == 2 * getattr(config.load_params(name, "book"), key), name
        config.load_params(name, "book", settings)  # valid parameters


def test_a_later_registration_keeps_the_rules_and_trains_fresh_seeds_within_the_cap():
    """registration-<n>.yaml registers claims again: the same rule, threshold and margin as the
    first registration (and the code's), a budget of its own, seeds no earlier registration or
    pilot trained, convergence runs on them, and a compute that fits the cap on its own."""
    from augworth import prereg as pr
    from augworth.experiments import plan

    first = prereg()
    earlier = (set(first["exploratory"]["seeds"]).union(*map(set, first["confirmatory"]["seeds"].values()))
               | set(first["longer_budgets"]["seeds"]))
    later = pr.later("book")
    assert [r.number for r in later] == list(range(2, 2 + len(later)))
    for reg in later:
        for cid in reg.claims:
            mine, theirs = reg.rules[cid], first["claims"][cid]
            assert {k: mine[k] for k in ("rule", "threshold", "direction", "margin")} == \
                {k: theirs[k] for k in ("rule", "threshold", "direction", "margin")}, cid
            if cid in claims.MARGINS:  # B1's margin lives with its verdict (LARGE_DROP)
                assert mine["margin"] == claims.MARGINS[cid], cid
        for chapter, over in reg.chapters.items():
            p = config.load_params(chapter, "book", over)
            seeds = set(reg.seeds(chapter))
            assert seeds and not seeds & earlier, f"{reg.file}: {chapter} trains seeds already used"
            # seeds it only chooses on are exploratory (the first registration's, or those this one
            # declares it looked at: earlier registrations' seeds), never tested here
            declared = set(yaml.safe_load((paths.ROOT / reg.file).read_text())["exploratory"]["seeds"])
            assert set(reg.choice_seeds(chapter)) <= set(first["exploratory"]["seeds"]) | declared, chapter
            assert not set(reg.choice_seeds(chapter)) & seeds, chapter
            assert set(reg.choice_seeds(chapter)) == set(getattr(p, "choice_seeds", ())), chapter
            assert set(p.convergence_seeds) <= seeds and len(p.convergence_seeds) >= 4, chapter
            earlier |= seeds
        total = plan.profile_table("book", list(reg.chapters), overrides=reg.chapters, gates=reg.gates).iloc[-1]["TFLOP"]
        minutes = plan.minutes(total, plan.sustained_tflops(runtime.REFERENCE_STEP_MS) * 2)
        assert minutes <= 180, f"{reg.file} counts {minutes:.0f} minutes on the reference machine"
