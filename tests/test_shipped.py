"""The shipped results (data/results/<profile>/): the book is built from them, so they must be
complete (every chapter's result, no training on `make book`), small, carry their provenance,
and still follow from the code: the cheapest shipped cells are recomputed here and compared."""

import json

import pytest

from augworth import config, paths, prereg, shipping

SHIPPED = sorted(p.name for p in paths.COMMITTED_RESULTS.glob("*") if (p / shipping.PROVENANCE).is_file())
MAX_BYTES = 20e6
# recomputed in CI: the cheapest cell of the two sweeps every training chapter shares the road of (the
# exchange cells and the training cells: train_on_cell, fit, the augmentations, the models); ~22 s here
SPOT_RUNNERS = ("exchange_cell", "train_cell")
SPOT_MAX_S = 30.0  # a cell dearer than this is not recomputed in CI (the book profile's training cells: ~60 s)
# the runners some shipped profile spot-checks within SPOT_MAX_S: each road is recomputed at least once
SPOT_COVERED = sorted({r for p in SHIPPED for r, *_ in shipping.cheapest_cells(p, 1, SPOT_MAX_S, SPOT_RUNNERS)})


def test_the_book_profile_is_shipped():
    assert config.DEFAULT_PROFILE in SHIPPED  # make book reads it: a fresh clone trains nothing


@pytest.mark.parametrize("profile", SHIPPED)
def test_every_chapter_is_shipped_with_its_records_and_provenance(profile):
    for name in paths.chapter_names():
        assert shipping.status(name, profile) in ("current", "stale"), f"{name}: nothing shipped for {profile}"
    prov = shipping.provenance(profile)
    for field in ("computed", "commits", "machine", "cells_compute_s", "chapters_wall_s", "entries", "bytes"):
        assert field in prov, field
    assert prov["machine"]["reference_step_ms"] > 0 and prov["machine"]["cpu"]
    records = sorted(p.stem for p in (shipping.shipped_dir(profile) / shipping.RECORDS).glob("*.json"))
    from augworth.claims import CLAIMS

    assert records == sorted(CLAIMS), "every claim's shipped verdict"
    committed = shipping.committed_files(profile)
    size = sum(p.stat().st_size for p in committed)
    own = (shipping.shipped_dir(profile) / shipping.PROVENANCE).stat().st_size
    assert size <= MAX_BYTES and size - own <= prov["bytes"] <= size  # counted with PROVENANCE.json or without
    assert max(p.stat().st_size for p in committed) <= 5e6, "a shipped file over 5 MB (committed .gz instead)"


@pytest.mark.parametrize("profile", SHIPPED)
def test_every_shipped_entry_is_whole(profile):
    """Each entry is what the cache wrote: its checksum holds (a hand edit or a broken merge fails)."""
    from augworth.experiments.cache import ResultsCache

    cache = ResultsCache(root=paths.ROOT / "build" / "no-cache-here", read_only=[shipping.shipped_dir(profile)])
    entries = [p for p in shipping.shipped_dir(profile).glob("*/*.json") if p.parent.name != shipping.RECORDS]
    assert entries
    for path in entries:
        assert cache.get(path.parent.name, path.stem) is not None, path


@pytest.mark.parametrize("profile", SHIPPED)
def test_shipped_cells_still_follow_from_the_code(profile):
    """The cheapest shipped cell of every sweep runner, recomputed here, matches what is shipped
    within the stated tolerance (another CPU's floating point differs a little; a change of what
    the code computes, made without a new version, differs more)."""
    rows = shipping.spot_check(profile, per_runner=1, max_s=SPOT_MAX_S, runners=SPOT_RUNNERS)
    assert "exchange_cell" in {r["runner"] for r in rows}  # every profile: the training road every chapter shares
    assert set(SPOT_COVERED) == set(SPOT_RUNNERS)
    failed = {f"{r['runner']}/{r['cell']}": r["differences"][:5] for r in rows if r["differences"]}
    assert failed == {}, json.dumps(failed, indent=1)


