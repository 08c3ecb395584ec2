"""EconomicsModel: total cost of ownership of a fleet over a duration.

Equations (``shared/design/physics.md``, "Economics"):

- CapEx (purchase) = accelerators * unit price + nodes * host price + network, times
  ``infrastructure_multiplier`` (upstream's knob, default 1); amortized straight-line over
  ``amortization_years``: CapEx share = CapEx_total * duration / life.
- OpEx = facility energy * electricity price + CapEx_total * maintenance_rate * duration / year.
  Facility energy = IT energy * PUE; IT power = nodes * (P_idle + (P_max - P_idle) * u)
  (``mlsysim_fleet.inputs.fleet_it_power``: node power, not GPU TDP alone).
- TCO = CapEx share + OpEx; cost per GPU-hour = TCO / (accelerators * hours).
- Cloud alternative = rate * accelerators * hours; buy-vs-rent break-even t* = CapEx_total /
  (rate * accelerators - OpEx per unit time). The rate is ``cloud_rate`` or a rental of the price
  catalog (``rent=``, ``mlsysim_registry/data/prices.toml``: a provider's list price per accelerator-hour
  for a term). Break-even utilization u* = TCO / (rate * accelerators * duration): the share of the
  period the work must keep the fleet busy for owning to cost less than renting only the busy hours.
- Renting needs no site: without a PUE (no datacenter) or an electricity price, a fleet priced at a
  rate (``rent=``, ``cloud_rate=``) gets the rental cost and CapEx only; every owned-cost field (energy
  cost, OpEx, TCO, break-even, rental estimate) is None and ``owned_note`` says which input is missing.
  Without a rate that is an error, as before.
- Rental estimate (``mlsysim_fleet.rental``): what a GPU cloud that buys the fleet would charge per
  accelerator-hour for a committed term of T = ``rental_years``, every hour billed: its operating cost
  (the purchase written off over the term, energy, maintenance) over (1 - operating margin m):
  rate = (CapEx / T + OpEx per unit time) / (accelerators x (1 - m)), m = ``rental_margin`` (16.9 %:
  CoreWeave 2024; operating income is before interest, so m pays interest and profit). A committed
  price, not an on-demand list price (which also pays for the hours a provider leaves unsold: no
  filing states that share).
- With a serving result: cost per 1M tokens = cost per hour / (tokens per second * 3600) * 1e6, the
  fleet's token rate being the replica's times the number of whole replicas, floor(N / replica's
  accelerators) (the accelerators left over idle, still owned; a replica larger than the fleet is an
  error). A result that reports whole
  requests (ServingModel with ``output_len``: prompt prefill included, continuous batching) is
  priced by its output tokens per second with the prefills counted, and the cost splits by time:
  input price = cost rate * prefill share / input tokens per second, output price = cost rate *
  (1 - prefill share) / output tokens per second (so a request costs S * input + O * output price).
  A result with decode steps only (no output_len) is priced by its decode rate, and says so. With a training result: the
  run's cost = cost per accelerator-second * accelerators * run time. With a per-step result
  (latency, throughput in samples/s): cost per query = cost per hour / (fleet samples/s * 3600).

Fixes over upstream 0.1.1 (reference section 8, items 11-12): no silent $30,000 H100 price for
every part, no $0.12/kWh everywhere (the grid's price or an error asking for ``kwh_price``),
node power instead of GPU TDP, host and network CapEx, input checks.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from mlsysim_core import validate as V
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.results import Result, measure, result
from mlsysim_core.solver import PreparedCache, Solver
from mlsysim_core.sweep import PointErrors, checked, where
from mlsysim_core.types import Datacenter, Fleet
from mlsysim_core.units import DIMENSIONLESS, USD, USD_PER_HOUR, USD_PER_KWH, U
from mlsysim_fleet.inputs import (
    HOUR_S,
    KWH_J,
    YEAR_S,
    UpstreamEnergyNames,
    Usage,
    amount,
    carrying,
    check_fleet,
    duration_arg,
    facility_pue,
    fleet_groups,
    fleet_it_power,
    named_fleets,
    node_power,
    per_query_unused,
    pooled,
    ratio,
    site,
    utilization_of,
    utilization_source,
    workload_usage,
)
from mlsysim_fleet.rental import DEFAULT_RENTAL_MARGIN, DEFAULT_RENTAL_YEARS, SHORTEST_TERM_YEARS
from mlsysim_physics.equations import DEFAULT_UTILIZATION, SERVICE_LIFE_YEARS, maximum

#: Default service life for straight-line amortization (years): the servers' (its sources there). Upstream used 3.
DEFAULT_AMORTIZATION_YEARS = SERVICE_LIFE_YEARS
#: Annual maintenance as a fraction of CapEx. No sourced value was found
#: (infrastructure.md section 6: "maintenance_fraction_per_year: null"); 5 %/yr is upstream's stated
#: ANNUAL_MAINTENANCE_RATIO, kept as an explicit, overridable assumption.
DEFAULT_MAINTENANCE_RATE = 0.05

_USD_PER_GPU_HOUR = "USD/h"
YEAR = U("year")


@result("EconomicsModel")
class EconomicsResult(UpstreamEnergyNames, Result):
    """Total cost of ownership of a fleet over ``duration`` (all money in USD)."""

    capex = measure("USD", doc="CapEx share for the duration: capex_total * duration / service life")
    capex_total = measure("USD", doc="purchase price of the fleet (accelerators + hosts + network)")
    capex_accelerators = measure("USD", doc="accelerators * unit price")
    capex_hosts = measure("USD", doc="nodes * host price (node without its accelerators)")
    capex_network = measure("USD", doc="network CapEx (0 unless network_cost is given)")
    opex_energy = measure("USD", doc="facility energy * electricity price", optional=True)
    opex_maintenance = measure("USD", doc="capex_total * maintenance_rate * duration / year")
    opex = measure("USD", doc="opex_energy + opex_maintenance", optional=True)
    tco = measure("USD", doc="capex + opex", optional=True)
    cost_per_gpu_hour = measure(
        _USD_PER_GPU_HOUR, doc="tco / (accelerators * hours), USD per accelerator-hour", optional=True
    )
    it_energy = measure("kWh", doc="IT energy: node power at the utilization * duration")
    facility_energy = measure("kWh", doc="it_energy * PUE", optional=True)
    it_power = measure("kW", doc="fleet IT power at the utilization")
    electricity_price = measure("USD/kWh", doc="price used for energy", optional=True)
    duration = measure("day", doc="period costed")
    pue: float | None = attrs.field()  # None: no datacenter and no pue= (a rental priced alone)
    utilization: float = attrs.field()
    utilization_source: str | None = attrs.field(
        default=None,
        metadata={
            "doc": "where the utilization came from: 'argument', 'workload' (a serving result under traffic: its GPUs' "
            "loaded_power at the served rate, placed between idle and TDP) or 'default'"
        },
    )
    amortization_years: float = attrs.field()
    maintenance_rate: float = attrs.field()
    accelerators: int = attrs.field()
    nodes: int = attrs.field()
    price_source: str | None = attrs.field()  # "argument" (kwh_price), "grid" (region_name's electricity_price), None
    #: "argument", "datacenter", "grid typical_pue" (typical datacenter on the grid), None (a rental priced alone)
    pue_source: str | None = attrs.field()
    region_name: str | None = attrs.field()
    datacenter_name: str | None = attrs.field()
    rental_estimate = measure(
        _USD_PER_GPU_HOUR,
        doc="what a GPU cloud would charge per accelerator-hour to rent this fleet for rental_years, every hour "
        "billed: (capex_total / rental_years + OpEx per hour) / (accelerators x (1 - rental_margin)); a "
        "committed price, not an on-demand list price",
        optional=True,
    )
    rental_years: float = attrs.field(metadata={"doc": "committed term the rental estimate prices (years)"})
    rental_margin: float = attrs.field(metadata={"doc": "operating margin of the renting provider (of revenue)"})
    rental_note: str | None = attrs.field(
        default=None,
        metadata={
            "doc": "why the rental estimate is outside its sources' domain (an accelerator no rental of the price "
            "catalog rents, a term shorter than 3 years), or None"
        },
    )
    owned_note: str | None = attrs.field(
        default=None,
        metadata={
            "doc": "why the owned cost (energy cost, OpEx, TCO, break-even, rental estimate) is not computed: the "
            "site's PUE or electricity price is unknown and a rental rate was given (renting needs neither), or None"
        },
    )
    cloud_rate = measure(_USD_PER_GPU_HOUR, doc="cloud price per accelerator-hour (if given)", optional=True)
    cloud_cost = measure("USD", doc="cloud_rate * accelerators * hours (if cloud_rate given)", optional=True)
    cloud_to_tco_ratio: float | None = attrs.field(default=None)
    breakeven_utilization: float | None = attrs.field(
        default=None,
        metadata={
            "doc": "tco / cloud_cost: the share of the period the fleet must be busy for owning to beat renting "
            "only the busy hours (above 1: renting every hour is cheaper)"
        },
    )
    rent: str | None = attrs.field(default=None, metadata={"doc": "price-catalog rental priced (rent=), or None"})
    rent_term: str | None = attrs.field(default=None, metadata={"doc": "on_demand, reserved_1yr, reserved_3yr, spot"})
    rent_source: str | None = attrs.field(default=None, metadata={"doc": "provider, instance, region, date read"})
    cheaper: str | None = attrs.field(default=None)
    breakeven = measure(
        "day", doc="time after which buying beats renting (None: renting always cheaper)", optional=True
    )
    tokens_per_second = measure("token/s", doc="fleet output tokens per second (serving workload)", optional=True)
    token_rate_basis: str | None = attrs.field(
        default=None,
        metadata={
            "doc": "'request' (output tokens/s with the prompts' prefill included, continuous batching) or "
            "'decode step' (a serving result without output_len: prefill not counted)"
        },
    )
    cost_per_million_tokens = measure(
        "USD",
        doc="cost per hour / (tokens/s * 3600) * 1e6: per output token, the whole request's cost on the request basis",
        optional=True,
    )
    input_tokens_per_second = measure("token/s", doc="fleet prompt tokens per second (request basis)", optional=True)
    cost_per_million_input_tokens = measure(
        "USD", doc="cost per hour * prefill share / (input tokens/s * 3600) * 1e6 (request basis)", optional=True
    )
    cost_per_million_output_tokens = measure(
        "USD", doc="cost per hour * (1 - prefill share) / (output tokens/s * 3600) * 1e6 (request basis)", optional=True
    )
    cost_per_query = measure(
        "USD",
        doc="cost_per_million_tokens * tokens_per_query / 1e6 (serving result), or "
        "cost per hour / (queries_per_second * 3600) (per-step result)",
        optional=True,
    )
    queries_per_second = measure(
        "1/s", doc="fleet samples (queries) per second from a per-step result's throughput", optional=True
    )
    replica_accelerators: float | None = attrs.field(default=None)
    replicas: int | None = attrs.field(
        default=None,
        metadata={"doc": "whole replicas the fleet holds: floor(accelerators / replica_accelerators); the rest idle"},
    )
    workload_time = measure("h", doc="wall time of the training run costed", optional=True)
    workload_cost = measure("USD", doc="cost of the training run (owned fleet)", optional=True)
    workload_cloud_cost = measure("USD", doc="cost of the training run at cloud_rate", optional=True)

    def why(self) -> list[str]:
        """The result's why lines, why the owned cost is not computed and why the rental estimate is outside
        its sources' domain, if they are."""
        owned = [f"tco: {self.owned_note}"] if self.owned_note else []
        note = [f"rental_estimate: {self.rental_note}"] if self.rental_note else []
        return [*super().why(), *owned, *note]

    # upstream 0.1.1 names (floats in USD; energies as kWh Quantities)
    @property
    def capex_usd(self) -> float:
        return float(self.si("capex"))

    @property
    def opex_energy_usd(self) -> float | None:
        return self._usd("opex_energy")

    @property
    def opex_maintenance_usd(self) -> float:
        return float(self.si("opex_maintenance"))

    @property
    def total_opex_usd(self) -> float | None:
        return self._usd("opex")

    @property
    def tco_usd(self) -> float | None:
        return self._usd("tco")

    def _usd(self, name: str) -> float | None:
        """An owned-cost field in USD, None where it is not computed (``owned_note``)."""
        v = self.si(name)
        return None if v is None else float(v)


