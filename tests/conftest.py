"""Fixtures: fake installed distributions (``*.dist-info`` on sys.path) exercising real entry points."""

from __future__ import annotations

import sys
import textwrap
import uuid

import pytest


@pytest.fixture
def fake_dists(tmp_path, monkeypatch):
    """Create fake distributions: ``make(dist, ep_name, module_source)`` -> module name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    created = []

    def make(dist: str, ep_name: str, source: str, files: dict | None = None) -> str:
        module = f"fake_{ep_name}_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        for name, text in (files or {}).items():
            (tmp_path / name).write_text(textwrap.dedent(text))
        info = tmp_path / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[mlsysim]\n{ep_name} = {module}\n")
        created.append(module)
        return module

    yield make
    for m in created:
        sys.modules.pop(m, None)


@pytest.fixture
def fresh_host():
    """A new plugin host (and catalog) for one test; the process-wide one is restored afterwards."""
    from mlsysim_core import plugins

    saved = plugins._host

    def make():
        plugins.reset(plugins.PluginHost())
        return plugins.host()

    yield make
    plugins.reset(saved)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "real_venv: builds real virtualenvs with pip (skip with MLSYSIM_SKIP_REAL_VENVS=1 or -m 'not real_venv')",
    )


# --------------------------------------------------------------------------- hypothesis profiles
# "ci": the fuzz suite's default (tests/test_fuzz_solvers.py runs 4 solve() calls per example:
# 2,500 examples = 10,000 cases per solver); "long": 100,000 cases per solver; "dev": a quick pass.
# HYPOTHESIS_PROFILE=<name> selects one for the
# whole run (without it, other hypothesis tests keep the root conftest's profile: no deadline).
try:
    import os as _os

    from hypothesis import HealthCheck as _HC
    from hypothesis import settings as _settings

    _common = dict(
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=[_HC.too_slow, _HC.data_too_large, _HC.filter_too_much],
    )
    _settings.register_profile("ci", max_examples=2_500, **_common)
    _settings.register_profile("long", max_examples=25_000, **_common)
    _settings.register_profile("dev", max_examples=100, **_common)
    if _os.environ.get("HYPOTHESIS_PROFILE"):
        _settings.load_profile(_os.environ["HYPOTHESIS_PROFILE"])
except ImportError:  # hypothesis is a test extra
    pass
