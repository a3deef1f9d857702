"""Fuzz-suite fixtures (helpers live in fuzzkit.py: a second module called `conftest` would clash)."""

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Mutated rulesets must never reach (or be served from) the user's validated-ruleset cache."""
    monkeypatch.setenv("NTM_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "ntm-cache"))
