import json

import pytest

from augworth import claims
from augworth.verdicts import decide, decide_within


@pytest.mark.parametrize("effect,interval,threshold,direction,label", [
    (12.0, (11.0, 13.0), 10.0, ">=", "supported"),
    (12.0, (9.0, 13.0), 10.0, ">=", "inconclusive"),   # the interval contains the threshold
    (8.0, (7.0, 9.0), 10.0, ">=", "not supported"),
    (0.3, (-0.1, 0.7), 0.0, ">=", "inconclusive"),     # contains zero effect: never supported
    (2.0, None, 5.0, "<=", "supported"),               # exact check, no sampling error
    (6.0, None, 5.0, "<=", "not supported"),
    (float("nan"), (float("nan"), float("nan")), 1.0, ">=", "inconclusive"),
])
def test_decide(effect, interval, threshold, direction, label):
    assert decide(effect, interval, threshold, direction) == label


def test_decide_never_supports_an_interval_containing_the_threshold():
    for lo, hi in [(-3.0, 0.0), (-1.0, 1.0), (0.0, 3.0), (0.0, 0.0)]:
        for direction in (">=", "<="):
            assert decide((lo + hi) / 2, (lo, hi), 0.0, direction) == "inconclusive"


def test_decide_within():
    assert decide_within(1.0, (0.8, 1.3), 0.5, 2.0) == "supported"
    assert decide_within(1.0, (0.3, 1.3), 0.5, 2.0) == "inconclusive"
    assert decide_within(3.0, (2.5, 3.3), 0.5, 2.0) == "not supported"
    with pytest.raises(ValueError, match="direction"):
        decide(1, None, 0, ">")


def FakeResult(value=None, **meta):
    """A runner's Result with the provenance a record copies."""
    from augworth.experiments.registry import Result

    return Result(value=value or {}, meta={"device_name": "cpu", "wall_s": 1.0, "augworth": "0.1.0",
                                           "git_commit": "abc", "source": "computed", **meta})


def _decision(claim="A3", verdict="inconclusive", measured=9000.0, interval=(7000.0, 12000.0), rule=">= 10,000 draws",
              summary="median image needs 9,000", **kw):
    return claims.Decision(claim, verdict, measured, interval, rule, summary, **kw)


def test_record_roundtrip_and_validation(tmp_path, monkeypatch):
    """A record is its decision plus provenance: one type, written and read back unchanged."""
    monkeypatch.setenv("AUGWORTH_RECORDS", str(tmp_path))
    d = _decision(seeds=(0, 1), checks=(claims.Check("converged", False, "moved 0.02"),
                                        claims.Check("converged", False, "wide", fix="seeds", seeds=12)), n_seeds=2)
    rec = claims.record(d, result=FakeResult(), profile="smoke", dataset="fashion_mnist")
    stored = json.loads((tmp_path / "A3.json").read_text())
    assert stored["seeds"] == [0, 1] and stored["rule"] == ">= 10,000 draws"
    assert stored["checks"] == [{"name": "converged", "passed": False, "detail": "moved 0.02"},
                                {"name": "converged", "passed": False, "detail": "wide", "fix": "seeds", "seeds": 12}]
    back = claims.load_records(tmp_path)["A3"]
    assert back == rec and isinstance(back, claims.Decision) and back.reasons == ["moved 0.02", "wide"]
    assert back.seeds_text == "0, 1" and rec.device == "cpu" and rec.git_commit == "abc"
    with pytest.raises(ValueError, match="record for A3 has an empty field 'summary'"):
        claims.record(_decision(summary=" "), result=FakeResult(), profile="smoke", dataset="d")
    with pytest.raises(ValueError, match="record for A1 is missing the field 'device'"):
        claims.Record(claim="A1", verdict="supported", measured=1.0, interval=None, rule="t", summary="s",
                      profile="p", dataset="d", device=None, wall_s=1.0, package_version="v", git_commit="c",
                      source="s")
    with pytest.raises(ValueError, match="unknown claim 'Z9'"):
        claims.record(_decision(claim="Z9"), result=FakeResult(), profile="p", dataset="d")
    with pytest.raises(ValueError, match="verdict 'yes' is not one of"):
        claims.record(_decision(claim="A1", verdict="yes"), result=FakeResult(), profile="p", dataset="d")