@pytest.mark.parametrize("profile", SHIPPED)
def test_the_data_chapter_recomputes_to_what_is_shipped(profile, tmp_path):
    from augworth.experiments import run
    from augworth.experiments.cache import ResultsCache

    p = config.load_params("data", profile)
    shipped = run("data", p, cache=ResultsCache(root=tmp_path / "empty", read_only=[shipping.shipped_dir(profile)]))
    assert shipped.meta["source"] == f"committed:{profile}"
    again = run("data", p, cache=ResultsCache(root=tmp_path / "fresh", read_only=[]))
    assert again.meta["source"] == "computed"
    assert shipping.differences(shipped.value, again.value) == []


def test_the_spot_check_sees_a_changed_number():
    shipped = {"test_acc": 0.81, "per_class": [0.9, 0.7], "train_seconds": 3.0}
    assert shipping.differences(shipped, {"test_acc": 0.815, "per_class": [0.9, 0.71], "train_seconds": 9.0}) == []
    assert shipping.differences(shipped, {"test_acc": 0.7, "per_class": [0.9, 0.7], "train_seconds": 3.0}) == \
        ["test_acc: shipped 0.81, recomputed 0.7"]
    assert shipping.differences(shipped, {"test_acc": 0.81, "train_seconds": 3.0}) == [
        "per_class[0]: only in the shipped result", "per_class[1]: only in the shipped result"]


def test_ship_then_reproduce_one_chapter_side_by_side(tmp_path, monkeypatch, capsys):
    """The round trip on the smoke profile: compute a chapter, ship it (into a scratch results
    folder), reproduce it from scratch, and compare: the same machine and code agree."""
    from augworth import pipeline

    shipped_root = tmp_path / "results"
    monkeypatch.setenv("AUGWORTH_RESULTS", str(shipped_root))
    monkeypatch.setattr(paths, "COMMITTED_RESULTS", shipped_root)
    monkeypatch.setattr(pipeline, "reproduce_dir", lambda profile: tmp_path / "reproduce" / profile)
    run_dir = tmp_path / "run"
    pipeline.execute_all(["flatness"], "smoke", out_dir=run_dir)
    prov = shipping.ship("smoke", paths.cache_root() / "results", run_dir / "_records", step_ms=13.4)
    assert prov["records"] == ["C5"] and prov["entries"]["flatness"] == 1 and prov["entries"]["flatness_cell"] >= 2
    assert shipping.status("flatness", "smoke") == "current"
    # what the notebooks read and the spot check's cells alone: the chapter's result stays current
    lean = shipping.ship("smoke", paths.cache_root() / "results", run_dir / "_records", step_ms=13.4, only_read=True)
    assert lean["entries"]["flatness"] == 1 and lean["entries"]["flatness_cell"] == min(2, prov["entries"]["flatness_cell"])
    assert sum(lean["cells_left_out"].values()) == sum(prov["entries"].values()) - sum(lean["entries"].values())
    def entries_bytes(pr):  # the shipped files but PROVENANCE.json (the lean one says more about what it left)
        return pr["bytes"] - len((json.dumps(pr, indent=1) + "\n").encode())

    assert entries_bytes(lean) <= entries_bytes(prov) and shipping.status("flatness", "smoke") == "current"
    # an entry over PACK_BYTES is committed gzip-compressed, listed as unpacked, and reads the same
    from augworth import io

    monkeypatch.setattr(shipping, "PACK_BYTES", 2_000)
    packed = shipping.ship("smoke", paths.cache_root() / "results", run_dir / "_records", step_ms=13.4, only_read=True)
    (gz,) = (shipped_root / "smoke" / "flatness").glob("*.json.gz")
    assert gz.with_suffix("").is_file() and shipping.status("flatness", "smoke") == "current"
    assert f"/flatness/{gz.stem}" in (shipped_root / "smoke" / io.UNPACKED_LIST).read_text()
    assert gz.with_suffix("") not in shipping.committed_files("smoke") and gz in shipping.committed_files("smoke")
    assert packed["bytes"] < lean["bytes"] + 1_000
    gz.with_suffix("").unlink()
    assert io.unpack_gzipped(shipped_root) == [gz.with_suffix("")]  # a fresh clone's first use
    assert io.unpack_gzipped(shipped_root) == [] and shipping.status("flatness", "smoke") == "current"
    monkeypatch.setattr(shipping, "PACK_BYTES", io.PACK_BYTES)
    shipping.ship("smoke", paths.cache_root() / "results", run_dir / "_records", step_ms=13.4, only_read=True)
    # a later registration of the chapter is reproduced too (computed before the pages run)
    from augworth import prereg
    from augworth.experiments.registry import stored

    later = prereg.LaterRegistration("smoke", 2, "d", ("C5",), {"flatness": {"seeds": [3], "epochs": 1}}, {})
    monkeypatch.setattr(prereg, "later", lambda profile: (later,) if profile == "smoke" else ())
    reproduced = pipeline.reproduce("smoke", ["flatness"])
    assert (tmp_path / "reproduce" / "smoke" / "cache").is_dir()  # its own cache, the shipped one untouched
    from augworth.experiments.cache import ResultsCache

    mine = ResultsCache(root=tmp_path / "reproduce" / "smoke" / "cache" / "results", read_only=[])
    assert stored("flatness", config.load_params("flatness", "smoke", later.chapters["flatness"]), cache=mine)
    table = shipping.compare(shipped_root / "smoke" / shipping.RECORDS, reproduced, ["flatness"])
    assert list(table["claim"]) == ["C5"] and bool(table["same verdict"].iloc[0])
    shipping.print_comparison(table)
    assert "1 of 1 verdicts the same" in capsys.readouterr().out


