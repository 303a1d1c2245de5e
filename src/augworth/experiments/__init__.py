"""Experiment runners (one per chapter), the results cache, and sweeps."""

from .cache import ResultsCache, cache_key
from .registry import RUNNERS, Result, get_runner, run, runner

# Importing a chapter's module registers its runner.
from . import class_level, data_overview, exchange_rate, flatness, saliency, sample_complexity, worth  # noqa: E402,F401  isort: skip

__all__ = ["ResultsCache", "cache_key", "RUNNERS", "Result", "get_runner", "run", "runner"]
