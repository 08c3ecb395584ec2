"""Grids added for the operator sites that had none (issue 19): each loads, resolves by key and alias, carries
the Electricity Maps 2024 value of its zone and the published price its source quotes, and prices a cost run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import mlsysim

# key -> (Electricity Maps zone, gCO2e/kWh in co2.js yearly_2024.json, published price as quoted, USD/kWh, aliases)
NEW_GRIDS = {
    "Oklahoma": ("US-CENT-SWPP", 451, "Oklahoma industrial 6.26 cents/kWh", 0.0626, ()),
    "Nebraska": ("US-CENT-SWPP", 451, "Nebraska industrial 7.63 cents/kWh", 0.0763, ()),
    "Tennessee": ("US-TEN-TVA", 380, "Tennessee industrial 6.23 cents/kWh", 0.0623, ("TVA",)),
    "Alabama_TVA": ("US-TEN-TVA", 380, "Alabama industrial 7.11 cents/kWh", 0.0711, ()),
    "North_Carolina": ("US-CAR-DUK", 315, "North Carolina industrial 7.15 cents/kWh", 0.0715, ("Duke",)),
    "Nevada": ("US-NW-NEVP", 441, "Nevada industrial 10.36 cents/kWh", 0.1036, ("NV_Energy",)),
    "South_Carolina": ("US-CAR-SC", 647, "South Carolina industrial 6.68 cents/kWh", 0.0668, ("Santee_Cooper",)),
    "Ohio": ("US-MIDA-PJM", 403, "Ohio industrial 7.03 cents/kWh", 0.0703, ()),
    "Illinois": ("US-MIDA-PJM", 403, "Illinois industrial 8.20 cents/kWh", 0.0820, ()),
    "Washington": ("US-NW-GCPD", 53, "Washington industrial 6.35 cents/kWh", 0.0635, ("Grant_PUD",)),
    "Chile": ("CL-SEN", 236, "durante 2024 se encuentra en 112 USD/MWh", 0.112, ()),
    "Belgium": ("BE", 153, "around 82 euros/MWh in Wallonia", 0.0910, ()),
    "Denmark_West": ("DK-DK1", 131, "Denmark (9.8 cents)", 0.1061, ()),
}


@pytest.mark.parametrize("key", sorted(NEW_GRIDS))
def test_new_grid_resolves_and_carries_its_zone_value_and_published_price(key):
    zone, gco2, quoted, usd, aliases = NEW_GRIDS[key]
    grid = mlsysim.Infra.Grids.get(key.lower())  # case-insensitive
    assert grid is getattr(mlsysim.Infra.Grids, key)
    for alias in aliases:
        assert getattr(mlsysim.Infra.Grids, alias) is grid and mlsysim.Infra.Grids.get(alias.upper()) is grid
    assert grid.carbon_intensity.to("g/kWh").magnitude == gco2
    assert f"zone {zone} " in grid.source and f"carbon_intensity {gco2} gCO2e/kWh" in grid.source
    assert quoted in grid.source
    assert grid.electricity_price.to("USD/kWh").magnitude == pytest.approx(usd)


def test_every_datacenter_sits_on_a_catalog_grid():
    for dc in mlsysim.Infra.Datacenters:
        assert any(dc.grid is g for g in mlsysim.Infra.Grids), dc.name


def test_the_grids_docs_list_as_unpriced_are_exactly_the_unpriced_grids():
    text = Path(__file__).parents[1].joinpath("docs", "catalogs.md").read_text()
    listed = re.search(r"tests/test_catalog_grids.py`\): ([^.]+)\.", text)
    assert listed is not None
    unpriced = {k for k in mlsysim.Infra.Grids.keys() if mlsysim.Infra.Grids.get(k).electricity_price is None}
    assert set(listed.group(1).split(", ")) == unpriced