def test_make_book_names_stale_chapters_and_how_to_refresh(tmp_path, monkeypatch, capsys):
    """When the code that computed a shipped result changes, make book says so (and trains nothing)."""
    from augworth import pipeline
    from augworth.experiments import registry

    assert shipping.status("data", config.DEFAULT_PROFILE) == "current"
    monkeypatch.setattr(registry, "code_hash", lambda module: "changed-code")
    assert shipping.status("data", config.DEFAULT_PROFILE) == "stale"
    outcomes = pipeline.execute_all(["data"], config.DEFAULT_PROFILE, out_dir=tmp_path)
    assert outcomes[0].results == "stale"
    err = capsys.readouterr().err
    assert "stale: data" in err and "make reproduce NAME=<chapter>" in err and "no stored result" not in err


def test_what_ships_includes_the_longer_budget_pilot_the_pages_show(tmp_path):
    """The registration's longer-budget pilot is read by its chapter's page (never computed there:
    registry.stored), so shipping keeps it beside the chapter's own result."""
    from augworth import prereg
    from augworth.experiments.cache import ResultsCache, cache_key
    from augworth.experiments.registry import RUNNERS, stored

    over = prereg.load("book").longer_budget("flatness")
    assert over and over["epochs"] == 2 * config.load_params("flatness", "book").epochs
    p = config.load_params("flatness", "book", over)
    path = tmp_path / "flatness" / f"{cache_key('flatness', RUNNERS['flatness'].version, p.to_dict())}.json"
    stranger = tmp_path / "flatness" / "0123456789abcdef01234567.json"
    kept, _ = shipping.read_entries("book", [path, stranger])
    assert kept == [path]
    assert stored("flatness", p, cache=ResultsCache(root=tmp_path / "empty", read_only=[])) is None


def test_the_pages_find_the_shipped_longer_budget_pilot():
    from augworth import verdicts

    assert verdicts.longer_pilot("flatness", "smoke") == (None, None)  # no registration, no pilot
    p, result = verdicts.longer_pilot("flatness", "book")
    assert p.epochs == 2 * config.load_params("flatness", "book").epochs
    assert result is not None and result.meta["source"].startswith(("committed", "cache"))
    assert verdicts.longer_pilot("flatness", "book", {"n_train": 1000})[1] is None  # other parameters: not stored


def test_a_page_sets_its_verdicts_beside_the_shipped_pilot():
    from augworth import verdicts
    from augworth.verdicts import exchange_rate as vc

    p = config.load_params("exchange_rate", "book")
    page = verdicts.beside_longer_pilot({}, "exchange_rate", "smoke", {}, p, vc.decide_value, "steps")
    assert "registers no longer-budget pilot" in page.data
    _, pilot = verdicts.longer_pilot("exchange_rate", "book")
    decisions = vc.decide_value(pilot.value, p)  # any decisions: the table sets both sides
    html = verdicts.beside_longer_pilot(decisions, "exchange_rate", "book", {}, p, vc.decide_value, "steps").data
    assert "600 steps: effect" in html and "1200 steps, seeds 5-9: verdict" in html and "C3" in html


