"""The on-disk catalog cache (mlsysim_core/catalog_cache.py): a hit serves the same catalog a build
gives; any change of input (a catalog file, a plugin, a user file) is a miss; a corrupt, foreign or
unsafe file is rebuilt; a build with warnings or Python-built entries is never stored."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from mlsysim_core import catalog as catalog_module
from mlsysim_core import plugins
from mlsysim_core.cache import cache_dir
from mlsysim_core.errors import PluginConflictWarning

LAB = """
from pathlib import Path
from mlsysim_core import hookimpl
@hookimpl
def mlsysim_catalog_files():
    return [Path(__file__).with_name("lab.toml")]
"""
CHIP = """
[hardware.LabChip]
category = "Cloud"
name = "Lab chip"
peak_flops = {{ fp16 = "{flops} TFLOP/s" }}
memory = {{ capacity = "80 GB", bandwidth = "2 TB/s" }}
source = "test"
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder for this test; returns a function listing its files."""
    monkeypatch.delenv("MLSYSIM_NO_CATALOG_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return lambda: sorted((tmp_path / "xdg" / "mlsysim").glob("catalog-*.pickle"))


def _no_build(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the catalog was built, not read from the cache")

    monkeypatch.setattr(catalog_module, "build", refuse)


def _flops(cat) -> float:
    return cat.Hardware.LabChip.compute.precision_flops["fp16"].to("TFLOP/s").magnitude


def test_cache_dir_follows_xdg_and_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.delenv("MLSYSIM_NO_CATALOG_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == str(tmp_path / "mlsysim")
    assert oct((tmp_path / "mlsysim").stat().st_mode & 0o777) == oct(0o700)  # made private
    monkeypatch.setenv("MLSYSIM_NO_CATALOG_CACHE", "1")
    assert cache_dir() is None


def test_no_cache_when_the_folder_cannot_be_made(tmp_path, monkeypatch):
    monkeypatch.delenv("MLSYSIM_NO_CATALOG_CACHE", raising=False)
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a file where a folder should be
    assert cache_dir() is None


def test_pint_version_is_the_installed_one_with_or_without_its_dist_info_folder(monkeypatch):
    """The caches' key reads pint's version from its dist-info folder's name (no importlib.metadata),
    else from importlib.metadata: the same version either way."""
    import importlib.metadata

    from mlsysim_core import cache

    cache.pint_version.cache_clear()
    assert cache.pint_version() == importlib.metadata.version("pint")
    cache.pint_version.cache_clear()
    monkeypatch.setattr(cache.os, "listdir", lambda folder: [])  # another layout: no folder beside pint
    assert cache.pint_version() == importlib.metadata.version("pint")
    cache.pint_version.cache_clear()


def test_unit_definitions_are_parsed_once_per_machine(tmp_path):
    """A fresh process leaves pint's parsed ``units.txt`` in the cache folder; the next one reads it."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("MLSYSIM_NO_CATALOG_CACHE", None)
    code = "from mlsysim_core.units import ureg; print(ureg.cache_folder)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(tmp_path / "mlsysim" / "pint")
    assert list((tmp_path / "mlsysim" / "pint").glob("*.pickle"))


