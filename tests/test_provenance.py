"""Provenance tiers and ranges of catalog numbers (mlsysim_uncertainty.provenance, SCHEMA.md) and the
bands they give the fleet solvers (``band_catalog``)."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

import mlsysim
from mlsysim_core.errors import CatalogError
from mlsysim_uncertainty import banded
from mlsysim_uncertainty.provenance import STRICT_SECTIONS

NODES, GRIDS = mlsysim.Systems.Nodes, mlsysim.Infra.Grids

NODE = (
    '[nodes.N]\nname = "n"\naccelerator = "H100"\naccelerators_per_node = 8\npower_max = "10 kW"\nsource = "s"\n'
    'components = [{ part = "gpu", count = 8, mttf = "50000 h" }]\n'
)


def _load(tmp_path, fresh_host, provenance: str):
    path = tmp_path / "lab.toml"
    path.write_text(NODE + f"provenance = {provenance}\n")
    host = fresh_host()
    host.load_catalog(path)
    return host.catalog().entry("nodes", "N").value


def test_a_provenance_table_is_read_with_its_ranges_in_the_field_unit(tmp_path, fresh_host):
    node = _load(
        tmp_path,
        fresh_host,
        '{ power_max = "datasheet", "components.gpu.mttf" = { tier = "estimate", range = ["1000 d", "60000 h"], '
        'range_source = "r" } }',
    )
    assert node.provenance["power_max"] == ("datasheet", None, None, "kW", 10.0, "")
    assert node.provenance["components.gpu.mttf"] == ("estimate", 24000.0, 60000.0, "h", 50000.0, "r")


@pytest.mark.parametrize(
    "provenance, field, why",
    [
        ('{ tdp = "datasheet" }', "provenance.tdp", "the path of a number"),  # the node gives no tdp
        ('{ power_max = "rumour" }', "provenance.power_max.tier", "datasheet | measured | paper | estimate"),
        ('{ power_max = "estimate" }', "provenance.power_max.range", "an estimate needs its range"),
        (
            '{ power_max = { tier = "estimate", range = ["11 kW", "12 kW"], range_source = "r" } }',
            "provenance.power_max.range",
            "low <= the entry's value 10 <= high",
        ),
        (
            '{ power_max = { tier = "estimate", range = ["9 h", "12 h"], range_source = "r" } }',
            "provenance.power_max.range",
            "convertible to",
        ),
        ('{ power_max = { tier = "paper", range = ["9 kW", "12 kW"] } }', "provenance.power_max.range_source", ""),
        ('{ "components.cpu.mttf" = "measured" }', "provenance.components.cpu.mttf", "the path of a number"),
        (
            '{ power_max = { tier = "estimate", range = ["9 kW", "12 kW"], range_source = "@no-such-source" } }',
            "provenance.power_max.range_source",
            "NAME one of crusoe-fault-mix, ",
        ),
    ],
)
def test_a_wrong_provenance_is_an_error_naming_the_field(tmp_path, fresh_host, provenance, field, why):
    with pytest.raises(CatalogError, match=f"lab.toml:\\d+: \\[nodes.N\\] field '{field}'.*{why}"):
        _load(tmp_path, fresh_host, provenance)


def test_a_shared_range_source_is_cited_by_name_and_carried_as_its_text(tmp_path, fresh_host):
    from mlsysim_uncertainty.provenance import shared_sources

    node = _load(
        tmp_path,
        fresh_host,
        '{ power_max = { tier = "estimate", range = ["9 kW", "12 kW"], range_source = "@upstream-year" } }',
    )
    assert node.provenance["power_max"][5] == shared_sources()["upstream-year"]
    assert shared_sources()["upstream-year"].startswith("an estimate: mlsysim 0.1.1's year")
    assert mlsysim.Hardware.H100.provenance["dispatch_tax"][5] == shared_sources()["upstream-dispatch-tax"]


def test_every_shared_range_source_is_cited_more_than_once_by_the_default_catalog():
    import mlsysim_registry
    from mlsysim_uncertainty.provenance import shared_sources

    text = "".join(p.read_text() for p in (Path(mlsysim_registry.__file__).parent / "data").glob("*.toml"))
    for name in shared_sources():
        assert text.count(f'range_source = "@{name}"') >= 2, name  # one citation: write the text in the entry


def test_every_catalog_type_carries_provenance(tmp_path, fresh_host):
    path = tmp_path / "lab.toml"
    path.write_text(
        '[fabrics.F]\nname = "f"\nbandwidth = "1 GB/s"\nlatency = "2 us"\nsource = "s"\n'
        'provenance = { bandwidth = "datasheet", latency = { tier = "estimate", range = ["1 us", "4 us"], '
        'range_source = "r" } }\n'
    )
    host = fresh_host()
    host.load_catalog(path)
    fabric = host.catalog().entry("fabrics", "F").value
    assert fabric.provenance["latency"][:3] == ("estimate", 1.0, 4.0) and fabric.provenance["latency"][4:] == (2.0, "r")


def test_the_numbers_groups_e_and_f_rest_on_are_marked():
    """Every catalog number a group E or F prediction reads has a tier; the uncertain ones a range."""
    for node in (NODES.DGX_H100, NODES.DGX_A100):
        assert node.provenance["power_max"][0] == "datasheet"
        assert node.accelerator.provenance["tdp"][0] == "datasheet"
        for part in ("gpu", "nic", "host"):
            tier, low, high, unit, value, source = node.provenance[f"components.{part}.mttf"]
            assert unit == "h" and low < value < high and source
    assert NODES.DGX_H100.provenance["components.gpu.mttf"][:3] == ("measured", 36175.0, 138733.0)
    assert mlsysim.Hardware.A100.provenance["embodied_carbon"][:3] == ("estimate", 150.0, 318.0)
    assert GRIDS.US_Avg.provenance["carbon_intensity"][:3] == ("measured", 383.6, 420.0)


def test_reliability_band_is_the_solve_at_the_ends_of_the_part_mttf_ranges():
    fleet = mlsysim.Fleet(name="f", node=NODES.DGX_H100, count=100)
    r = banded(mlsysim.ReliabilityModel, fleet, 24.0)
    ends = {part: NODES.DGX_H100.provenance[f"components.{part}.mttf"][1:3] for part in ("gpu", "nic", "host")}
    for i, name in ((0, "high"), (1, "low")):  # short MTTFs: the most failures per day
        parts = tuple(
            attrs.evolve(c, mttf=f"{ends[c.part][i]} h") if c.part in ends else c for c in NODES.DGX_H100.components
        )
        worse = mlsysim.ReliabilityModel().solve(
            attrs.evolve(fleet, node=attrs.evolve(NODES.DGX_H100, components=parts)), 24.0
        )
        assert r.bands.ranges["failures_per_day"]["low high".split().index(name)].magnitude == pytest.approx(
            worse.failures_per_day.magnitude
        )


def test_a_number_the_caller_replaced_is_held():
    node = attrs.evolve(
        NODES.DGX_H100, components=tuple(attrs.evolve(c, mttf="1000 h") for c in NODES.DGX_H100.components)
    )
    r = banded(mlsysim.ReliabilityModel, mlsysim.Fleet(name="f", node=node, count=10), 24.0)
    assert "failures_per_day" not in r.bands.ranges  # its catalog ranges describe other numbers


def test_carbon_band_moves_the_grid_intensity_and_embodied_carbon_within_their_ranges():
    fleet = mlsysim.Fleet(name="f", node=NODES.DGX_A100, count=4)
    r = banded(mlsysim.SustainabilityModel, fleet, 30, datacenter=GRIDS.US_Avg, utilization=1.0, embodied=None)
    low, high = (q.to("kg").magnitude for q in r.bands.ranges["operational_carbon"])
    mid = r.operational_carbon.to("kg").magnitude
    assert (low / mid, high / mid) == pytest.approx((383.6 / 409, 420 / 409))
    e_low, e_high = (q.to("kg").magnitude for q in r.bands.ranges["embodied_carbon"])
    assert e_high / e_low == pytest.approx(318 / 150)
    quebec = banded(mlsysim.SustainabilityModel, fleet, 30, datacenter=GRIDS.Quebec, utilization=1.0, embodied=False)
    assert "operational_carbon" not in quebec.bands.ranges  # Quebec's intensity carries no range


def _every_number(entry) -> list[str]:
    """Value paths of every number a default-catalog entry's TOML gives (walked here apart from the loader)."""
    from mlsysim_registry.tables import _written
    from mlsysim_registry.toml_files import read_file
    from mlsysim_uncertainty.provenance import numbers

    raw = next(r for r in read_file(entry.file) if (r.section, r.key) == (entry.section, entry.key))
    return [path for path, _, _ in numbers(entry.value, _written(raw.table)).values()]


