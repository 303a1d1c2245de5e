"""A pre-registered profile's verdicts read its confirmatory seeds alone, the exploratory seeds'
verdicts are shown beside them, and a profile without a registration stays exploratory: the
division of a runner's value by seed (analysis.seeds, verdicts.seed_view) and the records it
writes."""

import pandas as pd

from augworth import claims, prereg, verdicts
from augworth.analysis.seeds import restrict, seeds_in
from augworth.experiments.registry import Result
from augworth.verdicts.rules import conclude


def value(seeds, choice=()):
    return {"cells": [{"seed": s, "augment": a, "x": float(s)} for s in seeds for a in ("none", "crop")],
            "convergence": [{"seed": s, "augment": "none", "factor": 2} for s in seeds if s >= 100],
            "table": pd.DataFrame({"seed": list(seeds), "err": [0.1] * len(seeds)}),
            "nested": {"runs": [{"seed": s} for s in seeds]}, "choice_seeds": list(choice), "strengths": ["a"]}


def test_restrict_keeps_the_named_seeds_at_every_depth_and_leaves_the_value_alone():
    v = value([0, 1, 100, 101])
    r = restrict(v, [100, 101])
    assert seeds_in(r) == {100, 101} and seeds_in(v) == {0, 1, 100, 101}
    assert {c["seed"] for c in r["cells"]} == {100, 101} and list(r["table"].seed) == [100, 101]
    assert [x["seed"] for x in r["nested"]["runs"]] == [100, 101] and r["strengths"] == ["a"]
    main = restrict({"seed": 0, "records": [{"image": 1}], "seed_records": [{"seed": 100}]}, [100])
    assert main["seeds_kept"] == [100] and main["records"] == [{"image": 1}]  # the main seed's readers leave it out


def fake_decide(v):
    seeds = sorted({c["seed"] for c in v["cells"]})
    return {"C5": conclude("C5", "supported", float(len(seeds)), (0.5, 1.5), "r", "s", seeds=tuple(range(200)),
                           n_seeds=len(seeds))}


def test_book_verdicts_read_the_confirmatory_seeds_and_the_exploratory_ones_beside():
    reg = prereg.load("book")
    conf = reg.confirmatory_seeds("flatness")
    assert not set(conf) & set(reg.exploratory) and conf
    v = value([*reg.exploratory, *conf])
    view = verdicts.seed_view(v, "flatness", "book")
    assert view.confirmatory and set(view.seeds) == set(conf) and set(view.exploratory_seeds) == set(reg.exploratory)
    page, beside = view.decide(fake_decide)
    assert page["C5"].n_seeds == len(conf) and set(page["C5"].seeds) == set(conf)
    assert beside["C5"].n_seeds == len(reg.exploratory) and set(beside["C5"].seeds) == set(reg.exploratory)
    assert "confirmatory" in view.describe() and "exploratory" in view.describe()
    # a chapter that chooses on the exploratory seeds keeps them on the page (never tested on)
    v = value([*reg.exploratory, *reg.confirmatory_seeds("class_level")], choice=reg.exploratory)
    view = verdicts.seed_view(v, "class_level", "book")
    assert set(view.seeds) == set(reg.exploratory) | set(reg.confirmatory_seeds("class_level"))
    assert view.exploratory["choice_seeds"] == list(reg.exploratory)


def test_profiles_without_registration_or_confirmatory_seeds_stay_exploratory():
    assert prereg.load("quick") is None
    v = value([0, 1, 2])
    for profile in ("quick", "book"):  # book with parameters that left its confirmatory seeds out
        view = verdicts.seed_view(v, "flatness", profile)
        assert not view.confirmatory and view.seeds == (0, 1, 2) and view.page is v
        page, beside = view.decide(fake_decide)
        assert beside is None and page["C5"].n_seeds == 3