def test_a_half_written_unit_definitions_cache_is_parsed_again(tmp_path):
    """pint writes its cache in place: a truncated pickle (a process reading while another writes) is
    dropped and the definitions parsed again, never an EOFError at import."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("MLSYSIM_NO_CATALOG_CACHE", None)
    code = "from mlsysim_core.units import Q_; print(round(Q_(1, 'TB/s').to('GB/s').magnitude, 9))"
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
    pickles = list((tmp_path / "mlsysim" / "pint").glob("*.pickle"))
    assert pickles
    for path in pickles:
        path.write_bytes(path.read_bytes()[:10])
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1000.0"


def test_a_hit_serves_the_catalog_a_build_gives(cache, fresh_host, monkeypatch):
    built = fresh_host().catalog()
    (path,) = cache()
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    _no_build(monkeypatch)
    read = fresh_host().catalog()
    assert read is not built
    for section, entries in built.entries.items():
        assert read.entries[section] == entries, section
    h100 = read.Hardware.Cloud.H100
    assert h100.memory.capacity.to("MiB").magnitude == 81559
    assert h100.si == built.Hardware.Cloud.H100.si  # the kernels' SI floats too


def test_an_edited_catalog_file_is_a_miss(cache, fake_dists, fresh_host, tmp_path):
    fake_dists("mlsysim-lab", "lab", LAB, files={"lab.toml": CHIP.format(flops=100)})
    assert _flops(fresh_host().catalog()) == 100
    (tmp_path / "lab.toml").write_text(CHIP.format(flops=250))
    assert _flops(fresh_host().catalog()) == 250
    assert len(cache()) == 2


def test_a_plugin_added_or_removed_is_a_miss(cache, fake_dists, fresh_host, monkeypatch):
    assert "LabChip" not in fresh_host().catalog().Hardware
    fake_dists("mlsysim-lab", "lab", LAB, files={"lab.toml": CHIP.format(flops=100)})
    assert _flops(fresh_host().catalog()) == 100
    monkeypatch.setenv("MLSYSIM_DISABLE_PLUGINS", "lab")
    assert "LabChip" not in fresh_host().catalog().Hardware


def test_a_user_catalog_file_is_keyed_by_its_content(cache, fresh_host, tmp_path):
    lab = tmp_path / "mine.toml"
    for flops in (100, 300, 100):
        lab.write_text(CHIP.format(flops=flops))
        host = fresh_host()
        host.load_catalog(lab)
        assert _flops(host.catalog()) == flops
    assert len(cache()) == 2  # one per content of the file: the third load read the first one's


def test_the_command_line_catalog_option_uses_a_fresh_file(cache, tmp_path):
    lab = tmp_path / "cli.toml"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    cmd = [sys.executable, "-c", "from mlsysim_cli import main; main()", "--catalog", str(lab), "catalog", "hardware"]
    for flops in (123, 456):
        lab.write_text(CHIP.format(flops=flops))
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True, timeout=300).stdout
        assert "Lab chip" in out and f"{flops}" in out


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "not a catalog", "foreign global"])
def test_a_damaged_cache_file_is_rebuilt(damage, cache, fresh_host, monkeypatch):
    fresh_host().catalog()
    (path,) = cache()
    good = path.read_bytes()
    damaged = {
        "garbage": b"\x80\x05not a pickle at all",
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "not a catalog": pickle.dumps({"H100": "fast"}),
        "foreign global": pickle.dumps(subprocess.Popen),  # never imported by find_class
    }[damage]
    path.write_bytes(damaged)
    os.chmod(path, 0o600)
    cat = fresh_host().catalog()
    assert cat.Hardware.Cloud.H100.memory.capacity.to("MiB").magnitude == 81559
    # stored again: a later host reads the catalog from it without a build (its bytes need not match the first
    # file's: a pickle's memo depends on which strings the process had interned before)
    assert cache() == [path] and path.read_bytes() != damaged
    _no_build(monkeypatch)
    assert fresh_host().catalog().Hardware.Cloud.H100.memory.capacity.to("MiB").magnitude == 81559


def test_a_file_others_may_write_is_not_read(cache, fresh_host, monkeypatch):
    fresh_host().catalog()
    (path,) = cache()
    os.chmod(path, 0o666)
    calls = []
    real = catalog_module.build
    monkeypatch.setattr(catalog_module, "build", lambda *a: calls.append(1) or real(*a))
    fresh_host().catalog()
    assert calls == [1]


def test_a_build_with_a_warning_is_not_stored(cache, fake_dists, fresh_host):
    clash = CHIP.format(flops=1).replace("LabChip", "H100")
    fake_dists("mlsysim-lab", "lab", LAB, files={"lab.toml": clash})
    for _ in range(2):  # the second build warns again: nothing was stored
        with pytest.warns(PluginConflictWarning, match="'H100'"):
            fresh_host().catalog()
    assert cache() == []


def test_python_built_entries_are_never_cached(cache, fake_dists, fresh_host):
    fake_dists(
        "mlsysim-pycat",
        "pycat",
        """
        from mlsysim_core import hookimpl
        from mlsysim_core.catalog import Entry
        from mlsysim_core.types import GridProfile

        @hookimpl
        def mlsysim_catalog_entries():
            return [Entry(section="grids", key="Lab_Grid",
                          value=GridProfile(name="Lab grid", carbon_intensity="50 g/kWh", source="test"))]
    """,
    )
    assert fresh_host().catalog().Infra.Grids.Lab_Grid.name == "Lab grid"
    assert cache() == []


def test_an_unwritable_cache_folder_still_gives_the_catalog(tmp_path, monkeypatch, fresh_host):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.delenv("MLSYSIM_NO_CATALOG_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the folder would be
    assert fresh_host().catalog().Hardware.Cloud.H100.name
    assert plugins.host().catalog() is plugins.host().catalog()
    assert not Path(blocker, "mlsysim").exists()


def test_a_cached_catalog_loads_without_pint_and_reads_as_built(cache, fresh_host, monkeypatch):
    """Quantities are stored as Deferred (magnitude, units text): nothing in the file names pint, and
    each field and map builds its Quantity on first read, equal to and hashing as the built one."""
    import pickletools

    from mlsysim_core.types import Deferred
    from mlsysim_core.units import Quantity

    built = fresh_host().catalog().Hardware.Cloud.H100
    (path,) = cache()
    names = {a for _, a, _ in pickletools.genops(path.read_bytes()) if isinstance(a, str)}
    assert not {n for n in names if n.split(".")[0] == "pint"} and "Deferred" in names
    _no_build(monkeypatch)
    read = fresh_host().catalog().Hardware.Cloud.H100
    assert isinstance(read.tdp, Quantity) and read.tdp == built.tdp and read.tdp is read.tdp  # built once
    assert type(read.compute.precision_flops._d["bf16"]) is Deferred  # untouched until read
    assert read.compute.precision_flops["bf16"] == built.compute.precision_flops["bf16"]
    assert isinstance(read.compute.precision_flops._d["bf16"], Quantity)
    assert hash(read) == hash(built) and read == built
    assert pickle.loads(pickle.dumps(read)) == built  # dask / multiprocessing copies