@pytest.mark.parametrize("section", STRICT_SECTIONS)
def test_every_number_of_the_default_catalog_has_a_tier_and_every_estimate_a_range(section):
    entries = [e for e in mlsysim.catalog().entries[section].values() if e.provider == "default_catalog"]
    assert entries
    for e in entries:
        paths = _every_number(e)
        assert paths and set(paths) == set(e.value.provenance), e.key
        for path, (tier, low, high, _unit, value, source) in e.value.provenance.items():
            assert tier in ("datasheet", "measured", "paper", "estimate")
            if tier == "estimate":
                assert low <= value <= high and source, (e.key, path)


def test_hardware_tiers_follow_each_number_source():
    hw = mlsysim.Hardware
    assert hw.H100.provenance["memory.capacity"][0] == "measured"  # nvidia-smi's 81,559 MiB
    assert hw.H100.provenance["compute.precision_flops.bf16"][0] == "datasheet"
    assert hw.H100.provenance["scale_up.latency"][:3] == ("estimate", 0.5, 1.0)  # 0.1.1's LATENCY_NVLINK
    assert hw.H100.provenance["dispatch_tax"][:3] == ("estimate", 5.0, 20.0)
    assert hw.TPUv2.provenance["tdp"][0] == "paper"  # Jouppi et al. 2020
    assert hw.iPhone15Pro.provenance["compute.precision_flops.fp16"][:3] == ("estimate", 17.5, 70.0)


