import pytest
import torch

from augworth import runtime
from augworth.__main__ import main


def test_auto_device_and_env_override(monkeypatch):
    monkeypatch.delenv("AUGWORTH_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert runtime.resolve_device("auto").type == expected
    monkeypatch.setenv("AUGWORTH_DEVICE", "cpu")
    assert runtime.resolve_device("auto").type == "cpu"
    assert runtime.resolve_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_asking_for_missing_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="parameter 'device' = 'cuda' asks for CUDA, which is not available on this "
                                         "machine: use auto or cpu"):
        runtime.resolve_device("cuda")


def test_seeding_is_deterministic():
    runtime.seed_everything(11)
    a = torch.rand(3)
    runtime.seed_everything(11)
    assert torch.equal(a, torch.rand(3))


def test_machine_note_scales_a_time_by_the_reference_step():
    # a machine twice as slow as the reference: 10 minutes here are 5 there
    note = runtime.machine_note(600.0, step_ms=2 * runtime.REFERENCE_STEP_MS)
    assert note.startswith("10.0 min here (reference step 26.8 ms;") and note.endswith("about 5.0 min there)")


def test_reference_step_is_timed_on_one_thread_and_restores_the_thread_count():
    before = torch.get_num_threads()
    ms = runtime.reference_step_ms(steps=2, blocks=3, warmup=1)
    assert 0.1 < ms < 10_000 and torch.get_num_threads() == before


def test_progress_switch(monkeypatch):
    monkeypatch.setenv("AUGWORTH_PROGRESS", "0")
    items = [1, 2]
    assert runtime.progress(items) is items
    monkeypatch.setenv("AUGWORTH_PROGRESS", "1")
    bar = runtime.progress(items, desc="x")
    assert list(bar) == items and type(bar).__name__ == "tqdm"


def test_cli_rejects_bad_parameter_before_work(capsys):
    assert main(["run", "data", "--profile", "smoke", "--set", "n_per_class=99"]) == 2
    err = capsys.readouterr().err
    assert "error: parameter 'n_per_class' of notebook 'data' = 99 is out of range" in err
    assert main(["notebooks", "data", "--set", "sed=1"]) == 2
    assert "unknown parameter 'sed'" in capsys.readouterr().err
    assert main(["notebooks", "nope"]) == 2
    assert "unknown notebook 'nope'" in capsys.readouterr().err


def test_cli_run_computes_then_reads_cache(capsys):
    assert main(["run", "data", "--profile", "smoke"]) == 0
    first = capsys.readouterr().out
    assert main(["run", "data", "--profile", "smoke"]) == 0
    second = capsys.readouterr().out
    assert "| computed |" in first and "| cache |" in second
    assert "grid: array (10, 3, 1, 28, 28)" in second


def test_cli_params_lists_every_profile(capsys):
    assert main(["params", "data"]) == 0
    out = capsys.readouterr().out
    assert "subset_sizes" in out and "smoke=[100, 400]" in out and "an integer, in [1, 32]" in out


def test_cli_sweep_trains_a_grid_and_resumes(capsys, tmp_path):
    argv = ["sweep", "--set", "n_train=[256,512]", "--set", "epochs=1", "--set", "width=4",
            "--set", "val_size=500", "--set", "device=cpu", "--csv", str(tmp_path / "t.csv")]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert "2 cells, 0 from cache, 2 computed" in out.err and "test_acc" in out.out
    assert main(argv) == 0
    assert "2 cells, 2 from cache, 0 computed" in capsys.readouterr().err
    assert main(["sweep", "--set", "n_train=[256,99999999]", "--set", "epochs=1"]) == 2
    assert "n_train" in capsys.readouterr().err


def test_cli_confirm_names_a_missing_registration(capsys):
    assert main(["confirm", "--profile", "smoke", "--registration", "2"]) == 2
    err = capsys.readouterr().err
    assert "--registration 2" in err and "registration-2.yaml" in err and "none" in err


def test_cli_plan_counts_a_later_registration_on_its_own(capsys):
    assert main(["plan", "--profile", "book", "flatness"]) == 0
    out = capsys.readouterr().out
    assert "registration 2 (params/book/registration-2.yaml): C5 again" in out and "make confirm REG=2" in out
