"""Exchange rates (power law, worth in samples), flip-invariant models, corruptions, fixed
copies and class-conditional policies in training (paper C, C1-C4; paper B, B4)."""

import numpy as np
import pytest
import torch

from augworth.augment import build
from augworth.config import ConfigError, TrainConfig
from augworth.data.corruptions import CORRUPTIONS, SEVERITIES, corrupt, corrupted_test_set
from augworth.analysis.exchange_rate import paired_difference
from augworth.metrics import exchange as ex
from augworth.models import build_model
from augworth.models.invariant import FlipInvariant, horizontal_moment
from augworth.train.loop import _augment, _fixed_copies

TRUE = ex.PowerLaw(a=3.0, c=0.5, b=0.05)
SIZES = np.array([100, 200, 400, 800, 1600, 3200])


def test_power_law_fit_recovers_known_parameters():
    f = ex.fit_power_law(SIZES, TRUE(SIZES))
    assert f.a == pytest.approx(3.0, rel=1e-3) and f.c == pytest.approx(0.5, rel=1e-3)
    assert f.b == pytest.approx(0.05, abs=1e-4)
    rng = np.random.default_rng(0)
    n = np.repeat(SIZES, 5)
    noisy = ex.fit_power_law(n, TRUE(n) * (1 + 0.01 * rng.standard_normal(n.size)))
    assert noisy.c == pytest.approx(0.5, rel=0.1) and noisy.b == pytest.approx(0.05, abs=0.01)
    with pytest.raises(ValueError, match="at least 3 distinct sizes"):
        ex.fit_power_law([100, 100, 200], [0.3, 0.31, 0.2])


def test_worth_is_exact_on_synthetic_curves_and_flags_undefined():
    # an augmentation as good as doubling the data is worth exactly n samples
    n = np.array([100, 400, 1600])
    v, status = ex.worth(TRUE, n, TRUE(2 * n), n_max=3200)
    np.testing.assert_allclose(v, n, rtol=1e-9)
    assert list(status) == ["ok", "ok", "ok"]
    # ... as good as 4x the data at n = 1600: 6400 is beyond the largest measured size
    v, status = ex.worth(TRUE, 1600, TRUE(6400), n_max=3200)
    assert v.item() == pytest.approx(4800) and status.item() == "extrapolated"
    # below the asymptote: no amount of reference data reaches it
    v, status = ex.worth(TRUE, 1600, 0.04, n_max=3200)
    assert np.isinf(v.item()) and status.item() == "undefined"
    # worse than no augmentation: negative worth, never below -n
    v, _ = ex.worth(TRUE, 400, TRUE(200), n_max=3200)
    assert v.item() == pytest.approx(-200)


def test_worth_interval_brackets_the_truth():
    """Seed k has the same 0.5% noise on the reference at every size (a shared subset) and the
    augmented run is as good as 3x the data at n = 400: v = 800, inside the jackknife interval."""
    rng = np.random.default_rng(1)
    seeds = range(4)
    ref = {s: {int(k): float(TRUE(k) * (1 + 0.005 * rng.standard_normal())) for k in SIZES} for s in seeds}
    w = ex.worth_interval(ref, {s: float(TRUE(1200)) for s in seeds}, 400)
    assert w["lo"] < 800 < w["hi"] and abs(w["v"] - 800) < 80 and w["n_seeds"] == 4 and w["status"] == "ok"
    below = ex.worth_interval(ref, {s: 0.01 for s in seeds}, 100)  # under the asymptote 0.05
    assert below["status"] == "undefined" and below["undefined_share"] == 1.0 and np.isnan(below["lo"])


def test_asymptote_gap_sign():
    ref = {s: {int(k): float(TRUE(k)) + d for k in SIZES} for s, d in enumerate([-1e-4, 0, 1e-4])}
    below = ex.asymptote_gap(ref, {0: 0.03, 1: 0.031, 2: 0.029})
    above = ex.asymptote_gap(ref, {0: 0.08, 1: 0.081, 2: 0.079})
    assert below.lo > 0 and below.estimate == pytest.approx(0.02, abs=2e-3) and below.n == 3
    assert above.hi < 0


