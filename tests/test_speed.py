"""Time to target, each contender at its best (augworth.speed): the search over run lengths and
both loops on a tiny synthetic data set."""

from types import SimpleNamespace

import pytest
import torch

from augworth import speed


def _fake_run(per_step: float, seconds_per_step: float = 0.01):
    calls = []

    def run(steps, seed):
        calls.append((steps, seed))
        return steps * seconds_per_step, min(1.0, steps * per_step + 0.01 * seed)

    return run, calls


def test_the_shortest_run_whose_mean_over_seeds_reaches_the_target_is_chosen():
    run, calls = _fake_run(per_step=1 / 1000)
    r = speed.at_its_best("fake", run, steps_per_epoch=1000, target=0.5, seeds=(0, 1), budgets=speed.ladder(0.125, 4, 2))
    # 0.125, 0.177, 0.25, 0.354 epochs fall short; 0.5 epochs = 500 steps: (0.50 + 0.51) / 2 >= 0.5
    assert (r.epochs, r.steps, r.tried) == (0.5, 500, 10)
    assert r.seconds == pytest.approx(5.0) and r.accuracy == pytest.approx(0.505)
    assert [s for s, _ in calls] == [125, 125, 177, 177, 250, 250, 354, 354, 500, 500]


def test_a_contender_that_never_reaches_the_target_has_no_time_and_no_speed_up():
    slow, _ = _fake_run(per_step=1e-6)
    fast, _ = _fake_run(per_step=1 / 100)
    rows = [speed.at_its_best("naive", slow, 100, 0.9, seeds=(0,)), speed.at_its_best("engine", fast, 100, 0.9, seeds=(0,))]
    assert rows[0].seconds is None and rows[0].tried == len(speed.BUDGETS)
    assert speed.at_its_best("late", slow, 100, 0.9, seeds=(0,), deadline=0.0).tried == 0
    assert speed.speed_up(rows, "engine") is None
    rows = [rows[1], speed.at_its_best("engine x2", _fake_run(1 / 50, 0.005)[0], 100, 0.9, seeds=(0,))]
    assert speed.speed_up(rows, "engine x2") == pytest.approx(rows[0].seconds / rows[1].seconds)


def test_the_ladders_double_in_equal_ratios():
    assert speed.ladder(0.125, 4, 2) == (0.125, 0.177, 0.25, 0.354, 0.5, 0.707, 1.0, 1.414, 2.0, 2.828, 4.0)
    assert speed.BUDGETS[0] == 0.25 and speed.BUDGETS[4] == 0.5 and speed.BUDGETS[-1] == 4.0


def test_both_loops_train_whole_runs_and_report_time_and_accuracy():
    g = torch.Generator().manual_seed(0)
    ds = SimpleNamespace(train_x=torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=g),
                         train_y=torch.arange(64) % 10,
                         test_x=torch.randint(0, 256, (32, 1, 28, 28), dtype=torch.uint8, generator=g),
                         test_y=torch.arange(32) % 10)
    rows = speed.time_to_target("fast_cnn", 4, ds, torch.device("cpu"), target=0.0, batch_size=16, lr=0.1,
                                recipes={"levers": {"decay": "linear", "bn_bias_lr": 4.0}}, seeds=(0,), budgets=(0.5,))
    assert [r.contender for r in rows] == ["naive loop, today's recipe", "engine, levers"]
    for r in rows:  # target 0: the first run reaches it
        assert r.steps == 2 and r.tried == 1 and r.seconds > 0 and 0.0 <= r.accuracy <= 1.0


def test_make_gpu_records_each_contenders_time_to_target(monkeypatch):
    from augworth import data, gpu

    monkeypatch.setattr(data, "load_dataset", lambda name, device=None: SimpleNamespace(train_y=torch.zeros(1280)))
    seen = {}

    def fake(name, width, ds, device, target, batch_size, lr, recipes, seeds, deadline):
        seen.update(recipes=recipes, batch=batch_size, lr=lr, deadline=deadline)
        return [speed.Reached("naive loop, today's recipe", 1.0, 10, 30.0, 0.93, 2),
                speed.Reached("engine, today's recipe", 1.0, 10, 15.0, 0.93, 2),
                speed.Reached("engine, new recipe", 0.707, 7, 10.0, 0.92, 2)]

    monkeypatch.setattr(speed, "time_to_target", fake)
    rows = gpu.time_to_target(torch.device("cpu"), deadline=123.0)
    assert seen == {"recipes": speed.TARGET_RECIPES, "batch": 128, "lr": 0.1,
                    "deadline": 123.0}
    assert rows[-1] == {"engine (new recipe) vs naive": 3.0} and rows[2]["epochs"] == 0.707