def test_shipping_keeps_a_later_registrations_result(tmp_path):
    """The pages read a later registration's result (registration-<n>.yaml): shipping keeps it."""
    from augworth import prereg
    from augworth.experiments.cache import cache_key
    from augworth.experiments.registry import RUNNERS

    regs = prereg.later_for("book", "flatness")
    assert [r.number for r in regs] == [2, 3]
    paths = []
    for reg in regs:
        p = config.load_params("flatness", "book", reg.chapters["flatness"])
        paths.append(tmp_path / "flatness" / f"{cache_key('flatness', RUNNERS['flatness'].version, p.to_dict())}.json")
    kept, _ = shipping.read_entries("book", paths)
    assert sorted(kept) == sorted(paths)


def test_the_flatness_page_finds_registration_2s_shipped_result():
    """Registration 2 (C5 at 160 epochs, seeds 200-207) is shipped: the page decides C5 from it,
    on its registered seeds only, with the convergence runs of every seed."""
    from augworth import verdicts
    from augworth.verdicts import flatness as vf

    again = verdicts.registered_again("flatness", "book", {}, vf.decide_all)
    two = [a for a in again if a.registration.number == 2]
    assert len(two) == 1 and two[0].result is not None
    assert two[0].result.meta["source"].startswith(("committed", "cache"))
    d = two[0].decisions["C5"]
    assert list(d.seeds) == list(range(200, 208))
    assert sum(c.name == "converged" for c in d.checks) == 3  # the effect and each arm's accuracy
    assert d.verdict in ("supported", "not supported", "inconclusive")


def test_registration_3_decides_c5_under_its_one_sided_gate():
    """Registration 3 (C5 at 160 epochs, seeds 300-311, gate toward the claim's boundary) is
    shipped and is the latest: the book's C5 verdict is read from it, with one convergence check
    (the effect's, one-sided) and the arms' test-accuracy changes in the summary, not gating."""
    from augworth import verdicts
    from augworth.verdicts import flatness as vf

    again = verdicts.registered_again("flatness", "book", {}, vf.decide_all)
    three = [a for a in again if a.registration.number == 3]
    assert len(three) == 1 and three[0].result is not None
    assert three[0].registration.gates == {"C5": vf.TOWARD_BOUNDARY}
    d = three[0].decisions["C5"]
    assert list(d.seeds) == list(range(300, 312))
    converged = [c for c in d.checks if c.name == "converged"]
    assert len(converged) == 1 and "one-sided" in converged[0].detail
    assert d.summary.count("beside, not gating: test accuracy of") == 2
    assert d.verdict in ("supported", "not supported", "inconclusive")


def test_registration_4_decides_c3_and_c4_under_their_one_sided_gate():
    """Registration 4 (C3 and C4 at 600 steps, seeds 400-447, gate toward the claim's boundary)
    is shipped: the exchange_rate page reads C3 and C4 from it (C1 and C2 stay registration 1's),
    each with one one-sided convergence check of its own contrast over the 48 seeds."""
    from augworth import verdicts
    from augworth.verdicts import exchange_rate as vc

    again = verdicts.registered_again("exchange_rate", "book", {}, vc.decide_value)
    (four,) = [a for a in again if a.registration.number == 4]
    assert four.result is not None and four.registration.gates == {"C3": vc.TOWARD_BOUNDARY, "C4": vc.TOWARD_BOUNDARY}
    assert sorted(four.decisions) == ["C3", "C4"]
    for d in four.decisions.values():
        assert list(d.seeds) == list(range(400, 448)) and d.n_seeds == 48
        (converged,) = [c for c in d.checks if c.name == "converged"]
        assert "48 seeds" in converged.detail
        if d.verdict != "inconclusive":
            assert "one-sided" in converged.detail


def class_level_decide():
    """class_level's decide_value with the data set's class names, as the page calls it (a
    registration names B1's class by name)."""
    from augworth.data import load_dataset
    from augworth.verdicts import class_level as vb

    names = load_dataset("fashion_mnist").classes
    return lambda v, q, **kw: vb.decide_value(v, q, class_names=names, **kw)