def test_an_interval_is_labelled_with_its_own_coverage(tmp_path, monkeypatch):
    """A2's intervals are Bonferroni over 16 families (99.69%); B1's is 95% though its power
    calculation runs at Holm's strictest level. The decision keeps the interval's level, the
    record stores it (an older record without it reads 95%), and the page's text names it."""
    from augworth import verdicts
    from augworth.verdicts.rules import conclude

    assert [verdicts.level_text(v) for v in (0.95, 1 - 0.05 / 16, 1 - 0.1 / 9, 0.9)] == \
        ["95%", "99.69%", "98.89%", "90%"]
    a2 = conclude("A2", "not supported", 4130.0, (1813.0, 9406.0), "within [0.5, 2]", "s", level=1 - 0.05 / 16)
    b1 = conclude("B1", "supported", 0.021, (0.009, 0.033), "> 0", "s", level=1 - 0.1 / 9, interval_level=0.95)
    assert a2.level == pytest.approx(0.996875) and b1.level == 0.95
    assert "(99.69% CI 1,813 to 9,406)" in verdicts.describe(a2) and "(95% CI 0.009 to 0.033)" in verdicts.describe(b1)
    monkeypatch.setenv("AUGWORTH_RECORDS", str(tmp_path))
    claims.record(a2, result=FakeResult(), profile="smoke", dataset="d")
    assert json.loads((tmp_path / "A2.json").read_text())["level"] == pytest.approx(0.996875)
    stored = json.loads((tmp_path / "A2.json").read_text())
    del stored["level"]
    (tmp_path / "A2.json").write_text(json.dumps(stored))
    assert claims.load_records(tmp_path)["A2"].level == 0.95


def test_every_claim_names_an_existing_chapter():
    from augworth import pipeline

    for c in claims.CLAIMS.values():
        assert c.notebook in pipeline.notebook_names(), c


def test_record_wall_time_counts_the_cached_sweep_cells(tmp_path, monkeypatch):
    """A sweep chapter's runner can take 0.3 s when its cells are cached; the record keeps what
    the cells cost when they ran."""
    from augworth import claims

    monkeypatch.setenv("AUGWORTH_RECORDS", str(tmp_path))

    cached = FakeResult({"compute_s": 812.0}, wall_s=0.3, source="cache")
    d = claims.Decision("C3", "inconclusive", 0.0, (-1.0, 1.0), "> 0", "x", seeds=(0,))
    rec = claims.record(d, result=cached, profile="quick", dataset="fashion_mnist")
    assert rec.wall_s == 812.0
    assert claims.record(d, result=FakeResult(wall_s=0.3), profile="quick", dataset="fashion_mnist").wall_s == 0.3


def test_where_the_claim_puts_the_effect_travels_to_the_record_and_the_figure(tmp_path, monkeypatch):
    """conclude() derives the claimed side from the threshold unless told; the record keeps it;
    the scorecard figure shades that side of each threshold, one panel per claim."""
    import matplotlib

    matplotlib.use("Agg")
    from augworth.plotting.scorecard import claims_figure
    from augworth.verdicts import conclude, publish

    monkeypatch.setenv("AUGWORTH_RECORDS", str(tmp_path))
    d = {"C1": conclude("C1", "supported", 1.5, (1.2, 1.8), "v/n > 1", "s", threshold=1.0, sd=0.1, n_seeds=5,
                        seeds=range(5)),
         "A2": conclude("A2", "supported", 1.2, (1.0, 1.5), "within", "s", threshold=0.69, power_effect=0.2,
                        claimed=("within", 0.5, 2.0)),
         "A3": conclude("A3", "not supported", 200, (100, 400), ">= 10,000", "s", threshold=4.0, power_effect=2.3,
                        claimed=(">=", 10_000))}
    assert d["C1"].claimed == (">=", 1.0)
    assert conclude("A3", "inconclusive", 1.0, (0, 2), "r", "s", threshold=4.0, power_effect=0.0).claimed is None
    with pytest.raises(ValueError, match="claimed = .*use"):
        conclude("A1", "supported", 1.0, None, "r", "s", claimed=("<", 4))
    publish(d, result=FakeResult(), profile="smoke", dataset="fashion_mnist")
    recs = claims.load_records(tmp_path)
    assert recs["A2"].claimed == ("within", 0.5, 2.0) and recs["A3"].claimed == (">=", 10_000.0)
    fig = claims_figure(recs, ["A2", "A3", "C1"])
    axes = fig.axes
    assert len(axes) == 3
    spans = [[p for p in ax.patches] for ax in axes]
    x0 = [s[0].get_x() for s in spans]
    assert x0 == pytest.approx([0.5, 10_000, 1.0])                # each shade starts at its (lower) threshold
    assert axes[1].get_xscale() == "log" and axes[2].get_xscale() == "linear"  # draws span decades