def _price(name: str, value: Any, default: float | None, part: str, *, allow_zero: bool = False) -> float:
    """A part price (USD): the argument if given, else the catalog's; neither is an error naming the part."""
    if value is not None:
        return amount(name, value, USD, 1.0, "USD", low_open=not allow_zero)
    if default is None:
        raise InvalidInputError(
            name, None, "a price in USD", f"{part} has no {name} in the catalog; pass {name}=Q_(..., 'USD')"
        )
    return default


class EconomicsModel(Solver):
    """Total cost of ownership (CapEx, OpEx, TCO) of a fleet, with cost per GPU-hour, the cloud
    alternative, and cost per token or per training run when given another solver's result."""

    name = "EconomicsModel"
    consumes = (Fleet,)
    produces = EconomicsResult
    #: solve() arguments sweep_columns() takes as arrays
    sweep_vector = ("duration_days", "utilization", "kwh_price")
    #: an input result whose band is carried through (mlsysim_uncertainty.banded: solved at its corners)
    band_inputs = ("workload",)
    #: catalog numbers whose range (``provenance``) bands move, each at its low end with the fast corner (the
    #: workload's): every cost grows with the accelerator price, node power, PUE and electricity price
    band_catalog = {name: "low" for name in ("unit_cost", "power_max", "power_idle", "tdp", "pue", "electricity_price")}
    #: the node utilization's range (mlsysim_uncertainty.RANGES: its default's measured sources), at its low
    #: end with the fast corner, and the rental estimate's margin (its filings' span, low end with it);
    #: ``mfu``, the utilization's upstream name, holds it when given
    band_arguments = {"utilization": "utilization", "rental_margin": "rental_margin"}
    band_aliases = {"mfu": "utilization"}
    #: held too where the workload gave it (``utilization_source`` "workload": a serving result's loaded power): each
    #: corner then takes it from the workload's corner, whose power band it carries (mlsysim_uncertainty.banded)
    band_sources = {"utilization": "utilization_source"}

    def solve(
        self,
        fleet: Any,
        duration_days: Any = None,
        kwh_price: Any = None,
        datacenter: Any = None,
        grid: Any = None,
        mfu: Any = None,
        amortization_years: Any = DEFAULT_AMORTIZATION_YEARS,
        infrastructure_multiplier: Any = 1.0,
        *,
        utilization: Any = None,
        maintenance_rate: Any = DEFAULT_MAINTENANCE_RATE,
        unit_cost: Any = None,
        host_cost: Any = None,
        network_cost: Any = None,
        pue: Any = None,
        cloud_rate: Any = None,
        workload: Any = None,
        tokens_per_query: Any = None,
        steps: Any = None,
        rent: Any = None,
        rent_term: Any = None,
        rental_years: Any = DEFAULT_RENTAL_YEARS,
        rental_margin: Any = None,
        decode_fleet: Any = None,
    ) -> EconomicsResult:
        """Cost of owning and running ``fleet`` for ``duration_days``.

        Args:
            fleet: a Fleet (``mlsysim.Systems.Clusters.X``).
            duration_days: days (number) or a time Quantity; may be None with a training ``workload``
                (the run's time is costed).
            kwh_price: USD/kWh (number or Quantity). Default: the electricity price of ``grid``, of the
                ``datacenter``'s grid, or of the fleet's datacenter grid; none of them is an error.
            datacenter: a Datacenter, or a GridProfile meaning a typical datacenter on that grid.
            grid: a GridProfile replacing the facility's grid (location varies independently of PUE).
            mfu: upstream name of ``utilization``.
            amortization_years: service life for straight-line amortization (number of 365-day years
                or a time Quantity).
            infrastructure_multiplier: upstream's multiplier on the purchase price (default 1).
            utilization: position of each node between idle (0) and rated max (1) power
                (default ``mlsysim_physics.equations.DEFAULT_UTILIZATION``).
            maintenance_rate: fraction of CapEx per year.
            unit_cost, host_cost, network_cost: USD overrides of the accelerator price, the host (node
                without accelerators) price and the whole network's price (network: 0 if not given; with a
                decode_fleet counted once, with the prefill fleet; unit_cost and host_cost not with pools on two
                accelerators).
            pue: override of the facility PUE.
            cloud_rate: cloud price per accelerator-hour (number in USD or a USD/h Quantity).
            rent: a rental of the price catalog (its key, e.g. ``"aws-p5"``, or a
                ``mlsysim_registry.prices.Rental``): its list price is the cloud rate (not with
                ``cloud_rate``); its accelerator must be the fleet's.
            rent_term: ``"on_demand"`` (default), ``"reserved_1yr"``, ``"reserved_3yr"`` or ``"spot"``.
            workload: a serving result (``tokens_per_second``), a training result (``time_to_train``
                or ``step_time`` with ``steps``), or a per-step result with ``latency`` and
                ``throughput`` (e.g. SingleNodeModel's profile: ``cost_per_query`` per sample).
            tokens_per_query: output tokens per query, for ``cost_per_query``.
            steps: training steps, for a training result that has only ``step_time``.
            rental_years: committed term of the rental estimate (number of 365-day years or a time
                Quantity; default ``mlsysim_fleet.rental.DEFAULT_RENTAL_YEARS``, 3).
            rental_margin: operating margin of the renting provider, in [0, 1) (default
                ``DEFAULT_RENTAL_MARGIN``, 0.169: CoreWeave 2024).
            decode_fleet: with a disaggregated serving result (``ServingModel`` with ``disagg=``) whose pools run
                on two accelerators: the decode pool's fleet, ``fleet`` then the prefill pool's; both at one site
                (the pools share a fabric). None: ``fleet`` holds both pools (``mlsysim_fleet.inputs.disagg_usage``).

        Checks run on every other argument first, then on utilization (with mfu), duration_days and
        kwh_price.
        """
        fleet, datacenter, grid, decode_fleet = named_fleets(fleet, datacenter, grid, decode_fleet)
        gs = _groups(
            fleet,
            datacenter,
            grid,
            mfu,
            amortization_years,
            infrastructure_multiplier,
            maintenance_rate,
            unit_cost,
            host_cost,
            network_cost,
            pue,
            cloud_rate,
            workload,
            tokens_per_query,
            steps,
            rent,
            rent_term,
            rental_years,
            rental_margin,
            decode_fleet,
        )
        g = gs[0]
        u = utilization_of(utilization, mfu, gs[0].usage)
        t = duration_arg(duration_days, g.usage)
        price = _energy_price(kwh_price, g)
        source = "argument" if kwh_price is not None else None if price is None else "grid"
        used = utilization_source(utilization, mfu, g.usage)
        result = _pools_evaluate(gs, u, t, price, EconomicsResult, price_source=source, utilization_source=used)
        return result if workload is None else carrying(result, "workload", workload)

    def sweep_columns(self, n: int, vectors: dict[str, np.ndarray], args: dict[str, Any]) -> dict[str, Any]:
        """``n`` points of one group (the Solver protocol): duration_days, utilization and kwh_price
        as arrays, through solve()'s checks and :func:`_evaluate`."""
        a = dict(args)
        a["fleet"], a["datacenter"], a["grid"], a["decode_fleet"] = named_fleets(
            a["fleet"], a["datacenter"], a["grid"], a["decode_fleet"]
        )
        gs = _groups(
            a["fleet"],
            a["datacenter"],
            a["grid"],
            a["mfu"],
            a["amortization_years"],
            a["infrastructure_multiplier"],
            a["maintenance_rate"],
            a["unit_cost"],
            a["host_cost"],
            a["network_cost"],
            a["pue"],
            a["cloud_rate"],
            a["workload"],
            a["tokens_per_query"],
            a["steps"],
            a["rent"],
            a["rent_term"],
            a["rental_years"],
            a["rental_margin"],
            a["decode_fleet"],
        )
        g = gs[0]
        errors = PointErrors(n)
        u = checked(errors, "utilization", vectors, a, lambda v: utilization_of(v, a["mfu"], gs[0].usage))
        t = checked(errors, "duration_days", vectors, a, lambda v: duration_arg(v, g.usage))
        price = checked(errors, "kwh_price", vectors, a, lambda v: _energy_price(v, g))
        given = "kwh_price" in vectors or a["kwh_price"] is not None
        source = "argument" if given else None if price is None else "grid"
        used = "argument" if "utilization" in vectors else utilization_source(a["utilization"], a["mfu"], g.usage)
        return _pools_evaluate(
            gs, u, t, price, dict, price_source=source, utilization_source=used, valid=errors.ok, error=errors.messages
        )


