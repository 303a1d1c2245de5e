"""`worth`: a user's augmentation on a user's data -- the size chooser, the summary's numbers
against the tables, every error the command promises, and the report end to end on PNG folders."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from augworth import __main__ as cli
from augworth.config import ConfigError, WorthParams
from augworth.experiments import worth_design as W
from augworth.metrics.stats import t_interval
from augworth.verdicts import worth as V

from fakes import fashion_png_folder, png_folder, rgb_png_folder


def facts(per_class, classes=None):
    classes = classes or tuple(f"c{i}" for i in range(len(per_class)))
    return W.DataFacts("toy", tuple(classes), tuple(per_class), 100, (1, 28, 28))


# --- the size chooser and the design -------------------------------------------------------------

def test_size_ladder_is_balanced_nested_and_reaches_the_smallest_class():
    f = facts([30] * 9 + [25])
    sizes = W.size_ladder(f)
    assert len(sizes) == 4 and sizes == sorted(set(sizes))
    assert all(n % 10 == 0 for n in sizes)                      # every class the same share
    assert sizes[-1] == 25 * 10                                 # all of the smallest class
    assert sizes[0] // 10 == max(2, round(25 / 8))              # from the largest / 8, at least 2 per class
    assert W.size_ladder(facts([4, 9])) == [2, 4, 6, 8]         # few images: 1, 2, 3, 4 per class
    with pytest.raises(ConfigError, match="class 'bee' has 3 training images: the smallest design needs 4"):
        W.size_ladder(facts([10, 3], classes=("ant", "bee")))


def test_given_sizes_are_checked_against_every_class():
    f = facts([30, 5], classes=("ant", "bee"))
    W.check_sizes([4, 6, 8, 10], f)
    with pytest.raises(ConfigError, match="class 'bee' has 5 training images, fewer than the 6 per class the "
                                          "smallest subset n = 12 needs"):
        W.check_sizes([12, 20, 40, 60], f)
    with pytest.raises(ConfigError, match="class 'bee' has 5 .* the 10 per class the largest subset n = 20"):
        W.check_sizes([4, 6, 8, 20], f)
    with pytest.raises(ConfigError, match="holds 1, fewer than the 2 classes"):
        W.check_sizes([1, 2, 4, 6], f)


def test_the_design_fits_the_budget_and_grows_with_it():
    f = facts([30] * 10)
    p = WorthParams(minutes=1.0)
    small = W.choose_design(f, p, sec_per_step=0.01, eval_s=0.2, workers=2)
    models, t = W.predict_seconds(4, len(small.seeds), small.steps, 2, 0.01, 0.2, 2)
    assert small.cells == models and small.predicted_s == pytest.approx(t) and t <= 60.0
    # by hand: 2 policies x 4 sizes x 3 seeds + moments model = 25 models of S steps, 2 convergence models of 2S
    assert W.predict_seconds(4, 3, 100, 2, 0.01, 0.0, 1)[1] == pytest.approx((25 * 100 + 6 * 200) * 0.01)
    big = W.choose_design(f, replace(p, minutes=30.0), sec_per_step=0.01, eval_s=0.2, workers=2)
    assert len(big.seeds) >= len(small.seeds) and big.steps >= small.steps and big.predicted_s <= 1800
    assert len(big.seeds) == W.DESIGN_SEEDS_MAX
    assert small.chosen == ("sizes", "steps", "seeds")
    fixed = W.choose_design(f, replace(p, minutes=30.0, steps=100, seeds=(4, 7, 9)), 0.01, 0.2)
    assert fixed.steps == 100 and fixed.seeds == (4, 7, 9) and fixed.chosen == ("sizes",)
    # more budget never shrinks the steps nor the compute (steps from a fixed ladder: a resumed run
    # finds its cells; a budget buys steps before seeds, so seeds may fall where steps rise)
    last = (0, 0.0)
    for minutes in (0.5, 1, 2, 4, 8, 16):
        d = W.choose_design(f, replace(p, minutes=minutes), 0.01, 0.2, 2)
        assert d.steps in W.STEP_LADDER and d.steps >= last[0] and d.predicted_s >= last[1]
        assert len(d.seeds) >= W.DESIGN_SEEDS_MIN
        last = (d.steps, d.predicted_s)


def test_a_large_data_set_on_a_small_budget_gets_sizes_its_steps_can_train():
    f = facts([6000] * 10)
    for minutes in (1, 4, 30):
        d = W.choose_design(f, WorthParams(minutes=minutes), sec_per_step=0.011, eval_s=2.0, workers=2)
        assert d.steps * 64 / max(d.sizes) >= W.EPOCHS_MIN and d.predicted_s <= 60 * minutes
        assert d.chosen == ("sizes", "steps", "seeds") and all(n % 10 == 0 for n in d.sizes)
    assert max(W.choose_design(f, WorthParams(minutes=30), 0.011, 2.0, 2).sizes) > 10 * max(
        W.choose_design(f, WorthParams(minutes=1), 0.011, 2.0, 2).sizes)  # more budget, larger subsets


def test_a_budget_too_small_says_what_it_needs():
    f = facts([30] * 10)
    with pytest.raises(ConfigError, match=r"'minutes' = 0.1 is too small: the smallest design \(4 sizes x 2 policies "
                                          r"x 3 seeds x 50 steps.*give --minutes \d"):
        W.choose_design(f, WorthParams(minutes=0.1), sec_per_step=0.05, eval_s=1.0)
    with pytest.raises(ConfigError, match="one model of 50 steps alone takes ~501 s here"):
        W.choose_design(f, WorthParams(minutes=1.0), sec_per_step=10.0, eval_s=1.0)


# --- the convergence pilot chooses the steps ---------------------------------------------------------

def synthetic_task(tau: dict, noise: float = 0.0005, seed: int = 0):
    """Test error err(S) = 0.1 + 0.4 exp(-S / tau[policy]) plus a per-seed offset (shared by every
    budget: pairing removes it) and a little noise per model; returns measure(todo) and a log of
    what was trained."""
    rng = np.random.default_rng(seed)
    offset = {s: 0.02 * rng.normal() for s in range(10)}
    trained = []

    def measure(todo):
        trained.extend(todo)
        return {(pol, s, k): 0.1 + 0.4 * np.exp(-k / tau[pol]) + offset[s] + noise * rng.normal()
                for pol, s, k in todo}
    return measure, trained


def needed_steps(tau: dict, tol: float, factor: int = 2) -> int:
    """The smallest ladder S where no policy's error moves by tol or more from S to factor x S."""
    return next(k for k in W.pilot_ladder(factor)
                if all(0.4 * (np.exp(-k / t) - np.exp(-factor * k / t)) < 0.5 * tol for t in tau.values()))


