import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own results cache, so no test reads another's (or a user's) results;
    sweeps run inline (the Makefile's default process pool would only add start-up time to the
    tiny smoke cells; tests of the executors name theirs)."""
    monkeypatch.setenv("AUGWORTH_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("AUGWORTH_EXECUTOR", "inline")
    monkeypatch.delenv("AUGWORTH_FROM_MAKE", raising=False)  # make test's own variable: not the tested command's
