"""Plugin discovery from the cached entry-point list (mlsysim_core.discovery): read back without a scan
while nothing changed, scanned again when a distribution is installed or its metadata edited, never
written while a folder is changing, and never trusted when corrupt or not the user's own."""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
import time
from pathlib import Path

import pytest

from mlsysim_core import discovery, plugins
from mlsysim_core.cache import cache_dir

PLUGIN = """
from mlsysim_core import hookimpl

@hookimpl
def mlsysim_cli_commands():
    return []
"""


def _age(folder, seconds=10):
    """Date a folder and everything in it ``seconds`` back (as if installed then, not just now)."""
    then = time.time_ns() - seconds * 10**9
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, ns=(then, then))


def _listed():
    return [tuple(f[:4]) for f in discovery.entry_points(plugins.GROUP)]


def _cached():
    return sorted(Path(cache_dir()).glob("plugins-*.json"))


@pytest.fixture
def installed(fake_dists, tmp_path, tmp_path_factory, monkeypatch):
    """``install(dist, name)``: a fake distribution in a folder that is all of ``sys.path`` (so only its
    own changes decide whether the cached list holds), dated 10 s back; the cached lists go to a cache
    folder of the test's own (the user's, shared with other test workers, is never read or touched)."""
    monkeypatch.delenv("MLSYSIM_NO_CATALOG_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    assert not _cached()

    def install(dist, name, age=True):
        module = fake_dists(dist, name, PLUGIN)
        monkeypatch.setattr(sys, "path", [str(tmp_path)])
        if age:
            _age(tmp_path)
        return module

    return install


def _no_scan(monkeypatch):
    def scan(**kwargs):
        raise AssertionError("importlib.metadata scanned although the cached list is valid")

    monkeypatch.setattr(importlib.metadata, "entry_points", scan)


def test_the_list_is_written_and_read_back_without_a_scan(installed, monkeypatch):
    module = installed("mlsysim-a", "a")
    first = _listed()
    assert first == [("a", module, "mlsysim-a", "1.0")] and len(_cached()) == 1
    _no_scan(monkeypatch)
    again = discovery.entry_points(plugins.GROUP)
    assert [tuple(f[:4]) for f in again] == first
    assert again[0].load() is sys.modules[module]


def test_a_distribution_installed_after_the_list_was_written_is_found(installed, monkeypatch):
    a = installed("mlsysim-a", "a")
    assert _listed() == [("a", a, "mlsysim-a", "1.0")]
    b = installed("mlsysim-b", "b", age=False)  # a new folder entry: the sys.path folder's time moves
    assert sorted(_listed()) == [("a", a, "mlsysim-a", "1.0"), ("b", b, "mlsysim-b", "1.0")]


def test_an_edited_entry_point_file_is_read_again(installed, tmp_path):
    a = installed("mlsysim-a", "a")
    assert _listed() == [("a", a, "mlsysim-a", "1.0")]
    (tmp_path / "mlsysim_a-1.0.dist-info" / "entry_points.txt").write_text(f"[mlsysim]\nrenamed = {a}\n")
    assert _listed() == [("renamed", a, "mlsysim-a", "1.0")]


def test_nothing_is_written_while_a_folder_is_changing(installed):
    installed("mlsysim-a", "a", age=False)
    assert _listed() and not _cached()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"[]",
        b'{"entry_points": [["x", "y", "z"]], "files": []}',
        b'{"entry_points": [[1, 2, 3, 4]], "files": []}',
        b'{"entry_points": [], "files": [[0, null, null]]}',
        b'{"entry_points": [], "files": "abc"}',
    ],
)
def test_a_corrupt_list_is_scanned_again(installed, content):
    a = installed("mlsysim-a", "a")
    _listed()
    (path,) = _cached()
    path.write_bytes(content)
    assert _listed() == [("a", a, "mlsysim-a", "1.0")]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="file modes")
def test_a_list_others_could_write_is_not_trusted(installed):
    a = installed("mlsysim-a", "a")
    _listed()
    (path,) = _cached()
    path.write_text(json.dumps({"entry_points": [], "files": []}))
    assert _listed() == []  # the user's own file is read as it is
    os.chmod(path, 0o666)
    assert _listed() == [("a", a, "mlsysim-a", "1.0")]


def test_the_host_lists_the_same_plugins_with_and_without_the_list(installed, fresh_host, monkeypatch):
    from click.testing import CliRunner

    from mlsysim_cli import main

    installed("mlsysim-a", "a")
    shown = []
    for off in ("", "", "1"):  # written, read back, cache off
        monkeypatch.setenv("MLSYSIM_NO_CATALOG_CACHE", off)
        fresh_host()
        out = json.loads(CliRunner().invoke(main, ["plugins", "--json"]).output)
        shown.append([{k: v for k, v in row.items() if k != "import_seconds"} for row in out])
    assert shown[0] == shown[1] == shown[2] and [row["name"] for row in shown[0]] == ["a"]