@pytest.mark.parametrize("mode", ["flip-average", "flip-canonical"])
@pytest.mark.parametrize("train", [False, True])
def test_flip_invariant_models_are_exactly_invariant(mode, train):
    torch.manual_seed(0)
    model = FlipInvariant(build_model("fast_cnn", in_channels=1, num_classes=10, image_size=28, width=4, seed=0), mode)
    model.train(train)
    x = torch.randn(16, 1, 28, 28)
    x[3] = x[3] + x[3].flip(-1)  # a mirror-symmetric image: the canonical map's tie case
    assert horizontal_moment(x[3:4]).item() == 0
    with torch.no_grad():
        a, b = model(x), model(x.flip(-1))
    assert torch.equal(a, b)
    plain = build_model("fast_cnn", in_channels=1, num_classes=10, image_size=28, width=4, seed=0).train(train)
    with torch.no_grad():
        assert not torch.allclose(plain(x), plain(x.flip(-1)))  # the wrapper does the work


def test_horizontal_moment_is_exactly_antisymmetric():
    x = torch.rand(8, 3, 9, 7)
    assert torch.equal(horizontal_moment(x.flip(-1)), -horizontal_moment(x))


@pytest.mark.parametrize("name", list(CORRUPTIONS))
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])  # Fashion-MNIST and CIFAR
def test_corruptions_are_deterministic_and_in_range(name, shape):
    x = torch.rand(6, *shape)
    a, b = corrupt(x, name, 3, seed=0), corrupt(x, name, 3, seed=0)
    assert torch.equal(a, b) and a.shape == x.shape
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert not torch.equal(a, x)
    if name in ("gaussian_noise", "shot_noise", "impulse_noise"):
        assert not torch.equal(a, corrupt(x, name, 3, seed=1))  # the seed matters for random ones
    # severity makes it worse (distance to the clean image grows)
    d = [float((corrupt(x, name, s, seed=0) - x).abs().mean()) for s in SEVERITIES]
    assert d[-1] > d[0]