class _Group:
    """Checked arguments of one configuration but utilization, duration and energy price (SI floats)."""

    __slots__ = (
        "usage",
        "fleet",
        "grid",
        "life",
        "rate",
        "p_ue",
        "capex_acc",
        "capex_host",
        "capex_net",
        "capex_total",
        "pmax",
        "pidle",
        "cloud_rate",
        "write_off",
        "margin",
        "tq",
        "fields",
    )
    usage: Any
    fleet: Any
    grid: Any
    life: Any
    rate: Any
    p_ue: Any
    capex_acc: Any
    capex_host: Any
    capex_net: Any
    capex_total: Any
    pmax: Any
    pidle: Any
    cloud_rate: Any
    write_off: Any
    margin: Any
    tq: Any
    fields: Any


def _prepare(
    fleet: Any,
    datacenter: Any,
    grid: Any,
    mfu: Any,
    amortization_years: Any,
    infrastructure_multiplier: Any,
    maintenance_rate: Any,
    unit_cost: Any,
    host_cost: Any,
    network_cost: Any,
    pue: Any,
    cloud_rate: Any,
    workload: Any,
    tokens_per_query: Any,
    steps: Any,
    rent: Any = None,
    rent_term: Any = None,
    rental_years: Any = DEFAULT_RENTAL_YEARS,
    rental_margin: Any = None,
    *,
    usage: Usage | None = None,
) -> _Group:
    """Check every argument but utilization, duration_days and kwh_price; CapEx and the site. ``usage``: what the
    fleet serves of a disaggregated workload (:func:`_groups`), read from ``workload`` otherwise."""
    g = _Group()
    g.fleet = fleet = check_fleet(fleet)
    if mfu is not None:
        ratio("mfu", mfu, 0.0, 1.0)
    g.usage = w = workload_usage(workload, fleet, steps, "EconomicsModel") if usage is None else usage
    per_query_unused(w, tokens_per_query)
    g.life = amount("amortization_years", amortization_years, YEAR, YEAR_S, "years")
    g.rate = ratio("maintenance_rate", maintenance_rate, 0.0, 1.0)
    mult = amount("infrastructure_multiplier", infrastructure_multiplier, DIMENSIONLESS, 1.0, "factor", high=100.0)

    # --- where: facility (PUE) and grid (price)
    facility, g.grid = site(fleet, datacenter, grid)
    if pue is not None:
        g.p_ue = ratio("pue", pue, 1.0, 5.0)
        pue_source = "argument"
    elif facility is not None:
        g.p_ue = facility_pue(facility)
        pue_source = "datacenter" if isinstance(facility, Datacenter) else "grid typical_pue"
    else:  # renting needs no site: without a rate below, an error
        g.p_ue = pue_source = None

    # --- CapEx
    node = fleet.node
    hw = node.accelerator
    nodes = fleet.count
    n = nodes * node.accelerators_per_node
    c_unit = _price("unit_cost", unit_cost, hw.si.unit_cost, f"accelerator {hw.name!r}")
    c_host = _price("host_cost", host_cost, node.si.host_cost, f"node {node.name!r}", allow_zero=True)
    c_net = 0.0 if network_cost is None else amount("network_cost", network_cost, USD, 1.0, "USD", low_open=False)
    g.capex_acc = n * c_unit * mult
    g.capex_host = nodes * c_host * mult
    g.capex_net = c_net * mult
    g.capex_total = g.capex_acc + g.capex_host + g.capex_net
    g.pmax, g.pidle = node_power(fleet, DEFAULT_UTILIZATION)
    g.cloud_rate = (
        None
        if cloud_rate is None
        else amount("cloud_rate", cloud_rate, USD_PER_HOUR, 1.0 / HOUR_S, "USD per accelerator-hour")
    )
    rented = _rental(rent, rent_term, cloud_rate, hw)
    if rented is not None:
        g.cloud_rate = rented["rate"]
    if g.p_ue is None and g.cloud_rate is None:
        raise InvalidInputError(
            "datacenter",
            None,
            "a Datacenter or GridProfile (for its PUE), or pue=",
            f"fleet {fleet.name!r} has no datacenter; rent= or cloud_rate= prices renting it without one",
        )
    term = amount("rental_years", rental_years, YEAR, YEAR_S, "years")
    # all revenue as margin (m = 1) leaves no finite price: [0, 1)
    g.margin = (
        DEFAULT_RENTAL_MARGIN
        if rental_margin is None
        else V.number("rental_margin", rental_margin, 0.0, 1.0, high_open=True)
    )
    g.write_off = g.capex_total / term  # USD per second over the committed term
    g.tq = None
    if w.tokens_per_second is not None and tokens_per_query is not None:
        g.tq = amount("tokens_per_query", tokens_per_query, DIMENSIONLESS, 1.0, "tokens")
    g.fields = dict(
        capex_total=g.capex_total,
        capex_accelerators=g.capex_acc,
        capex_hosts=g.capex_host,
        capex_network=g.capex_net,
        pue=g.p_ue,
        amortization_years=g.life / YEAR_S,
        maintenance_rate=g.rate,
        accelerators=n,
        nodes=nodes,
        region_name=g.grid.name if g.grid is not None else None,
        datacenter_name=facility.name if isinstance(facility, Datacenter) else None,
        pue_source=pue_source,
        cloud_rate=g.cloud_rate,
        rent=None if rented is None else rented["key"],
        rent_term=None if rented is None else rented["term"],
        rent_source=None if rented is None else rented["source"],
        replica_accelerators=w.replica_accelerators,
        replicas=w.replicas,
        rental_years=term / YEAR_S,
        rental_margin=g.margin,
        rental_note=_rental_note(hw, term / YEAR_S),
        token_rate_basis=None
        if w.tokens_per_second is None
        else "decode step"
        if w.prefill_time_share is None
        else "request"
        if usage is None
        else "disaggregated",
    )
    return g


