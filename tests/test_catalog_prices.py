"""The rental price catalog (mlsysim_registry/data/prices.toml) and grid electricity prices converted
from another currency: loading, validation errors, lookup, `mlsysim catalog prices`, and published list
prices reproduced from the catalog alone."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

import mlsysim
from mlsysim_cli import main
from mlsysim_core.errors import CatalogError, InvalidInputError
from mlsysim_registry import prices

HW_KEYS = {"H100", "A100"}
GOOD = """
[x-1]
provider = "P"
instance = "i"
accelerator = "H100"
gpus = 8
region = "r"
currency = "USD"
on_demand = "2 USD/h"
date = "2025-01"
source = "s"
"""


def test_every_rental_loads_resolves_and_has_a_dated_source():
    table = prices.rentals()
    assert len(table) >= 9
    for key, r in table.items():
        assert r.terms() and r.source.strip() and re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", r.date)
        assert r.hardware().name  # the accelerator key names a catalog part
        assert prices.lookup(key.upper()) is r  # case-insensitive
        for term in r.terms():
            assert r.rate(term) > 0


def test_published_list_prices_from_the_catalog_alone():
    """A provider's list price back from the catalog: AWS p4d.24xlarge on demand, 32.77 USD per
    instance-hour (Epoch AI Hardware prices dataset, row 2024-08-03, archived AWS P4 page) = 8 x the
    catalog's 4.10 USD per GPU-hour (Epoch's rounding: 32.77 / 8 = 4.096); 1-year 19.22 = 8 x 2.40 (0.1 %)."""
    p4d = prices.lookup("aws-p4d")
    per_instance = {t: p4d.rate(t) * 3600 * p4d.gpus for t in p4d.terms()}
    assert per_instance["on_demand"] == pytest.approx(32.77, rel=2e-3)
    assert per_instance["reserved_1yr"] == pytest.approx(19.22, rel=2e-3)
    assert per_instance["reserved_3yr"] == pytest.approx(11.57, rel=3e-3)
    # AWS p5en.48xlarge on demand in us-east-1, 63.296 USD per instance-hour (dstack PR #4110, 2026-08-06)
    p5en = prices.lookup("aws-p5en")
    assert p5en.rate("on_demand") * 3600 * p5en.gpus == pytest.approx(63.296, rel=1e-9)


@pytest.mark.parametrize(
    ("replace", "field", "why"),
    [
        ('on_demand = "2 USD/h"', "on_demand", "USD"),  # wrong unit below
        ('accelerator = "H100"', "accelerator", "not a hardware catalog key"),
        ("gpus = 8", "gpus", "integer >= 1"),
        ('date = "2025-01"', "date", "YYYY-MM"),
        ('currency = "USD"', "currency", "stored in USD"),
        ('region = "r"', "regoin", "unknown field"),
        ('source = "s"', "source", "required field is missing"),
        ('on_demand = "2 USD/h"', "", "lists no price"),
    ],
)
def test_a_bad_rental_names_file_line_entry_and_field(replace, field, why):
    bad = {
        "on_demand": 'on_demand = "2 USD/kWh"',
        "accelerator": 'accelerator = "H1000"',
        "gpus": "gpus = 0",
        "date": 'date = "last week"',
        "currency": 'currency = "EUR"',
        "regoin": 'regoin = "r"',
        "source": "",
        "": "",
    }[field]
    with pytest.raises(CatalogError, match=why) as err:
        prices.parse(GOOD.replace(replace, bad), "p.toml", HW_KEYS)
    assert str(err.value).startswith("p.toml:") and "[x-1]" in str(err.value)
    if field and field != "source":
        assert f"field {field!r}" in str(err.value)
    assert prices.parse(GOOD, "p.toml", HW_KEYS)["x-1"].rate("on_demand") == pytest.approx(2 / 3600)


def test_unknown_rental_and_unlisted_term_are_clear_errors():
    with pytest.raises(InvalidInputError, match="did you mean aws-p5"):
        prices.lookup("aws-p55")
    with pytest.raises(InvalidInputError, match="its source gives no spot price"):
        prices.lookup("aws-p5").rate("spot")


def test_catalog_prices_command_lists_every_rental():
    out = CliRunner().invoke(main, ["catalog", "prices"])
    assert out.exit_code == 0, out.output
    assert "aws-p5 " in out.output and "12.29" in out.output and "2023-07" in out.output
    doc = json.loads(CliRunner().invoke(main, ["catalog", "prices", "--json"]).output)
    assert {d["key"] for d in doc} == set(prices.rentals())
    assert CliRunner().invoke(main, ["catalog", "--check"]).exit_code == 0


RATE_SOURCES = r"(Bank of Canada|ECB|Saudi Central Bank|Central Bank of the UAE|Federal Reserve)"
_CONVERTED = re.compile(r"electricity_price ([0-9.]+) USD/kWh = ([0-9.]+) ([A-Z]{3})/kWh at ([0-9.]+) USD/\3 \(([^)]*)")


def test_grid_prices_converted_from_another_currency_state_rate_and_match_it():
    """Every grid price published in another currency states the exchange rate and its source; the stored USD
    value is the local price times that rate (to the 4 significant digits stored)."""
    converted = 0
    for grid in mlsysim.Infra.Grids:
        m = _CONVERTED.search(grid.source)
        if m is None:
            continue
        usd, local, currency, rate, rate_source = m.groups()
        assert grid.electricity_price.to("USD/kWh").magnitude == pytest.approx(float(usd))
        assert float(usd) == pytest.approx(float(local) * float(rate), rel=5e-4)
        assert re.search(RATE_SOURCES + r".*20\d\d", rate_source)
        converted += 1
    # CAD: 2; EUR: Sweden, Finland, Ireland, France, Germany, Poland, Denmark, Spain, Netherlands, Belgium; GBP; SAR,
    # KRW, TWD, AED; NOK; JPY; SGD
    assert converted >= 20


def test_cost_in_quebec_needs_no_kwh_price():
    out = CliRunner().invoke(main, ["cost", "Research_256", "--days", "30", "--datacenter", "Quebec"])
    assert out.exit_code == 0, out.output
    assert "0.04096 USD/kWh" in out.output


# Grids whose industrial electricity price has no source in the catalog yet (issue 19): this set only shrinks
# (Belgium came in unpriced with the Google campus it serves).
UNPRICED = {"India", "Australia"}


def test_every_priced_grid_prices_a_cost_run_without_kwh_price():
    keys = set(mlsysim.Infra.Grids.keys())
    priced = sorted(keys - UNPRICED)
    assert UNPRICED <= keys and len(priced) >= 16
    for key in priced:
        out = CliRunner().invoke(main, ["cost", "Research_256", "--days", "30", "--datacenter", key])
        assert out.exit_code == 0, (key, out.output)
        price = mlsysim.Infra.Grids.get(key).electricity_price.to("USD/kWh").magnitude
        assert f"electricity_price  {price:.4g} USD/kWh" in out.output, (key, out.output)
    for key in UNPRICED:
        assert mlsysim.Infra.Grids.get(key).electricity_price is None


def test_taiwan_and_south_korea_prices_come_from_their_own_tariffs():
    """The two grids store the same 0.1325 USD/kWh by coincidence, each from its own local price and rate."""
    tw, kr = mlsysim.Infra.Grids.Taiwan, mlsysim.Infra.Grids.South_Korea
    assert "= 4.29 TWD/kWh at 0.03089 USD/TWD" in tw.source and "Taipower" in tw.source
    assert "= 182.7 KRW/kWh at 0.0007251 USD/KRW" in kr.source and "KEPCO" in kr.source
    assert 4.29 * 0.03089 != pytest.approx(182.7 * 0.0007251, rel=1e-4)


# grid -> (the local price and rate as the source states them, its publisher, USD/kWh stored)
LOCAL_PRICES = {
    "Tokyo": ("= 29.38 JPY/kWh at 0.008261 USD/JPY", "TEPCO", 0.2427),
    "Japan": ("= 27.55 JPY/kWh at 0.007607 USD/JPY", "ITOCHU ENEX", 0.2096),
    "Netherlands": ("= 0.177 EUR/kWh at 1.0534 USD/EUR", "CBS (Statistics Netherlands)", 0.1865),
    "Belgium": ("= 0.082 EUR/kWh at 1.1096 USD/EUR", "Febeliec", 0.0910),
    "Singapore": ("= 0.221 SGD/kWh at 0.7246 USD/SGD", "Energy Market Authority", 0.1601),
    "Canada": ("= 0.071875 CAD/kWh at 0.7685 USD/CAD", "Hydro-Quebec", 0.05524),
}


@pytest.mark.parametrize("key", sorted(LOCAL_PRICES))
def test_grid_carries_its_quoted_local_price(key):
    quoted, publisher, usd = LOCAL_PRICES[key]
    grid = mlsysim.Infra.Grids.get(key.upper())  # case-insensitive
    assert quoted in grid.source and publisher in grid.source
    assert grid.electricity_price.to("USD/kWh").magnitude == pytest.approx(usd)


def test_canada_is_the_stated_mean_of_the_city_prices_it_names():
    """Canada (national) has no published industrial price: its local price is the unweighted mean of the four
    Canadian large-power prices on Hydro-Quebec's 2022 page, two of which are the Quebec and Ontario grids' own."""
    grid = mlsysim.Infra.Grids.Canada
    cities = dict(re.findall(r"(Montreal|Winnipeg|Vancouver|Toronto) (\d+\.\d+)", grid.source))
    assert sorted(cities) == ["Montreal", "Toronto", "Vancouver", "Winnipeg"]
    assert sum(map(float, cities.values())) / 4 / 100 == pytest.approx(0.071875)
    quebec, ontario = (mlsysim.Infra.Grids.get(k).electricity_price.magnitude for k in ("Quebec", "Ontario"))
    assert float(cities["Montreal"]) / 100 * 0.7685 == pytest.approx(quebec, rel=5e-4)
    assert float(cities["Toronto"]) / 100 * 0.7685 == pytest.approx(ontario, rel=5e-4)
    tier, low, high, *_ = grid.provenance["electricity_price"]
    assert tier == "estimate" and low == pytest.approx(quebec) and low < grid.electricity_price.magnitude < high