def class_level_registration(number: int):
    """The book's class_level registration ``number`` read again from its shipped result, as the
    page reads it."""
    from augworth import verdicts

    again = verdicts.registered_again("class_level", "book", {}, class_level_decide())
    (it,) = [a for a in again if a.registration.number == number]
    return it


def shipped_record(claim: str) -> dict:
    return json.loads((shipping.shipped_dir("book") / shipping.RECORDS / f"{claim}.json").read_text())


def test_registration_5_decides_b3_under_its_one_sided_gate():
    """Registration 5 (B3 at 80 epochs, seeds 500-523, gate toward the claim's boundary) is
    shipped: the class_level page reads B3 from it (B1, B2 and B4 stay registration 1's), its pair
    chosen on seeds 0-4 and tested on the 24 fresh seeds, with one one-sided convergence check of
    its own effect over them; the shipped record is that decision."""
    from augworth.verdicts import class_level as vb
    from augworth.verdicts import exchange_rate as vc

    five = class_level_registration(5)
    assert five.result is not None and five.registration.gates == {"B3": vc.TOWARD_BOUNDARY}
    assert sorted(five.result.value["choice_seeds"]) == [0, 1, 2, 3, 4] and list(five.decisions) == ["B3"]
    d = five.decisions["B3"]
    assert list(d.seeds) == list(range(500, 524)) and d.n_seeds == 24
    (converged,) = [c for c in d.checks if c.name == "converged"]
    assert "24 seeds" in converged.detail and "one-sided" in converged.detail
    assert d.verdict == "inconclusive"  # shown on the page beside registration 6's, which the record holds


def test_registration_6_decides_b3_on_46_seeds_trained_on_a_gpu():
    """Registration 6 (B3 again on seeds 600-645, no augmentation and rrc(0.08), the same gate) is
    the book's B3: the pair chosen on the shipped choice models of seeds 0-4, one one-sided
    convergence check over its 46 seeds, the record that decision, and its provenance the GPU."""
    from augworth.verdicts import class_level as vb

    six = class_level_registration(6)
    assert six.result is not None and six.result.value["strengths"] == ["none", "0.08"]
    assert sorted(six.result.value["choice_seeds"]) == [0, 1, 2, 3, 4] and list(six.decisions) == ["B3"]
    d = six.decisions["B3"]
    assert list(d.seeds) == list(range(600, 646)) and d.n_seeds == 46
    (converged,) = [c for c in d.checks if c.name == "converged"]
    assert "46 seeds" in converged.detail and "one-sided" in converged.detail
    record = json.loads((shipping.shipped_dir("book") / shipping.RECORDS / "B3.json").read_text())
    assert record["registration"] == 6 and record["verdict"] == d.verdict
    assert record["measured"] == pytest.approx(d.measured)
    stage = shipping.provenance("book")["stages"]["registration_6"]
    assert "H100" in stage["machine"] and stage["cells"] == 184
    from augworth import plotting  # the page's provenance box names where its models were trained

    assert "H100" in plotting._stage_machine({"source": "committed:book"}, 6)
    assert plotting._stage_machine({"source": "cache"}, 6) == ""  # a result computed here says nothing of it


def test_the_models_later_registrations_choose_on_are_shipped():
    """class_level's choice seeds (registrations 5 and 6 choose B3's pair on them): their models are
    shipped, so a fresh clone remakes the choice from them and the plan knows it trains no B4 policy."""
    from augworth.experiments import class_level as cl
    from augworth.experiments import plan

    wanted = shipping.choice_cells("book")
    # seeds 0-4 at no augmentation, rrc(1) and rrc(0.08); registration 10's 500-515 at rrc(1) and rrc(0.08)
    assert len(wanted) == 15 + 32
    assert all((shipping.shipped_dir("book") / runner / f"{key}.json").is_file() for runner, key in wanted)
    reg = {r.number: r for r in prereg.later("book")}
    p = config.load_params("class_level", "book", reg[6].chapters["class_level"])
    assert plan.stored_second_stage(cl, p) == []
    # registration 10 chooses where a class is hurt: its B4 policies are trained (the plan counts the most)
    ten = config.load_params("class_level", "book", reg[10].chapters["class_level"])
    assert plan.stored_second_stage(cl, ten) is None