def _rental(rent: Any, rent_term: Any, cloud_rate: Any, hw: Any) -> dict | None:
    """The price-catalog rental ``rent`` for ``rent_term``: its rate (USD per accelerator-second), key and
    source; None without ``rent``. Both rent and cloud_rate, a term without rent, or another accelerator
    than the fleet's is an error."""
    if rent is None:
        if rent_term is not None:
            raise InvalidInputError("rent_term", rent_term, "a term only with rent= (a price-catalog rental)")
        return None
    if cloud_rate is not None:
        raise InvalidInputError("rent", rent, "either rent= (a catalog rental) or cloud_rate=, not both")
    from mlsysim_registry.prices import lookup

    rental = lookup(rent)
    term = "on_demand" if rent_term is None else rent_term
    rate = rental.rate(term)
    rented_hw = rental.hardware()
    if rented_hw.name != hw.name:
        raise InvalidInputError(
            "rent",
            rental.key,
            f"a rental of the fleet's accelerator ({hw.name})",
            f"{rental.key} rents {rented_hw.name}; `mlsysim catalog prices` lists each rental's accelerator",
        )
    source = f"{rental.provider} {rental.instance}, {rental.region}, {term}, read {rental.date}"
    return {"rate": rate, "key": rental.key, "term": term, "source": source}