def test_corrupted_test_set_is_cached_on_disk(tmp_path):
    x = (torch.rand(5, 1, 28, 28) * 255).to(torch.uint8)
    a = corrupted_test_set(x, "gaussian_noise", 2, key={"data": "t"}, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.pt"))
    assert len(files) == 1 and a.dtype == torch.uint8
    torch.save(torch.zeros_like(a), files[0])  # a second call reads the file, not recomputes
    assert torch.equal(corrupted_test_set(x, "gaussian_noise", 2, key={"data": "t"}, cache_dir=tmp_path),
                       torch.zeros_like(a))
    with pytest.raises(ValueError, match="unknown corruption 'fog'"):
        corrupt(x.float(), "fog", 1)


def test_fixed_copies_are_k_draws_of_each_image():
    x = (torch.rand(10, 1, 8, 8) * 255).round().to(torch.uint8)
    y = torch.arange(10)
    gen = torch.Generator().manual_seed(0)
    cx, cy = _fixed_copies(x, y, 4, build("flip"), [], gen)
    assert cx.shape == (40, 1, 8, 8) and torch.equal(cy, y.repeat(4))
    for i in range(40):  # each copy is the image or its mirror image, exactly
        assert torch.equal(cx[i], x[i % 10]) or torch.equal(cx[i], x[i % 10].flip(-1))
    flipped = sum(not torch.equal(cx[i], x[i % 10]) for i in range(40))
    assert 5 < flipped < 35  # both kinds occur (a flip with p = 0.5)


def test_class_conditional_policy_gives_each_class_its_own_augmentation():
    cfg = TrainConfig(augment="noise(0.5)", class_augment=("1=none", "2=flip(1.0)"))
    from augworth.config import class_policies

    policies = class_policies(cfg.class_augment)
    assert policies == {"none": (1,), "flip(1.0)": (2,)}
    per_class = [(build(spec), torch.tensor(cls)) for spec, cls in policies.items()]
    x = torch.rand(30, 1, 6, 6)
    y = torch.arange(30) % 3
    out = _augment(x, y, build(cfg.augment), per_class, torch.Generator().manual_seed(0))
    assert torch.equal(out[y == 1], x[y == 1])                  # class 1: untouched
    assert torch.equal(out[y == 2], x[y == 2].flip(-1))         # class 2: always flipped, no noise
    assert (out[y == 0] - x[y == 0]).abs().mean() > 0.1         # class 0: the default, noise


@pytest.mark.parametrize("entries, message", [(("x=none",), "not CLASS=SPEC"), (("1=none", "1=flip"), "more than one"),
                                              (("3=warp(2)",), "invalid augmentation")])
def test_class_augment_errors_name_the_parameter(entries, message):
    with pytest.raises(ConfigError, match=f"parameter 'class_augment'.*{message}"):
        TrainConfig(class_augment=entries)


def test_paired_difference_pairs_by_size_and_seed():
    import pandas as pd

    rows = []
    for n in (100, 200):
        for s in (0, 1, 2):
            rows.append({"kind": "a", "n": n, "seed": s, "test_err": 0.30 + 0.01 * s})
            rows.append({"kind": "b", "n": n, "seed": s, "test_err": 0.25 + 0.01 * s})
    per_seed, (mean, lo, hi) = paired_difference(pd.DataFrame(rows), {"kind": "a"}, {"kind": "b"})
    np.testing.assert_allclose(per_seed, [0.05, 0.05, 0.05])
    assert mean == pytest.approx(0.05) and lo == pytest.approx(0.05) and hi == pytest.approx(0.05)


def test_the_invariant_model_trains_with_the_augmentations_it_is_given():
    """invariance_augments chooses the invariant model's cells; C3's own arm ('none') is required."""
    from augworth.config import load_params
    from augworth.experiments.exchange_rate import cells

    def invariant(p):
        return {c.augment for kind, c in cells(p) if kind == "invariant"}

    full = load_params("exchange_rate", "full")
    assert invariant(full) == {"none", "flip"}
    assert invariant(load_params("exchange_rate", "full", {"invariance_augments": ["none"]})) == {"none"}
    with pytest.raises(ConfigError, match="parameter 'invariance_augments'.*must hold 'none'"):
        load_params("exchange_rate", "full", {"invariance_augments": ["flip"]})


def test_the_corruption_names_are_the_implemented_ones():
    """One list of names (config.chapters.CORRUPTIONS, the parameters' default and choices);
    data.corruptions implements exactly those."""
    from augworth.config.chapters import CORRUPTIONS
    from augworth.config.worth import WorthParams
    from augworth.data.corruptions import CORRUPTIONS as IMPLEMENTED

    assert set(CORRUPTIONS) == set(IMPLEMENTED) and len(CORRUPTIONS) == len(IMPLEMENTED)
    assert WorthParams().corruptions == CORRUPTIONS


def test_ranking_reads_worth_order_as_paired_test_errors():
    import pandas as pd

    from augworth.analysis.exchange_rate import ranking
    from augworth.verdicts.exchange_rate import ranking_text

    rng = np.random.default_rng(0)
    rows = []
    for seed in range(6):
        base = 0.2 + 0.01 * rng.normal()  # a seed's subset shifts every policy alike: pairing removes it
        for aug, err in (("trivialaugment", base), ("flip", base + 0.02), ("crop(2)+flip", base)):
            rows.append({"kind": "main", "augment": aug, "n": 250, "seed": seed,
                         "test_err": err + 0.001 * rng.normal()})
    runs = pd.DataFrame(rows)
    rank = ranking(runs, 250, "trivialaugment", ["flip", "crop(2)+flip", "absent"])
    assert set(rank) == {"flip", "crop(2)+flip"}
    assert rank["flip"].lo > 0.015 and rank["crop(2)+flip"].lo < 0 < rank["crop(2)+flip"].hi
    text = ranking_text({"ranking": rank, "n_max": 250})
    assert "flip +0.02" in text and "TrivialAugment worth more" in text and "not decided" in text
    assert ranking(runs[runs.augment != "trivialaugment"], 250, "trivialaugment", ["flip"]) == {}