@pytest.mark.parametrize("tau", [{"none": 60.0, "crop": 150.0}, {"none": 400.0, "crop": 250.0}])
def test_the_pilot_finds_the_steps_a_synthetic_task_needs(tau):
    measure, trained = synthetic_task(tau)
    pilot = W.pilot_steps(measure, ("none", "crop"), (0, 1, 2), tol=0.005, factor=2, budget_s=1e9,
                          cost_s=lambda todo: sum(k for *_, k in todo) * 1e-3)
    want = needed_steps(tau, 0.005)
    assert pilot.steps in (want, W.pilot_ladder(2)[W.pilot_ladder(2).index(want) - 1] if want > 50 else want)
    assert pilot.levels[-1].converged and not any(level.converged for level in pilot.levels[:-1])
    assert len(trained) == len(set(trained))  # a rung reuses the models of the rung before it
    assert {k for *_, k in trained} == {k for level in pilot.levels for k in (level.steps, 2 * level.steps)}
    assert f"converged at {pilot.steps} steps" in pilot.line() and pilot.seeds == 3


def test_a_pilot_whose_change_is_not_shown_adds_seeds_before_steps():
    measure, trained = synthetic_task({"none": 5.0, "crop": 5.0}, noise=0.006)  # converged; noisy test sets
    pilot = W.pilot_steps(measure, ("none", "crop"), tuple(range(8)), tol=0.01, factor=2, budget_s=1e9,
                          cost_s=lambda todo: 0.0)
    assert pilot.steps is not None and pilot.levels[0].steps == 50
    assert [level.seeds for level in pilot.levels if level.steps == 50][:2] == [3, 5]  # more seeds at 50 first