def test_registration_7_decides_a2_on_its_named_family_under_its_one_sided_gate():
    """Registration 7 (A2 at 40 epochs, seeds 700-723, crop(2)+flip named in advance, gate toward
    the claim's boundary) is the book's A2: its shown family is the named one, its one convergence
    check one-sided over the 24 seeds, and the shipped record that decision."""
    from augworth import verdicts
    from augworth.verdicts import exchange_rate as vc
    from augworth.verdicts import sample_complexity as vs

    (seven,) = verdicts.registered_again("sample_complexity", "book", {}, vs.decide_all)
    assert seven.registration.number == 7 and seven.result is not None
    assert seven.registration.gates == {"A2": vc.TOWARD_BOUNDARY} and seven.registration.shown == {"A2": "crop(2)+flip"}
    d = seven.decisions["A2"]
    assert list(seven.decisions) == ["A2"] and list(d.seeds) == list(range(700, 724)) and d.n_seeds == 24
    assert "shown: crop(2)+flip (named by the registration)" in d.summary
    (converged,) = [c for c in d.checks if c.name == "converged"]
    assert "24 seeds" in converged.detail and "one-sided" in converged.detail
    record = json.loads((shipping.shipped_dir("book") / shipping.RECORDS / "A2.json").read_text())
    assert record["registration"] == 7 and record["verdict"] == d.verdict
    assert record["measured"] == pytest.approx(d.measured)


def test_registration_8_decides_b1_on_its_named_class_under_its_one_sided_gate():
    """Registration 8 (B1 at 80 epochs, seeds 800-815, Pullover named in advance, gate toward the
    claim's boundary on its drop) is the book's B1: s* and the best strengths chosen on seeds 0-4,
    the named class's drop shown, one one-sided convergence check of it over the 16 seeds, and the
    shipped record that decision."""
    from augworth.verdicts import class_level as vb
    from augworth.verdicts import exchange_rate as vc

    eight = class_level_registration(8)
    assert eight.result is not None and eight.registration.gates == {"B1": vc.TOWARD_BOUNDARY}
    assert eight.registration.shown == {"B1": "Pullover"} and list(eight.decisions) == ["B1"]
    d = eight.decisions["B1"]
    assert list(d.seeds) == list(range(800, 816)) and d.n_seeds == 16
    assert "drop of the class named by the registration" in d.summary and "(Pullover:" in d.summary
    (converged,) = [c for c in d.checks if c.name == "converged"]
    assert "Pullover's drop" in converged.detail and "16 seeds" in converged.detail and "one-sided" in converged.detail
    record = shipped_record("B1")
    assert record["registration"] == 8 and record["verdict"] == d.verdict
    assert record["measured"] == pytest.approx(d.measured)


def test_registration_9_decides_b2_on_its_named_class_under_its_own_gate():
    """Registration 9 (B2 at 80 epochs, seeds 900-919, Pullover named in advance, gate toward the
    claim's boundary on its vanishing share) is the book's B2: s* and Pullover's best strength
    chosen on seeds 0-4, its drop checked to exist, one one-sided convergence check of its share
    over the 20 seeds, and the shipped record that decision."""
    from augworth.verdicts import exchange_rate as vc

    nine = class_level_registration(9)
    assert nine.result is not None and nine.registration.gates == {"B2": vc.TOWARD_BOUNDARY}
    assert nine.registration.shown == {"B2": "Pullover"} and list(nine.decisions) == ["B2"]
    d = nine.decisions["B2"]
    assert list(d.seeds) == list(range(900, 920)) and d.n_seeds == 20
    assert "drop of the class named by the registration (Pullover:" in d.summary
    affected, converged = (c for c in d.checks if c.name != "seeds")
    assert affected.name == "affected classes" and "Pullover (named by the registration)" in affected.detail
    assert converged.name == "converged" and "Pullover's vanishing share" in converged.detail
    assert "20 seeds" in converged.detail and "one-sided" in converged.detail
    record = shipped_record("B2")
    assert record["registration"] == 9 and record["verdict"] == d.verdict
    assert record["measured"] == pytest.approx(d.measured)


