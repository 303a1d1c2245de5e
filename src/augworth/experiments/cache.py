"""The results cache: one JSON file per (runner, runner version, resolved parameters).

- The key is a hash of the runner's name, its version and the canonical JSON of the resolved
  parameters. Bump a runner's version when its code changes what it computes; every old entry
  then misses.
- Writes are atomic (a temporary file in the same folder, fsync, then ``os.replace``): an
  interrupted run never leaves a half-written entry, and a rerun recomputes only what is missing.
- Besides the local cache (``AUGWORTH_CACHE``, default ``.cache/``), read-only folders are
  searched: ``data/results/<profile>/`` holds the curated results made on a GPU and committed.
- Entries are JSON (numbers, strings, lists, dicts; NumPy arrays and pandas frames are tagged),
  portable across machines and library versions, and readable by people.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .. import paths
from ..io import atomic_write_text

FORMAT = 2  # version of the on-disk entry layout (2: the result's checksum in its meta)
_WARNED: set = set()  # damaged entries already reported in this process


def to_jsonable(obj: Any) -> Any:
    """Convert results to JSON-able values; arrays and frames keep their type through tags."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (str, bool, int, float)) or obj is None:
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype), "shape": list(obj.shape)}
    if type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
        return to_jsonable(obj.detach().cpu().numpy())
    if type(obj).__name__ == "DataFrame":
        return {"__dataframe__": to_jsonable(obj.to_dict(orient="split"))}
    raise TypeError(f"cannot store a {type(obj).__name__} in the results cache")


def from_jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        if "__ndarray__" in obj:
            return np.asarray(obj["__ndarray__"], dtype=obj["dtype"]).reshape(obj["shape"])
        if "__dataframe__" in obj:
            import pandas as pd

            split = from_jsonable(obj["__dataframe__"])
            return pd.DataFrame(split["data"], index=split["index"], columns=split["columns"])
        return {k: from_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_jsonable(v) for v in obj]
    return obj


def cache_key(runner: str, version: int, params: dict[str, Any]) -> str:
    """Stable hash of what determines a result: the runner, its version, the resolved
    parameters and, for a user's own data (``data_path``), a fingerprint of that data, so that
    changed data never returns an old result."""
    keyed = {"runner": runner, "version": version, "params": to_jsonable(params)}
    if isinstance(params, dict) and params.get("data_path"):
        keyed["data"] = data_fingerprint(str(params["data_path"]))
    blob = json.dumps(keyed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


@functools.lru_cache(maxsize=16)
def data_fingerprint(folder: str) -> str:
    """Hash of a data folder's file list with each file's size and modification time (once per
    process and folder), following symbolic links (a class folder that is a link is read through
    it): adding, removing or changing a file changes it. It cannot see a change that keeps a
    file's name, size and modification time."""
    root = Path(folder).expanduser()
    if not root.exists():
        return "missing"
    h = hashlib.sha256()
    for f in paths.files_under(root):
        st = f.stat()
        h.update(f"{f.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _checksum(stored: Any) -> str:
    """SHA-256 of a result's stored (JSON) form, in its own key order."""
    return hashlib.sha256(json.dumps(stored, separators=(",", ":"), allow_nan=True).encode()).hexdigest()


def _check_entry(entry: dict, runner: str, key: str) -> None:
    """Raise ValueError unless ``entry`` is what :meth:`ResultsCache.put` wrote for this runner
    and key: its meta names them, and the result matches the checksum taken when it was
    stored. Any other shape -- fields missing, renamed or edited -- is damage, never a result."""
    meta = entry.get("meta")
    if not isinstance(meta, dict) or "result" not in entry:
        raise ValueError("no meta or no result")
    if meta.get("runner") != runner or meta.get("key") != key:
        raise ValueError(f"an entry of runner {meta.get('runner')!r} and key {meta.get('key')!r}, not this one")
    if meta.get("result_sha256") != _checksum(entry["result"]):
        raise ValueError("its result does not match the checksum stored with it (edited or damaged)")


def _display(path: Path) -> str:
    """A path relative to the repository when inside it (no machine paths in results)."""
    try:
        return str(path.resolve().relative_to(paths.ROOT))
    except ValueError:
        return path.name


class ResultsCache:
    """Read-write cache folder plus read-only folders of committed results."""

    def __init__(self, root: Path | None = None, read_only: Iterable[Path] | None = None):
        self.root = Path(root) if root is not None else paths.cache_root() / "results"
        if read_only is None:
            base = paths.COMMITTED_RESULTS
            # full first: the publication run wins over smaller ones when keys coincide
            read_only = sorted((p for p in base.iterdir() if p.is_dir()), key=lambda p: p.name != "full") \
                if base.is_dir() else []
        self.read_only = [Path(p) for p in read_only]

    def path(self, runner: str, key: str) -> Path:
        return self.root / runner / f"{key}.json"

    def get(self, runner: str, key: str) -> tuple[Any, dict[str, Any]] | None:
        """``(result, meta)`` of a stored entry, or None. ``meta['source']`` says where it was."""
        for folder, source in [(self.root, "cache")] + [(p, f"committed:{p.name}") for p in self.read_only]:
            path = folder / runner / f"{key}.json"
            if path.is_file():
                try:
                    entry = json.loads(path.read_text())
                    if not isinstance(entry, dict) or entry.get("format") != FORMAT:
                        if isinstance(entry, dict) and isinstance(entry.get("format"), int):
                            continue  # an older layout: a miss, recomputed and overwritten
                        raise ValueError("not a results-cache entry")
                    _check_entry(entry, runner, key)
                    meta = dict(entry["meta"], source=source, path=_display(path))
                    return from_jsonable(entry["result"]), meta
                except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
                    self._damaged(path, err, writable=folder == self.root)
        return None

    def _damaged(self, path: Path, err: Exception, writable: bool) -> None:
        """A damaged entry is a miss: warn (once per path) and, in the writable cache, move it
        aside as ``*.corrupt`` so that the result is recomputed and stored afresh."""
        import warnings

        if writable:
            aside = path.with_name(path.name + ".corrupt")
            os.replace(path, aside)
            where = f"moved aside to {_display(aside)}; it will be recomputed"
        else:
            where = "a committed result: left in place, recomputed into the cache instead"
        if path not in _WARNED:
            _WARNED.add(path)
            warnings.warn(f"results-cache entry {_display(path)} is damaged ({type(err).__name__}: {err}); {where}",
                          stacklevel=3)

    def put(self, runner: str, key: str, result: Any, meta: dict[str, Any], root: Path | None = None) -> Path:
        """Store an entry atomically (in ``root`` instead of the cache folder if given), with
        the result's checksum in its meta."""
        path = (Path(root) if root else self.root) / runner / f"{key}.json"
        stored = to_jsonable(result)
        meta = dict(to_jsonable(meta), runner=runner, key=key, result_sha256=_checksum(stored))
        # No sort_keys: a result's dict order (e.g. columns of a table) is part of the result.
        text = json.dumps({"format": FORMAT, "meta": meta, "result": stored}, indent=1)
        atomic_write_text(path, text)
        return path