def test_a_pilot_out_of_budget_says_what_it_needs_and_trains_no_rung_it_cannot_pay():
    measure, trained = synthetic_task({"none": 2000.0, "crop": 2000.0})  # converges only near 6400 steps
    cost = lambda todo: sum(k for *_, k in todo) * 1e-3  # noqa: E731  (1 ms per step)
    pilot = W.pilot_steps(measure, ("none", "crop"), (0, 1, 2), tol=0.005, factor=2, budget_s=10.0, cost_s=cost,
                          after_s=lambda steps, m: 0.5)
    assert pilot.steps is None and pilot.spent_s <= 10.0 and pilot.needed_s > 10.0
    assert sum(k for *_, k in trained) * 1e-3 == pytest.approx(pilot.spent_s)
    assert "no step budget converged" in pilot.line() and pilot.likely_s == 0.0  # still moving: no estimate
    # converged but noisy: out of budget while adding seeds, it says what a design at the seeds the
    # spread asks for would need
    measure, _ = synthetic_task({"none": 5.0, "crop": 5.0}, noise=0.004)
    pilot = W.pilot_steps(measure, ("none", "crop"), tuple(range(8)), tol=0.01, factor=2, budget_s=1.5,
                          cost_s=cost, after_s=lambda steps, m: 0.1 * m)  # seed 0: not shown at 3 seeds
    assert pilot.steps is None and pilot.likely_s > pilot.needed_s > 1.5


def test_resolve_takes_the_pilot_steps_and_fits_the_seeds_to_the_rest(monkeypatch):
    f = facts([500] * 10)
    monkeypatch.setattr(W, "data_facts", lambda p: f)
    monkeypatch.setattr(W, "_workers", lambda: 2)
    seen = {}

    def fake_pilot(q, n, seeds, timing, budget, after, tol):
        seen.update(n=n, seeds=seeds, budget=budget, after=after(400, 5), tol=tol)
        return W.Pilot(400, (W.PilotLevel(400, {"none": (0.001, -0.002, 0.004)}, True, 5),), 60.0, 2, 0.005)

    p, d, _ = W.resolve(WorthParams(minutes=10.0), timing=(0.01, 0.2), pilot=fake_pilot)
    assert p.steps == 400 and d.pilot.steps == 400 and "steps (pilot)" in d.chosen and "converged at 400" in d.line()
    assert seen["n"] == max(p.sizes) and seen["seeds"][:3] == (0, 1, 2) and seen["budget"] == 600.0
    assert seen["tol"] == 2 / 100  # two test images' worth (100 test images) above the 0.005 asked for
    assert tuple(p.seeds[:5]) == (0, 1, 2, 3, 4) and p.convergence_runs == 5 and d.predicted_s <= 600.0

    def no_pilot(q, n, seeds, timing, budget, after, tol):
        return W.Pilot(None, (), 100.0, 2, 0.005, needed_s=1500.0)

    with pytest.raises(ConfigError, match=r"no converging design fits.*needs more than 25 min.*--minutes 30"):
        W.resolve(WorthParams(minutes=10.0), timing=(0.01, 0.2), pilot=no_pilot)


# --- the summary's numbers are the tables' ------------------------------------------------------------

