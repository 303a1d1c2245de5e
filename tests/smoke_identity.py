"""The smoke profile's claim records, and the machine that computed them: a change that is not
meant to move a number (a renovation, a refactor) must leave them unchanged, bit for bit, on one
machine. Recorded again with #29's verdict rules (margins, convergence and selection checks);
the cells' numbers under them are those the experiments floor's renovation left. Recorded again
when failed checks began to carry what would pass them (``fix``, ``seeds``): no number moved."""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

FIXTURE = Path(__file__).parent / "data" / "smoke_records.json"
#: What a record's numbers are: the verdict, the effect and interval, the checks and seed counts,
#: the sentence with the numbers (not when or where it was computed)
FIELDS = ("claim", "verdict", "measured", "interval", "summary", "checks", "n_seeds", "seeds_needed", "claimed")


def machine() -> str:
    """CPU model, instruction-set flags, cache size, torch and Python versions: machines with the
    same signature take the same floating-point paths."""
    import torch

    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    keep = [ln.split(":", 1)[1].strip() for ln in info.splitlines()
            if ln.split(":")[0].strip() in ("model name", "flags", "cache size")][:3]
    blob = "|".join([platform.machine(), *keep, torch.__version__, platform.python_version()])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def numbers(folder: Path) -> dict:
    """The FIELDS of every claim record in ``folder`` (JSON: NaN kept as NaN)."""
    out = {}
    for f in sorted(Path(folder).glob("*.json")):
        rec = json.loads(f.read_text())
        out[rec["claim"]] = {k: rec.get(k) for k in FIELDS}
    return out


def save(folder: Path) -> None:
    FIXTURE.write_text(json.dumps({"machine": machine(), "records": numbers(folder)}, indent=1) + "\n")


if __name__ == "__main__":  # python tests/smoke_identity.py <records folder>: record the fixture here
    import sys

    save(Path(sys.argv[1]))