def _rental_note(hw: Any, years: float) -> str | None:
    """Why the rental estimate is outside its sources' domain (GPU clouds' data-center accelerators rented
    for terms of 3 years or more), or None."""
    from mlsysim_registry.prices import rentals

    notes = []
    if not any(r.hardware().name == hw.name for r in rentals().values()):
        notes.append(
            f"no rental of the price catalog rents {hw.name}: the margin is GPU clouds' (CoreWeave, AWS, Google "
            "Cloud filings), so the estimate assumes it rents like their data-center GPUs"
        )
    if years < SHORTEST_TERM_YEARS:
        notes.append(
            f"a {years:g}-year term: a provider expects to rent the part again after it, so writing the purchase "
            "off within the term makes this an upper bound"
        )
    return "; ".join(notes) or None


def _energy_price(kwh_price: Any, g: _Group) -> float | None:
    """USD per J: the argument, else the grid's electricity price; neither is an error unless a rental
    rate is priced (then None: the owned cost is not computed, ``owned_note``)."""
    if kwh_price is not None:
        return amount("kwh_price", kwh_price, USD_PER_KWH, 1.0 / KWH_J, "USD/kWh")
    price = g.grid.si.electricity_price if g.grid is not None else None
    if price is None and g.cloud_rate is None:
        raise InvalidInputError(
            "kwh_price",
            None,
            "an electricity price in USD/kWh (number or Quantity)",
            f"{_no_price(g)}; pass kwh_price=",
        )
    return price