def _analysis(v=120.0, status="ok", hurt=True):
    """A hand-made analysis: worth table, errors, a paired gain, per-class effects."""
    w = pd.DataFrame([{"augment": "flip", "n": n, "err": 0.3, "v": v * n / 400, "lo": v * n / 800, "hi": v * n / 200,
                       "sd": 10.0, "n_seeds": 5, "status": status, "undefined_share": 0.0, "rel": v / 400,
                       "rel_lo": v / 800, "rel_hi": v / 200, "rel_sd": 0.05} for n in (50, 100, 200, 400)])
    errors = pd.DataFrame([{"augment": a, "n": 400, "mean": e, "std": 0.01, "count": 5}
                           for a, e in (("none", 0.25), ("flip", 0.21))])
    per_seed = np.array([0.05, 0.03, 0.04, 0.035, 0.045])
    cls = pd.DataFrame([
        {"class": 0, "name": "cat", "effect": -0.061, "lo": -0.09, "hi": -0.03, "sd": 0.02, "p": 0.001,
         "p_holm": 0.003 if hurt else 0.3, "finding": "hurt" if hurt else "no clear effect", "test_images": 40},
        {"class": 1, "name": "dog", "effect": 0.12, "lo": 0.05, "hi": 0.19, "sd": 0.05, "p": 0.01, "p_holm": 0.02,
         "finding": "helped", "test_images": 40}])
    conv = pd.DataFrame([{"augment": a, "test_err": 0.2, "train_acc": 1.0, "test_err_longer": 0.201,
                          "train_acc_longer": 1.0, "steps": 400, "change": 0.001} for a in ("none", "flip")])
    held = pd.DataFrame([{"n": 400, "mean": 0.25, "std": 0.01, "predicted": 0.252}])
    return {"n_max": 400, "w_id": w, "errors": errors, "gain": t_interval(per_seed), "classes": cls, "conv": conv,
            "held_id": held, "conv_tol": 0.005, "holdout_tol": 0.01, "fit_problem": None}


def test_summary_numbers_are_read_from_the_tables():
    p = WorthParams(augment="flip", seeds=(0, 1, 2, 3, 4), sizes=(50, 100, 200, 400), steps=100)
    a = _analysis()
    d = V.decide_all(a, p)
    s = V.summary(a, d, p)
    row = a["w_id"].iloc[-1]
    n = s["numbers"]
    assert (n["v"], n["v_lo"], n["v_hi"], n["status"]) == (row.v, row.lo, row.hi, "ok")
    assert n["gain"] == pytest.approx(0.04) and n["error_base"] == 0.25 and n["error_aug"] == 0.21
    assert n["cls"] == "cat" and n["cls_effect"] == -0.061 and n["hurt"] == ["cat"]
    text = s["text"]
    assert "worth about 120 extra samples (95% CI 60 to 240) at n = 400" in text
    assert "from 25.0% to 21.0%: -4.0 points" in text
    _, lo, hi = t_interval([0.05, 0.03, 0.04, 0.035, 0.045])
    assert f"(95% CI {100 * -hi:+.1f} to {100 * -lo:+.1f}, 5 seeds)" in text
    assert "It costs class cat about 6.1 points: -6.1 points of accuracy (95% CI -9.0 to -3.0, Holm p = 0.003" in text
    assert d["worth"].verdict == "supported" and d["error"].verdict == "supported"
    assert text.count("verdict: helps") == 2


def test_summary_says_undefined_extrapolated_and_no_hurt_class():
    p = WorthParams(augment="flip", seeds=(0, 1, 2, 3, 4), sizes=(50, 100, 200, 400), steps=100)
    a = _analysis(v=float("inf"), status="undefined", hurt=False)
    text = V.summary(a, V.decide_all(a, p), p)["text"]
    assert "worth more than any amount of extra un-augmented data" in text
    assert "No class is significantly hurt (Holm, alpha = 0.05); the largest drop is class cat, -6.1 points" in text
    a = _analysis(status="extrapolated")
    assert "extrapolated beyond the largest size measured" in V.summary(a, V.decide_all(a, p), p)["text"]


def test_unconverged_runs_make_the_worth_inconclusive():
    p = WorthParams(augment="flip", seeds=(0, 1, 2, 3, 4), sizes=(50, 100, 200, 400), steps=100)
    a = _analysis()
    a["conv"].loc[1, "change"] = -0.03
    d = V.decide_all(a, p)
    assert d["worth"].verdict == "inconclusive" and "runs not converged: flip" in d["worth"].reasons[0]
    assert "verdict: inconclusive (runs not converged" in V.summary(a, d, p)["text"]


# --- errors the command promises --------------------------------------------------------------------

