"""A run's processes end with it (issue: reliability): whatever stops the command -- kill -9,
SIGTERM from `timeout` or a job scheduler, SIGHUP, Ctrl-C -- its pool workers and notebook
kernels stop within seconds, nothing is left half-written, and the same run resumes."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from augworth import paths

GRACE_S = 5.0  # how long a child may outlive the command

SWEEP = """
import sys
from pathlib import Path
from augworth import lifecycle
from augworth.experiments.sweep import echo_cell, run_sweep

if __name__ == "__main__":
    lifecycle.handle_signals(lambda signum: f"stopped by {signum}")  # as `python -m augworth` does
    folder = Path(sys.argv[1])
    cells = [{"x": x, "marker_dir": str(folder), **({"hold": str(folder / "hold")} if x >= 2 else {})} for x in range(6)]
    res = run_sweep(echo_cell, cells, name="held", version=1, executor="process", workers=2)
    print(res.computed)
"""

NOTEBOOK = """# %%
import os
from pathlib import Path
Path(os.environ["HELD_DIR"], "kernel").write_text(str(os.getpid()))
from augworth.experiments.sweep import echo_cell, run_sweep
folder = Path(os.environ["HELD_DIR"])
run_sweep(echo_cell, [{"x": x, "marker_dir": str(folder), "hold": str(folder / "hold")} for x in range(4)],
          name="held", version=1, executor="process", workers=2)
"""

DRIVER = """
import sys
from pathlib import Path
from augworth import lifecycle, pipeline

if __name__ == "__main__":
    lifecycle.handle_signals(lambda signum: f"stopped by {signum}")
    pipeline.run_notebook(Path(sys.argv[1]), {})
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _workers(folder: Path) -> set[int]:
    """Pids of the processes that started a held cell (echo_cell's markers name them)."""
    return {int(p.name.split("-")[1]) for p in folder.glob("x*-*")}


def _start(tmp_path: Path, script: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    (tmp_path / "run.py").write_text(textwrap.dedent(script))
    return subprocess.Popen([sys.executable, str(tmp_path / "run.py"), *args], cwd=paths.ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads processes from /proc")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT],  # (SIGHUP: SIGTERM's path)
                         ids=lambda s: signal.Signals(s).name)
def test_a_stopped_sweep_leaves_no_worker_and_resumes(tmp_path, sig):
    held = tmp_path / "held"
    held.mkdir()
    (held / "hold").touch()
    run = _start(tmp_path, SWEEP, str(held))
    assert _wait_for(lambda: len(_workers(held) - {run.pid}) >= 2 and len(list(held.glob("x[01]-*"))) == 2, 60)
    assert _wait_for(lambda: len(list(Path(os.environ["AUGWORTH_CACHE"]).rglob("held/*.json"))) == 2, 30)
    workers = _workers(held)
    run.send_signal(sig)
    out, err = run.communicate(timeout=30)
    assert _wait_for(lambda: not any(_alive(p) for p in workers), GRACE_S), "a worker outlived the sweep"
    if sig != signal.SIGKILL:
        assert run.returncode == 128 + sig
        assert err.strip().splitlines() == [f"stopped by {int(sig)}"]  # one line, no traceback
    cache = Path(os.environ["AUGWORTH_CACHE"])
    assert list(cache.rglob("*.part")) == []  # nothing half-written
    if sig != signal.SIGKILL:
        return  # the resumed run is the same after every signal: checked once, after the hardest
    (held / "hold").unlink()
    again = _start(tmp_path, SWEEP, str(held))
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0 and out.strip() == "4", err  # the two finished cells were kept


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=lambda s: signal.Signals(s).name)
def test_a_stopped_notebook_run_leaves_no_kernel_and_no_worker(tmp_path, sig):
    held = tmp_path / "held"
    held.mkdir()
    (held / "hold").touch()
    (tmp_path / "held.py").write_text(NOTEBOOK)
    run = _start(tmp_path, DRIVER, str(tmp_path / "held.py"), env={"HELD_DIR": str(held)})
    assert _wait_for(lambda: (held / "kernel").is_file() and len(_workers(held)) >= 2, 120), run.stderr.read()
    kernel, workers = int((held / "kernel").read_text()), _workers(held)
    assert kernel != run.pid and not workers & {kernel, run.pid}
    run.send_signal(sig)
    run.communicate(timeout=30)
    assert _wait_for(lambda: not _alive(kernel), GRACE_S), "the kernel outlived the run"
    assert _wait_for(lambda: not any(_alive(p) for p in workers), GRACE_S), "a worker outlived the run"
    assert list(Path(os.environ["AUGWORTH_CACHE"]).rglob("*.part")) == []