def _no_price(g: _Group) -> str:
    """Why the site has no electricity price."""
    if g.grid is not None:
        return f"grid {g.grid.name!r} has no electricity_price"
    return f"fleet {g.fleet.name!r} has no datacenter and no grid was given"


def _owned_note(g: _Group, price: Any) -> str | None:
    """Why the owned cost is not computed (no PUE, or no electricity price, with a rental rate), or None."""
    if g.p_ue is None:
        return (
            "not computed: no datacenter, so no PUE or electricity price "
            "(name a datacenter or grid, or pue= and kwh_price=)"
        )
    if price is None:
        return f"not computed: {_no_price(g)} (give kwh_price=)"
    return None


_prepared = PreparedCache(_prepare)


def _groups(*args: Any) -> tuple:
    """The :class:`_Group` of each fleet priced (:func:`mlsysim_fleet.inputs.fleet_groups`): solve()'s arguments as
    :func:`_prepare` takes them, then ``decode_fleet``."""
    return fleet_groups(args, (12, 14), "EconomicsModel", _prepare, _prepared, _pool_prices)


def _pool_prices(i: int, one: list, pools: Any) -> None:
    """The i-th fleet's :func:`_prepare` arguments of a disaggregated workload: one unit or host price for pools on two
    parts is an error (it would misprice one of them); the whole network's price counts once, with the first fleet."""
    if pools.prefill_hardware != pools.decode_hardware:
        for k, name in ((7, "unit_cost"), (8, "host_cost")):
            if one[k] is not None:
                raise InvalidInputError(
                    name,
                    one[k],
                    "None with pools on two accelerators: each fleet is priced at its own part's catalog price",
                    "set the price on the part or node (attrs.evolve) of each fleet",
                )
    if i:
        one[9] = None