def run_cli(args, capsys):
    code = cli.main(["worth", *args])
    return code, capsys.readouterr().err


def test_a_path_that_is_not_a_data_set_says_what_layouts_work(tmp_path, capsys):
    (tmp_path / "loose.png").write_bytes(b"")
    code, err = run_cli(["--data", str(tmp_path), "--augment", "flip"], capsys)
    assert code == 3 and "is not an image data set (no class folders with images in it)" in err
    assert "<path>/<class>/<image>" in err and "train/ and val/ (or test/)" in err and ".png" in err
    code, err = run_cli(["--data", str(tmp_path / "missing"), "--augment", "flip"], capsys)
    assert code == 3 and "no such folder" in err
    code, err = run_cli(["--augment", "flip"], capsys)
    assert code == 2 and "worth needs --data" in err


def test_mixed_sizes_one_class_and_bad_specs_are_named(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (8, 1, 20, 20), dtype=np.uint8)
    png_folder(tmp_path / "mixed", x, [0, 0, 0, 0, 1, 1, 1, 1], ["a", "b"],
               sizes=[(20, 20)] * 6 + [(24, 24)] * 2)
    code, err = run_cli(["--data", str(tmp_path / "mixed"), "--augment", "flip"], capsys)
    assert code == 2 and "the images are of 2 sizes (20x20: 6 images" in err and "--resize N" in err
    png_folder(tmp_path / "one", x, [0] * 8, ["a"])
    code, err = run_cli(["--data", str(tmp_path / "one"), "--augment", "flip"], capsys)
    assert code == 2 and "1 class folder(s) (a): a classifier needs at least 2" in err
    code, err = run_cli(["--data", str(tmp_path / "one"), "--augment", "flop(2)"], capsys)
    assert code == 2 and "unknown augmentation 'flop'" in err
    code, err = run_cli(["--data", str(tmp_path / "one"), "--augment", "flip", "--sizes", "4,8,x"], capsys)
    assert code == 2 and "--sizes = '4,8,x' is not a comma-separated list of integers" in err


def test_resize_reads_mixed_sizes_and_grey_stays_one_channel(tmp_path):
    from augworth.data import load_dataset

    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (8, 1, 20, 20), dtype=np.uint8)
    png_folder(tmp_path / "mixed", x, [0, 0, 0, 0, 1, 1, 1, 1], ["a", "b"], sizes=[(20, 20)] * 6 + [(24, 30)] * 2)
    ds = load_dataset("imagefolder", data_path=tmp_path / "mixed", image_size=16)
    assert ds.train_x.shape[1:] == (1, 16, 16) and len(ds.train_y) + len(ds.test_y) == 8
    assert sorted(ds.test_y.tolist()) == [0, 1]  # a quarter of each class held out


# --- end to end: the command writes the report ------------------------------------------------------

SECTIONS = ("The data and the design", "Error against n, and the worth in samples", "Which classes it helps or hurts",
            "Closed-form moments of the linear stages", "Out of distribution", "Reproduce")


