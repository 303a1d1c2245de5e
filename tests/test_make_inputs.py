"""No value a user gives to make is ever run, by make or by a shell (issue: reliability).

Every target of the real Makefile runs in a scratch copy of the project whose interpreter and
jupyter-book are stand-ins that only write down what they were given; each variable a target
reads gets, in turn, text that would run a command if make expanded it or a shell parsed it.
Nothing may run, and the stand-ins must receive the text unchanged."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from augworth import paths

MAKEFILE = paths.ROOT / "Makefile"
TARGETS = re.findall(r"^([a-z]+):.*## ", MAKEFILE.read_text(), flags=re.M)
USER_VARS = re.search(r"^USER_VARS := (.*)$", MAKEFILE.read_text(), flags=re.M).group(1).split()
# what each hostile value tries, {m} being where it would leave its marker
ATTACKS = {
    "make-shell": "$(shell touch {m})",
    "make-dollar": "$$(touch {m})",
    "shell-subst": "$(touch {m})",
    "backticks": "`touch {m}`",
    "double-quote": 'x"; touch {m}; echo "',
    "single-quote": "x'; touch {m}; echo '",
    "semicolon": "x; touch {m}",
    "and": "x && touch {m} && y",
    "brace": "${{x:-$(touch {m})}}",
}
STAND_IN = """#!/bin/bash
# a stand-in that writes down its arguments and the make variables it sees, then succeeds
{{ printf 'CALL %s\\n' "$(basename "$0")"; for a in "$@"; do printf 'ARG %q\\n' "$a"; done
  for v in {vars}; do printf 'ENV %s=%q\\n' "$v" "${{!v}}"; done; }} >> "$STAND_IN_LOG"
"""


def _project(root: Path) -> Path:
    """A scratch copy of what the Makefile reads: its environment already made (stand-ins),
    MathJax vendored, one benchmark."""
    root.mkdir()
    shutil.copy(MAKEFILE, root / "Makefile")
    (root / "pyproject.toml").write_text("")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("python", "jupyter-book"):
        (bin_dir / tool).write_text(STAND_IN.format(vars=" ".join(USER_VARS)))
        (bin_dir / tool).chmod(0o755)
    (root / ".venv" / ".augworth-installed").touch()
    mathjax = root / "book" / "_static" / "mathjax" / "tex-mml-chtml.js"
    mathjax.parent.mkdir(parents=True)
    mathjax.touch()
    (root / "benchmarks").mkdir()
    (root / "benchmarks" / "b.py").touch()
    (root / "notebooks").mkdir()
    return root


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in USER_VARS and not k.startswith(("MAKE", "CONDA"))}
    return env


def test_the_makefile_pastes_no_user_variable_into_a_recipe():
    recipes = [line for line in MAKEFILE.read_text().splitlines() if line.startswith("\t")]
    for var in USER_VARS:
        for line in recipes:
            assert f"$({var})" not in line and f"${{{var}}}" not in line, f"{var} pasted into: {line}"


def test_every_target_and_variable_is_covered():
    assert {"nb", "worth", "replicate", "plan", "gpu", "book", "test"} <= set(TARGETS)
    assert {"P", "NAME", "PROFILE", "OFFSET", "DATA", "AUG", "BASELINE", "MINUTES", "TFLOPS", "PYTHON3"} <= set(USER_VARS)


def _attack(root: Path, target: str, var: str, template: str) -> list[str]:
    """One make run with one hostile variable, in a scratch project of its own: what went wrong."""
    project = _project(root)
    marker = project / "pwned"
    value = template.format(m=marker)
    log = project / "calls.log"
    env = dict(_env(), STAND_IN_LOG=str(log))
    if target == "nb" and var != "NAME":
        env["NAME"] = "data"  # so that nb gets past its NAME check
    if target == "worth" and var != "DATA":
        env["DATA"] = "fashion_mnist"
    if target == "env":
        (project / ".venv" / ".augworth-installed").unlink()
        if var == "PYTHON3":
            (project / ".venv" / "bin" / "python").unlink()  # so that the recipe calls PYTHON3
    done = subprocess.run(["make", "-s", target, f"{var}={value}"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=60)
    wrong = [f"make {target} {var}={value!r} ran a command: {done.stderr[-300:]}"] if marker.exists() else []
    calls = log.read_text() if log.is_file() else ""
    for seen in re.findall(rf"^ENV {var}=(.*)$", calls, flags=re.M):
        got = subprocess.run(["bash", "-c", f"printf %s {seen}"], capture_output=True, text=True).stdout
        if got != value:
            wrong.append(f"make {target} {var}={value!r}: the command received {got!r}")
    shutil.rmtree(project)
    return wrong


@pytest.mark.parametrize("target", TARGETS)
def test_no_value_given_to_make_runs(tmp_path, target):
    """Each variable x each attack on this target, one make run each: no marker appears, and
    whatever the stand-ins were handed holds the value exactly as typed."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(tmp_path / f"{var}-{attack}", target, var, template)
            for var in USER_VARS for attack, template in ATTACKS.items()]
    with ThreadPoolExecutor(4) as pool:  # the runs are process start-ups: overlap them
        wrong = [w for found in pool.map(lambda job: _attack(*job), jobs) for w in found]
    assert wrong == []


def test_the_stand_in_sees_what_a_real_run_would_pass(tmp_path):
    """The stand-ins are not vacuous: make nb hands the chapter, the profile and P through."""
    project = _project(tmp_path / "p")
    log = project / "calls.log"
    done = subprocess.run(["make", "-s", "nb", "NAME=data", "PROFILE=smoke", "P=seeds=[0,1] x='a b'"], cwd=project,
                          env=dict(_env(), STAND_IN_LOG=str(log)), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = log.read_text()
    assert "ARG notebooks\nARG data\nARG --profile\nARG smoke\n" in calls
    assert "ENV P=seeds=\\[0\\,1\\]\\ x=\\'a\\ b\\'" in calls