def _pools_evaluate(gs: tuple, u: Any, t: Any, price: Any, make: Any, **extra: Any) -> Any:
    """:func:`_evaluate` of one group, or the sum of two pools' (:func:`_combine`)."""
    if len(gs) == 1:
        return _evaluate(gs[0], u, t, price, make, **extra)
    own = extra.get("utilization_source") == "workload"  # each fleet at its own pool's served-rate power
    return make(**_combine([_evaluate(g, g.usage.utilization if own else u, t, price, dict) for g in gs], t), **extra)


#: Fields of two pools' EconomicsResult that add up (money, energy, power, counts, cost per token: each pool's
#: cost over the same served tokens)
_SUMMED = (
    "capex",
    "capex_total",
    "capex_accelerators",
    "capex_hosts",
    "capex_network",
    "opex_energy",
    "opex_maintenance",
    "opex",
    "tco",
    "it_energy",
    "facility_energy",
    "it_power",
    "cloud_cost",
    "accelerators",
    "nodes",
    "replica_accelerators",
    "cost_per_million_tokens",
    "cost_per_million_input_tokens",
    "cost_per_million_output_tokens",
    "cost_per_query",
)


def _combine(cols: list, t: Any) -> dict:
    """One EconomicsResult's fields of a deployment over two fleets (``cols``: each fleet's :func:`_evaluate`
    fields, at one site): money, energy, power and counts summed (an owned cost None in one is None in the sum);
    the cost per token the sum of each fleet's over the same served tokens (the prefill fleet's cost on the
    prompts, the decode fleet's on the output tokens); per accelerator-hour figures over all accelerators; the
    cloud comparison (one rate per accelerator-hour) redone on the sums; the rest as both state it."""
    a, b = cols
    f = pooled(cols, _SUMMED)
    n, tco = f["accelerators"], f["tco"]
    f["cost_per_gpu_hour"] = None if tco is None else tco / (n * t)
    ra, rb = a["rental_estimate"], b["rental_estimate"]  # per accelerator-hour: weighted by accelerators
    f["rental_estimate"] = None if ra is None else (ra * a["accelerators"] + rb * b["accelerators"]) / n
    notes = [x for x in (a["rental_note"], b["rental_note"]) if x]
    f["rental_note"] = "; ".join(dict.fromkeys(notes)) or None
    cloud = f["cloud_cost"]
    if cloud is not None and tco is not None:
        keys = ("cloud_to_tco_ratio", "breakeven_utilization", "cheaper", "breakeven")
        f.update(zip(keys, _versus_cloud(cloud / (n * t), f["cost_per_gpu_hour"], n, f["opex"] / t, f["capex_total"])))
    return f