def _browser_open(page):
    """The report in a real headless browser: every figure decodes, no request leaves the file."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium): the report check needs it")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            tab = browser.new_page(viewport={"width": 1300, "height": 1000})
            requests = []
            tab.on("request", lambda r: requests.append(r.url))
            tab.goto(page.as_uri())
            found = tab.evaluate("""() => ({
                images: [...document.images].map(i => i.naturalWidth),
                h2: [...document.querySelectorAll('h2')].map(h => h.innerText),
                wide: document.documentElement.scrollWidth > window.innerWidth})""")
        finally:
            browser.close()
    assert not [u for u in requests if not u.startswith(("file:", "data:"))], requests
    assert found["images"] and min(found["images"]) > 0 and not found["wide"]
    return found


def test_worth_report_on_a_grey_png_folder(tmp_path, capsys):
    data = fashion_png_folder(tmp_path / "fashion", per_class=24)
    out = tmp_path / "report"
    code, err = run_cli(["--data", str(data), "--augment", "crop(2)+flip", "--sizes", "20,40,90,180", "--steps", "15",
                         "--seeds", "0,1,2", "--ood", "--set", "corruptions=[blur,jpeg]", "--set", "ood_images=30",
                         "--set", "width=8", "--out", str(out)], capsys)
    assert code == 0, err
    assert "10 classes, 180 training and 60 test images of 1x28x28" in err and "The report:" in err
    html = (out / "report.html").read_text()
    for section in SECTIONS:
        assert f">{section}</h2>" in html, section
    assert "On your data, crop(2)+flip is" in html or "On your data, what crop(2)+flip is worth" in html
    assert "It changes the test error at n = 180" in html
    assert "cells computed" in err and "ETA" in err  # progress lines, though stderr is not a terminal
    assert "http://" not in html and "https://" not in html and "$" not in html  # offline, no raw TeX
    assert (out / "report.ipynb").is_file() and (out / "design.json").is_file()
    found = _browser_open(out / "report.html")
    assert found["h2"][0].startswith("crop(2)+flip against none on")

    # the report's summary is the verdict layer's on the cached runs, and its numbers the tables'
    p = WorthParams.from_mapping(__import__("json").loads((out / "design.json").read_text())["resolved"])
    from augworth.experiments import run

    res = run("worth", p)
    assert res.meta["source"] == "cache"  # the command computed it; nothing twice
    from augworth.analysis.worth import analyse

    a = analyse(res.value, p)
    s = V.summary(a, V.decide_all(a, p), p)
    runs = res.value["runs"]
    main = runs[(runs.kind == "main") & (runs.n == 180)]
    diff = (main[main.augment == "none"].set_index("seed").test_err - main[main.augment == "crop(2)+flip"]
            .set_index("seed").test_err)
    assert s["numbers"]["gain"] == pytest.approx(diff.mean())
    assert re.sub(r"\s+", " ", s["text"].replace("&", "&amp;"))[:60] in re.sub(r"\s+", " ", html)
    assert a["moments"]["spec"] == "crop(2)+flip" and len(a["draws"]) == 16
    assert a["moments"]["maps"][0]["max_z_mean"] < 5  # the closed form agrees with 4,096 draws


def test_worth_report_on_an_rgb_folder_with_a_training_only_augmentation(tmp_path, capsys):
    data = rgb_png_folder(tmp_path / "shapes", per_class=16)
    out = tmp_path / "report"
    code, err = run_cli(["--data", str(data), "--augment", "trivialaugment", "--sizes", "6,12,18,36", "--steps", "10",
                         "--seeds", "0,1,2", "--set", "width=8", "--out", str(out)], capsys)
    assert code == 0, err
    assert "3 classes, 36 training and 12 test images of 3x32x32" in err
    html = (out / "report.html").read_text()
    assert "Skipped: <code>trivialaugment</code> has no linear stage: it is training-only" in html
    assert "Not measured: run with <code>--ood</code>" in html
    # a second run resumes: the design is reused and every cell comes from the cache
    code, err = run_cli(["--data", str(data), "--augment", "trivialaugment", "--sizes", "6,12,18,36", "--steps", "10",
                         "--seeds", "0,1,2", "--set", "width=8", "--out", str(out), "--no-report"], capsys)
    assert code == 0 and "the design of the earlier run" in err


def test_three_augmentations_in_one_run_write_one_ranked_report(tmp_path, capsys):
    """The baseline is trained once and each augmentation against it on the same subsets and
    seeds; the report ranks them (a table and a figure) with each one's per-class costs."""
    data = rgb_png_folder(tmp_path / "shapes", per_class=16)
    out = tmp_path / "report"
    code, err = run_cli(["--data", str(data), "--augment", "crop(2), flip, rotate(10)", "--sizes", "6,12,18,36",
                         "--steps", "10", "--seeds", "0,1,2", "--set", "width=8", "--set", "moments=false",
                         "--out", str(out)], capsys)
    assert code == 0, err
    html = (out / "report.html").read_text()
    assert "Ranked by the estimated worth:" in html and "## Ranking" not in html and "Ranking</h2>" in html
    for aug in ("crop(2)", "flip", "rotate(10)"):
        assert f"worth: {aug}" in html and f"error: {aug}" in html
    assert html.count("<img") >= 4 and "costs most" in html
    from augworth.experiments import run
    from augworth.experiments.worth import cells

    p = WorthParams.from_mapping(__import__("json").loads((out / "design.json").read_text())["resolved"])
    assert p.augments == ("crop(2)", "flip", "rotate(10)") and p.policies[0] == "none"
    runs = run("worth", p).value["runs"]
    assert len(cells(p)) == len(runs) == 4 * 4 * 3 + 4 * 3  # 4 policies x 4 sizes x 3 seeds + convergence runs
    assert set(runs[runs.augment == "none"].seed) == {0, 1, 2}  # the baseline once, on the same seeds


