import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own results cache, so no test reads another's (or a user's) results."""
    monkeypatch.setenv("AUGWORTH_CACHE", str(tmp_path_factory.mktemp("cache")))