def _versus_cloud(cr: Any, per_gpu_s: Any, n: Any, opex_rate: Any, capex_total: Any) -> tuple:
    """Renting against owning, per accelerator-second (t cancels: finite at any duration > 0, where cr * n * t
    underflows to 0 below ~1e-300 s and the TCO, capex included, does not): (cloud / TCO, the busy share at which
    renting only the busy hours costs the TCO, the cheaper one, the time after which buying beats renting: CapEx
    over the rent saved a second less the owned OpEx, None where renting stays cheaper)."""
    margin = cr * n - opex_rate
    breakeven = where(margin > 0, capex_total / maximum(margin, 5e-324), None)  # max(): no 0/0 on either path
    return cr / per_gpu_s, per_gpu_s / cr, where(cr < per_gpu_s, "cloud", "owned"), breakeven


def _evaluate(g: _Group, u: Any, t: Any, price: Any, make: Any, **extra: Any) -> Any:
    """Every field that depends on the utilization ``u``, the duration ``t`` (s) and the energy
    price (USD/J): numbers (solve()) or arrays (a sweep), one code path. Returns
    ``make(**fields, **g.fields, **extra)``: the result (solve(), ``make=EconomicsResult``) or
    columns (``dict``)."""
    w = g.usage
    nodes = g.fleet.count
    n = nodes * g.fleet.node.accelerators_per_node
    capex_total = g.capex_total
    capex = capex_total * t / g.life

    # --- OpEx (owned: with the site's PUE and electricity price; a rental alone needs neither)
    p_it = fleet_it_power(g.pmax, g.pidle, u, nodes)
    e_it = p_it * t
    e_fac = None if g.p_ue is None else e_it * g.p_ue
    opex_maint = capex_total * g.rate * t / YEAR_S
    owned_note = _owned_note(g, price)
    opex_energy = opex = tco = per_gpu_s = rental = None
    if owned_note is None:
        opex_energy = e_fac * price
        opex = opex_energy + opex_maint
        tco = capex + opex
        per_gpu_s = tco / (n * t)
        rental = (g.write_off + opex / t) / (n * (1.0 - g.margin))

    # --- cloud alternative
    cr = g.cloud_rate
    cloud = ratio_c = cheaper = breakeven = u_even = None
    if cr is not None:
        cloud = cr * n * t
    if cr is not None and owned_note is None:
        ratio_c, u_even, cheaper, breakeven = _versus_cloud(cr, per_gpu_s, n, opex / t, capex_total)

    # --- consumed results
    tps, qps, k = w.tokens_per_second, w.samples_per_second, w.replicas
    fleet_tps = fleet_qps = per_million = per_query = wl_cost = wl_cloud = None
    fleet_in = per_million_in = per_million_out = None
    if tps is not None:  # k whole replicas serve; accelerators left over idle, still owned
        fleet_tps = tps * k
        if w.prefill_time_share is not None:  # whole requests: the prompts' rate too
            fleet_in = w.input_tokens_per_second * k
    elif qps is not None:  # a per-step result (latency, throughput) on `rep` accelerators: every replica serves
        fleet_qps = qps * k
    elif w.time is not None and cr is not None:
        wl_cloud = cr * w.accelerators * w.time
    if tco is not None:  # the owned cost per token, per query or of the run
        if fleet_tps is not None:
            per_token = (tco / t) / fleet_tps
            per_million = per_token * 1e6
            if fleet_in is not None:  # whole requests: split the cost by time into input and output
                per_million_in = (tco / t) * w.prefill_time_share / fleet_in * 1e6
                per_million_out = per_million * (1.0 - w.prefill_time_share)
            if g.tq is not None:
                per_query = per_token * g.tq
        elif fleet_qps is not None:
            per_query = (tco / t) / fleet_qps
        elif w.time is not None:
            wl_cost = per_gpu_s * w.accelerators * w.time

    return make(
        capex=capex,
        opex_energy=opex_energy,
        opex_maintenance=opex_maint,
        opex=opex,
        tco=tco,
        cost_per_gpu_hour=per_gpu_s,
        rental_estimate=rental,
        it_energy=e_it,
        facility_energy=e_fac,
        it_power=p_it,
        electricity_price=price,
        duration=t,
        utilization=u,
        cloud_cost=cloud,
        cloud_to_tco_ratio=ratio_c,
        breakeven_utilization=u_even,
        cheaper=cheaper,
        breakeven=breakeven,
        tokens_per_second=fleet_tps,
        cost_per_million_tokens=per_million,
        cost_per_query=per_query,
        queries_per_second=fleet_qps,
        workload_time=w.time,
        workload_cost=wl_cost,
        input_tokens_per_second=fleet_in,
        cost_per_million_input_tokens=per_million_in,
        cost_per_million_output_tokens=per_million_out,
        workload_cloud_cost=wl_cloud,
        owned_note=owned_note,
        **(g.fields if owned_note is None else {**g.fields, "rental_note": None}),  # no estimate, no note on it
        **extra,
    )