def test_several_augmentations_are_split_at_top_level_commas_and_checked():
    p = WorthParams(augment="rrc(0.5, 0.75), crop(2)+flip ,trivialaugment")
    assert p.augments == ("rrc(0.5, 0.75)", "crop(2)+flip", "trivialaugment")
    with pytest.raises(ConfigError, match="'flip' twice"):
        WorthParams(augment="flip, flip")
    with pytest.raises(ConfigError, match="baseline.*is an augmentation measured against it"):
        WorthParams(augment="flip, none")
    with pytest.raises(ConfigError, match="augment.*invalid augmentation"):
        WorthParams(augment="flip, wobble(3)")


def test_make_worth_passes_data_and_spec_as_words_never_as_code(tmp_path):
    """DATA= and AUG= reach the command as quoted words: whatever they spell is not run."""
    import subprocess

    from augworth import paths

    marker = tmp_path / "pwned"
    data = f'x"; touch {marker}; echo "$(touch {marker})'
    dry = subprocess.run(["make", "-s", "-n", "worth", f"DATA={data}", f"AUG=flip`touch {marker}`"],
                         capture_output=True, text=True, cwd=paths.ROOT)
    assert str(marker) not in dry.stdout and not marker.exists()
    done = subprocess.run(["make", "-s", "worth", f"DATA={data}", "AUG=flip"], capture_output=True, text=True,
                          cwd=paths.ROOT)
    assert done.returncode != 0 and "is not an image data set" in done.stderr and not marker.exists()


def test_an_undecided_worth_is_not_stated_as_a_result():
    """The lead sentence says what was decided; a strong estimate comes only after 'not decided'."""
    p = WorthParams(augment="flip", seeds=(0, 1, 2, 3, 4), sizes=(50, 100, 200, 400), steps=100)
    a = _analysis(v=float("inf"), status="undefined", hurt=False)
    a["conv"].loc[1, "change"] = -0.03  # not converged: the worth is inconclusive
    d = V.decide_all(a, p)
    text = V.summary(a, d, p)["text"]
    first = text.split(". ")[0]
    assert d["worth"].verdict == "inconclusive"
    assert "is not decided" in first and "worth more than any amount" not in first
    assert text.index("not decided") < text.index("worth more than any amount of extra un-augmented data")
    assert "which the verdict does not confirm (the check above failed)" in text


@pytest.mark.parametrize("lo,hi", [(0.004, 0.3), (0.005, 0.012), (0.15, 0.6), (0.001, 0.9), (0.1, 0.12), (0.03, 0.35)])
def test_log_error_axes_never_print_overlapping_labels(lo, hi):
    """The report's and the chapter's error axes (0.01, 0.007, 0.005, ... once printed on top of
    each other): every visible y tick label has room of its own, and the axis is labelled."""
    import matplotlib.pyplot as plt

    from augworth.plotting.exchange_rate import _plain_log_y

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2], [lo, hi])
    ax.set_yscale("log")
    _plain_log_y(ax)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ylo, yhi = ax.get_ylim()
    labels = [t for t in ax.get_yticklabels() + ax.get_yticklabels(minor=True)
              if t.get_text() and ylo <= t.get_position()[1] <= yhi]
    boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.y0)
    plt.close(fig)
    assert len(boxes) >= 2
    assert all(a.y1 <= b.y0 + 0.5 for a, b in zip(boxes, boxes[1:])), [t.get_text() for t in labels]