def test_registration_10_decides_b4_where_a_class_is_hurt_under_its_own_gate():
    """Registration 10 (B4 at 80 epochs, seeds 1000-1019, gate toward the claim's boundary on B4's
    own metrics) is the book's B4: its hurt class, scope and policy chosen on seeds 500-515's
    validation split (Pullover, the group scope, rrc(0.08)), tested on the 20 fresh seeds, its
    gain read on Pullover alone, the policy's 160-epoch runs shipped and read by its gate, and the
    shipped record that decision."""
    from augworth import verdicts
    from augworth.analysis import class_level as cla
    from augworth.verdicts import exchange_rate as vc

    ten = class_level_registration(10)
    assert ten.result is not None and ten.registration.gates == {"B4": vc.TOWARD_BOUNDARY}
    assert list(ten.decisions) == ["B4"]
    value = ten.result.value
    assert value["choice_seeds"] == list(range(500, 516)) and value["strengths"] == ["1", "0.08"]
    assert value["choice"] == {"optimum": "1", "hurt": {"2": "rrc(0.08)"}} and set(value["b4"]) == {"class", "group"}
    d = ten.decisions["B4"]
    assert list(d.seeds) == list(range(1000, 1020)) and d.n_seeds == 20
    assert d.summary.startswith("group scope (Pullover -> rrc(0.08), policy also on 3 partner classes)")
    longer = verdicts.with_longer_runs("class_level", ten.registration, ten.params, value)["b4_longer"]
    assert longer["scope"] == "group" and longer["expected"] == list(range(1000, 1020))
    assert sorted(r["seed"] for r in longer["runs"]) == list(range(1000, 1020))  # all shipped
    conv = cla.b4_convergence(value, "group", longer)
    assert conv["seeds"] == list(range(1000, 1020)) and conv["hurt"] == [2]
    gate = [c for c in d.checks if c.name == "converged"]
    assert gate and all("20 seeds" in c.detail for c in gate)
    record = shipped_record("B4")
    assert record["registration"] == 10 and record["verdict"] == d.verdict
    assert record["measured"] == pytest.approx(d.measured)


def test_registration_11_decides_c1_and_c2_with_the_reference_measured_to_16000():
    """Registration 11 (C1 and C2 at 1,200 steps, seeds 1100-1115, the reference to 16,000 images)
    is the book's C1 and C2: C1's held-out check at the registered interior size, C2 on
    TrivialAugment with the refutation by measured sizes available, both gated per arm toward the
    claim's boundary over the 16 seeds, and the shipped records those decisions."""
    from augworth import verdicts
    from augworth.analysis import exchange_rate as er
    from augworth.verdicts import exchange_rate as vc

    again = verdicts.registered_again("exchange_rate", "book", {}, vc.decide_value)
    (eleven,) = [a for a in again if a.registration.number == 11]
    assert eleven.result is not None and sorted(eleven.decisions) == ["C1", "C2"]
    assert eleven.registration.readings == {"C1": {"held_out": 1000}, "C2": {"refuted_by": "measured reference"}}
    p = eleven.params
    assert p.steps == 1200 and p.strong == "trivialaugment" and max(p.reference_sizes) == 16000
    a = er.analyse(eleven.result.value["runs"], p)
    assert a["reference_sizes"] == [30, 60, 125, 250, 500, 1000, 2000, 4000, 8000, 16000]
    assert sorted(a["c2_measured"]) == [500, 1000, 2000, 4000, 8000, 16000]
    for d in eleven.decisions.values():
        assert list(d.seeds) == list(range(1100, 1116)) and d.n_seeds == 16
        gate = [c for c in d.checks if c.name == "converged"]
        assert len(gate) == 2 and all("16 seeds" in c.detail for c in gate)
        record = shipped_record(d.claim)
        assert record["registration"] == 11 and record["verdict"] == d.verdict
        assert record["measured"] == pytest.approx(d.measured)
    held = [c for c in eleven.decisions["C1"].checks if c.name == "held-out fit"]
    assert len(held) == 1 and "without n = 1000" in held[0].detail