def test_published_records_carry_the_stage_the_exploratory_verdict_and_deviations(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGWORTH_RECORDS", str(tmp_path))
    reg = prereg.load("book")
    v = value([*reg.exploratory, *reg.confirmatory_seeds("flatness")])
    page, beside = verdicts.seed_view(v, "flatness", "book").decide(fake_decide)
    result = Result(v, {"device_name": "cpu", "augworth": "0", "git_commit": "abc", "source": "computed", "wall_s": 1})
    verdicts.publish(page, result=result, profile="book", dataset="fashion_mnist", exploratory=beside)
    rec = claims.load_records(tmp_path)["C5"]
    assert rec.stage == "confirmatory" and rec.exploratory["n_seeds"] == len(reg.exploratory)
    assert rec.deviations == tuple(reg.deviations_for("C5"))
    verdicts.publish(page, result=result, profile="quick", dataset="fashion_mnist")
    rec = claims.load_records(tmp_path)["C5"]
    assert rec.stage == "exploratory" and rec.exploratory is None and rec.deviations == ()


def test_deviations_name_their_claims():
    reg = prereg.Registration("x", "2026-01-01", (0,), {"flatness": (100,)}, {},
                              ({"date": "d", "claims": ["C5"], "what": "w", "why": "y"},
                               {"date": "d", "claims": "all", "what": "w2", "why": "y"}))
    assert [d["what"] for d in reg.deviations_for("C5")] == ["w", "w2"]
    assert [d["what"] for d in reg.deviations_for("A1")] == ["w2"]


def later_registration(number=2, claims_=("C5",), seeds=(200, 201, 202)):
    return prereg.LaterRegistration("smoke", number, "2026-12-05", tuple(claims_),
                                    {"flatness": {"seeds": list(seeds), "epochs": 4}}, {"C5": {"rule": "r"}},
                                    ({"date": "d", "claims": ["C5"], "what": "w", "why": "y"},), "params/x.yaml")


def test_a_later_registration_decides_its_claims_once_stored_with_the_first_beside(tmp_path, monkeypatch):
    """registered_again reads a later registration's stored result (never computes it) on its own
    seeds; publish_final records its verdict (registration 2, the first registration's beside,
    its own deviations); while it is not stored, or on a page that is not the confirmatory one
    (a replication), the first registration's verdict stands."""
    from augworth.experiments import registry

    monkeypatch.setenv("AUGWORTH_RECORDS", str(tmp_path))
    monkeypatch.setattr(prereg, "later_for", lambda profile, chapter: (later_registration(),))
    meta = {"device_name": "cpu", "augworth": "0", "git_commit": "abc", "source": "cache", "wall_s": 1}
    stored = {}
    monkeypatch.setattr(registry, "stored", lambda name, p: stored.get(tuple(p.seeds)))
    first = Result(value([100, 101, 102]), meta)
    decisions = fake_decide(first.value)

    (again,) = verdicts.registered_again("flatness", "smoke", {}, lambda v, p, **_: fake_decide(v))
    assert again.result is None and again.decisions == {} and "not computed yet" in again.describe()
    from augworth import plotting

    assert "seeds 200-202, not computed yet" in plotting.provenance_box(first, "smoke", "d", "100-102", [again]).data
    final = verdicts.publish_final(decisions, None, [again], result=first, profile="smoke", dataset="fashion_mnist")
    rec = claims.load_records(tmp_path)["C5"]
    assert final == decisions and rec.registration == 1 and rec.earlier is None

    stored[(200, 201, 202)] = Result(value([200, 201, 202]), meta)
    (again,) = verdicts.registered_again("flatness", "smoke", {}, lambda v, p, **_: fake_decide(v))
    assert again.params.epochs == 4 and again.decisions["C5"].n_seeds == 3 and "200-202" in again.describe()
    final = verdicts.publish_final(decisions, None, [again], result=first, profile="smoke", dataset="fashion_mnist")
    rec = claims.load_records(tmp_path)["C5"]
    assert final["C5"] is again.decisions["C5"] and rec.registration == 2 and rec.stage == "confirmatory"
    assert rec.earlier["n_seeds"] == 3 and rec.earlier["verdict"] == "supported" and [d["what"] for d in rec.deviations] == ["w"]
    box = verdicts.result_box(final, profile="smoke", dataset="d", exploratory={}, again=[again], earlier=decisions).data
    assert "registration 2" in box and "registration 1: " in box
    assert f"C5: registration 2 ({again.registration.file})" in box and "registration 1's confirmatory verdict, beside" in box
    prov = plotting.provenance_box(first, "smoke", "d", "100-102", [again]).data
    assert "registration 2" in prov and "seeds 200-202" in prov and "the results cache" in prov
    assert rec.exploratory is None
    assert verdicts.registered_again("flatness", "smoke", {}, lambda v, p, **_: fake_decide(v), confirmatory=False) == []

    stored[(200, 201, 202)] = Result(value([200, 201, 202, 7]), meta)  # a result holding other seeds
    import pytest

    with pytest.raises(ValueError, match="not only the registered"):
        verdicts.registered_again("flatness", "smoke", {}, lambda v, p, **_: fake_decide(v))


def test_later_registrations_are_read_from_their_files_and_checked(tmp_path, monkeypatch):
    import pytest

    from augworth import paths

    monkeypatch.setattr(paths, "PARAMS", tmp_path)
    (tmp_path / "p").mkdir()
    good = ("number: {n}\nregistered: '2026-12-05'\nclaims: [C5]\nrules: {{C5: {{rule: r, margin: 0.04}}}}\n"
            "confirmatory:\n  flatness: {{seeds: [200, 201], epochs: 160}}\n  power: text\n")
    (tmp_path / "p" / "registration-2.yaml").write_text(good.format(n=2))
    prereg.later.cache_clear()
    (reg,) = prereg.later("p")
    assert reg.number == 2 and reg.seeds("flatness") == (200, 201) and list(reg.chapters) == ["flatness"]
    assert prereg.later_for("p", "saliency") == () and prereg.later("q") == ()
    (tmp_path / "p" / "registration-3.yaml").write_text(good.format(n=2))
    prereg.later.cache_clear()
    with pytest.raises(ValueError, match="distinct numbers above 1"):
        prereg.later("p")
    (tmp_path / "p" / "registration-3.yaml").write_text("number: 3\nclaims: [C5]\n")
    prereg.later.cache_clear()
    with pytest.raises(ValueError, match="lacks confirmatory, rules"):
        prereg.later("p")
    gated = good.format(n=3).replace("margin: 0.04}", "margin: 0.04, gate: GATE}")
    (tmp_path / "p" / "registration-3.yaml").write_text(gated.replace("GATE", "\"toward the claim's boundary\""))
    prereg.later.cache_clear()
    two, three = prereg.later("p")
    assert two.gates == {} and three.gates == {"C5": "toward the claim's boundary"}
    (tmp_path / "p" / "registration-3.yaml").write_text(gated.replace("GATE", "one-sided"))
    prereg.later.cache_clear()
    with pytest.raises(ValueError, match=r"rules.C5.gate = 'one-sided'; .* one of 'two-sided', \"toward"):
        prereg.later("p")
    (tmp_path / "p" / "registration-3.yaml").write_text(gated.replace("GATE", "two-sided, shown: crop(3)"))
    prereg.later.cache_clear()
    with pytest.raises(ValueError, match=r"rules.C5.shown: only A2, B1 and B2 may name"):  # A2's family, B1's, B2's class
        prereg.later("p")
    a2 = gated.replace("C5", "A2").replace("GATE", "two-sided, shown: crop(3)")
    (tmp_path / "p" / "registration-3.yaml").write_text(a2)
    prereg.later.cache_clear()
    assert prereg.later("p")[1].shown == {"A2": "crop(3)"} and prereg.later("p")[0].shown == {}
    c1 = good.format(n=3).replace("C5", "C1").replace("margin: 0.04}", "margin: 0.04, held_out: HELD}")
    (tmp_path / "p" / "registration-3.yaml").write_text(c1.replace("HELD", "1000"))
    prereg.later.cache_clear()
    assert prereg.later("p")[1].readings == {"C1": {"held_out": 1000}} and prereg.later("p")[0].readings == {}
    for bad, allowed in (("'1000'", "a positive size"), ("0", "a positive size")):
        (tmp_path / "p" / "registration-3.yaml").write_text(c1.replace("HELD", bad))
        prereg.later.cache_clear()
        with pytest.raises(ValueError, match=f"rules.C1.held_out = .*; allowed: {allowed}"):
            prereg.later("p")
    c2 = good.format(n=3).replace("C5", "C2").replace("margin: 0.04}", "margin: 0.04, refuted_by: the fit}")
    (tmp_path / "p" / "registration-3.yaml").write_text(c2)
    prereg.later.cache_clear()
    with pytest.raises(ValueError, match="rules.C2.refuted_by = 'the fit'; allowed: 'measured reference'"):
        prereg.later("p")
    prereg.later.cache_clear()
