"""Settings for every test run in this repository (tests/ and plugins/*/tests, alone or together)."""

from __future__ import annotations

import os
import shutil
import tempfile

_made: str | None = None

# Speed is measured in bench/, not in timed tests: hypothesis' 200 ms deadline per example made tests fail on
# a loaded machine (a serving secant test and a power-efficiency test at 330 ms, under load 9). Every run,
# any plugin alone included, starts from this profile; tests/conftest.py's HYPOTHESIS_PROFILE still replaces it.
try:
    from hypothesis import settings as _settings

    _settings.register_profile("mlsysim", deadline=None)
    _settings.load_profile("mlsysim")
except ImportError:  # hypothesis is a test extra
    pass


def pytest_configure(config):
    """A test run neither reads nor fills the user's cache folder (built catalogs, parsed units): it
    gets a private one, shared by its xdist workers and the processes its tests start, removed at the end."""
    global _made
    if "MLSYSIM_TEST_CACHE" not in os.environ:
        _made = tempfile.mkdtemp(prefix="mlsysim-test-cache-")
        os.environ["MLSYSIM_TEST_CACHE"] = _made
    os.environ["XDG_CACHE_HOME"] = os.environ["MLSYSIM_TEST_CACHE"]


def pytest_unconfigure(config):
    if _made is not None:
        shutil.rmtree(_made, ignore_errors=True)
        os.environ.pop("MLSYSIM_TEST_CACHE", None)