STRICT = '[hardware.X]\nname = "x"\npeak_flops = { bf16 = "100 TFLOP/s", fp8 = "200 TFLOP/s" }\nsource = "s"\n'
STRICT += 'memory = { capacity = "80 GB", bandwidth = "2 TB/s" }\ntdp = "500 W"\n'


def _strict(tmp_path, fresh_host, provenance: str, strict: bool = True):
    """Hardware X read from a file in the default catalog's folder (``strict``) or a user's (not)."""
    from mlsysim_registry import tables

    (tmp_path / "x.toml").write_text(STRICT + (f"provenance = {provenance}\n" if provenance else ""))
    if strict:
        tables._DEFAULT_CATALOG, saved = str(tmp_path), tables._DEFAULT_CATALOG
    try:
        host = fresh_host()
        host.load_catalog(tmp_path / "x.toml")
        return host.catalog().entry("hardware", "X").value
    finally:
        if strict:
            tables._DEFAULT_CATALOG = saved


def test_a_default_table_and_dotted_keys_give_every_number_its_tier(tmp_path, fresh_host):
    hw = _strict(
        tmp_path,
        fresh_host,
        '{ "*" = "datasheet", peak_flops = "paper", "peak_flops.fp8" = "measured", memory.capacity = "measured", '
        'tdp = { tier = "estimate", range = ["400 W", "0.6 kW"], range_source = "r" } }',
    )
    tiers = {path: spec[0] for path, spec in hw.provenance.items()}
    assert tiers == {
        "compute.precision_flops.bf16": "paper",
        "compute.precision_flops.fp8": "measured",
        "memory.capacity": "measured",
        "memory.bandwidth": "datasheet",
        "tdp": "estimate",
    }
    assert hw.provenance["tdp"][1:5] == (400.0, 600.0, "W", 500.0)


@pytest.mark.parametrize(
    "provenance, field, why",
    [
        ('{ tdp = "datasheet" }', "provenance.peak_flops.bf16", "a tier"),  # strict: every number has one
        ("", "provenance.peak_flops.bf16", "a tier"),  # no table at all
        ('{ "*" = "estimate" }', "provenance.\\*", "a tier other than estimate"),
        ('{ "*" = { tier = "paper", range = ["1 W", "2 W"], range_source = "r" } }', "provenance.\\*", "other than"),
        ('{ "*" = "datasheet", tdp = "estimate" }', "provenance.tdp.range", "an estimate needs its range"),
        ('{ "*" = "datasheet", memory.type = "measured" }', "provenance.memory.type", "the path of a number"),
    ],
)
def test_strict_catalog_errors_name_entry_and_path(tmp_path, fresh_host, provenance, field, why):
    with pytest.raises(CatalogError, match=f"x.toml:\\d+: \\[hardware.X\\] field '{field}'.*{why}"):
        _strict(tmp_path, fresh_host, provenance)


def test_a_users_catalog_may_leave_numbers_without_a_tier(tmp_path, fresh_host):
    assert _strict(tmp_path, fresh_host, "", strict=False).provenance == {}
    hw = _strict(tmp_path, fresh_host, '{ tdp = "datasheet" }', strict=False)
    assert set(hw.provenance) == {"tdp"}


def test_catalog_provenance_counts_every_number_per_tier():
    from click.testing import CliRunner

    from mlsysim_cli import main

    out = CliRunner().invoke(main, ["catalog", "provenance", "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["section"]: r for r in json.loads(out.stdout)}
    assert set(rows) == {*STRICT_SECTIONS, "prices"}
    for section, r in rows.items():
        tiers = sum(r[t] for t in ("datasheet", "measured", "paper", "estimate"))
        assert r["untiered"] == 0 and tiers == r["numbers"] > 0, section
    hw = mlsysim.catalog().entries["hardware"]
    assert rows["hardware"]["entries"] == len(hw)
    assert rows["hardware"]["numbers"] == sum(len(e.value.provenance) for e in hw.values())
    assert rows["hardware"]["estimate"] == sum(
        v[0] == "estimate" for e in hw.values() for v in e.value.provenance.values()
    )
