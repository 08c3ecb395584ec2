"""SustainabilityModel: energy, carbon (operational and embodied) and water of a fleet.

Equations (``shared/design/physics.md``, "Sustainability"; ``shared/reference/infrastructure.md``):

- IT power = nodes * (P_idle + (P_max - P_idle) * u) (``mlsysim_fleet.inputs.fleet_it_power``):
  **node** power (host, NICs, fans, PSU losses), not GPU TDP alone (DGX H100: 10.2 kW max vs
  8 x 700 W of GPUs). IT energy = IT power * duration; facility energy = IT energy * PUE.
- Accelerator power = n * TDP * (f_idle + (1 - f_idle) * u), with the node model's idle fraction
  f_idle (``mlsysim_physics.equations.DEFAULT_IDLE_FRACTION``): at u = 1 it is n * TDP, the model-card
  convention (Llama 2/3/3.1/4 cards: "GPU hours x peak power capacity per GPU device"; Luccioni et
  al. 2022, BLOOM, arXiv:2211.02001, 'dynamic consumption' uses GPU power alone).
- Energy boundaries: accelerator (TDP model above) <= IT (whole nodes) <= facility (IT * PUE);
  each has its carbon (energy * grid intensity). ``boundary=`` picks the headline ``energy`` and
  ``operational_carbon`` (and every per-query/workload figure); default "facility" (GHG Protocol
  scope 2 location-based; Patterson et al. 2021, arXiv:2104.10350, multiply by PUE).
- Operational carbon = energy at the boundary * grid carbon intensity (location-based, gCO2e/kWh).
- Embodied carbon, amortized: per-device embodied * accelerators * duration / service life.
- Water (Li, Yang, Islam, Ren 2023, "Making AI Less Thirsty"): on-site = WUE (litres per **IT**
  kWh, The Green Grid) * IT energy; off-site = grid water intensity (litres per kWh generated) *
  facility energy; total = on-site + off-site. A grid that states no water intensity leaves off-site
  water and the total unknown (None, ``offsite_water_known`` False, a note), never 0.
- Grid (carbon, off-site water) and facility (PUE, WUE) vary independently: ``grid=`` replaces the
  facility's grid; a GridProfile passed as ``datacenter`` means a typical datacenter on that grid
  (its ``typical_pue`` and ``typical_wue``, stated in the result).
- A serving result: energy per token = replica facility power / tokens per second, the fleet serving
  floor(N / replica's accelerators) whole replicas (a replica larger than the fleet is an error); a training
  result: energy of the run = run power * PUE * run time (accelerators the run used).

Fixes over upstream 0.1.1 (reference section 8, item 11): node power instead of GPU TDP, WUE on
IT energy, embodied carbon amortized over the service life and read from the catalog, grid and
facility separate, a default utilization that is not 100 %, input checks, no silent US-average grid.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.results import Result, measure, result
from mlsysim_core.solver import PreparedCache, Solver
from mlsysim_core.sweep import PointErrors, checked, notes_column
from mlsysim_core.types import Datacenter, Fleet, as_tuple
from mlsysim_core.units import DIMENSIONLESS, KG, L_PER_KWH, U
from mlsysim_fleet.inputs import (
    KWH_J,
    YEAR_S,
    UpstreamEnergyNames,
    Usage,
    amount,
    carrying,
    check_fleet,
    duration_arg,
    facility_pue,
    facility_wue,
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
from mlsysim_physics.equations import DEFAULT_IDLE_FRACTION, DEFAULT_UTILIZATION

#: Service life over which embodied carbon is amortized (years): Epoch AI's AI-server lifetime from
#: 2023, Meta's server depreciation (5-5.5 y); Microsoft and Alphabet use 6
#: (shared/reference/infrastructure.md section 4).
DEFAULT_SERVICE_LIFE_YEARS = 5.0
YEAR = U("year")
#: energy boundaries, narrowest first, and who publishes figures at each (for explain())
BOUNDARIES = {
    "accelerator": "accelerator TDP x time (x the utilization model): model cards (Llama 2/3/3.1/4: "
    "'GPU hours x peak power capacity per GPU device'), BLOOM's 'dynamic' energy",
    "it": "whole nodes (host, NICs, fans, PSU losses) x time, no cooling: server metering, IT energy in PUE reports",
    "facility": "IT energy x PUE: GHG Protocol location-based scope 2, Patterson et al. 2021 (arXiv:2104.10350), "
    "Strubell et al. 2019 (PUE 1.58)",
}
_M3_TO_L = 1000.0


@result("SustainabilityModel")
class SustainabilityResult(UpstreamEnergyNames, Result):
    """Energy (kWh), carbon (kg CO2e) and water (L) of a fleet over ``duration``."""

    energy = measure("kWh", doc="energy at the chosen boundary (accelerator_energy, it_energy or facility_energy)")
    accelerator_energy = measure("kWh", doc="accelerators * TDP * (f_idle + (1 - f_idle) * u) * duration")
    it_energy = measure("kWh", doc="IT energy: node power at the utilization * duration")
    facility_energy = measure("kWh", doc="it_energy * PUE (upstream: total_energy_kwh)")
    it_power = measure("kW", doc="fleet IT power at the utilization")
    operational_carbon = measure("kg", doc="energy (at the boundary) * grid carbon intensity (kg CO2e)")
    accelerator_carbon = measure("kg", doc="accelerator_energy * grid carbon intensity (kg CO2e)")
    it_carbon = measure("kg", doc="it_energy * grid carbon intensity (kg CO2e)")
    facility_carbon = measure("kg", doc="facility_energy * grid carbon intensity (kg CO2e)")
    embodied_carbon = measure("kg", doc="per-device embodied * accelerators * duration / service life (kg CO2e)")
    carbon_footprint = measure("kg", doc="operational_carbon + embodied_carbon (kg CO2e)")
    water_onsite = measure("L", doc="WUE * it_energy (on-site cooling water)")
    water_offsite = measure(
        "L",
        doc="grid water intensity * facility_energy (off-site, generation); None: unknown, the grid states no "
        "water intensity",
        optional=True,
        missing="unknown",
    )
    water_usage = measure(
        "L", doc="water_onsite + water_offsite; None: unknown (off-site unknown)", optional=True, missing="unknown"
    )
    carbon_intensity = measure("g/kWh", doc="grid carbon intensity used (location-based)")
    wue = measure("L/kWh", doc="on-site WUE used (litres per IT kWh)")
    duration = measure("day", doc="period assessed")
    pue: float = attrs.field()
    utilization: float = attrs.field()
    utilization_source: str | None = attrs.field(
        default=None,
        metadata={
            "doc": "where the utilization came from: 'argument', 'workload' (a serving result under traffic: its GPUs' "
            "loaded_power at the served rate, placed between idle and TDP) or 'default'"
        },
    )
    boundary: str = attrs.field()  # "accelerator", "it" or "facility": what energy/operational_carbon count
    accelerators: int = attrs.field()
    nodes: int = attrs.field()
    region_name: str = attrs.field()
    datacenter_name: str | None = attrs.field()  # None: a typical datacenter on region_name's grid
    pue_source: str = attrs.field()  # "argument", "datacenter" or "grid typical_pue"
    offsite_water_known: bool = attrs.field()  # False: the grid states no water intensity (off-site unknown)
    notes: tuple = attrs.field(default=(), converter=as_tuple)
    embodied_source: str = attrs.field()  # "catalog", "argument", "excluded" or "not in catalog" (0 counted)
    service_life_years: float = attrs.field()
    tokens_per_second = measure("token/s", doc="fleet output tokens per second (serving workload)", optional=True)
    replica_accelerators: float | None = attrs.field(default=None)
    replicas: int | None = attrs.field(
        default=None,
        metadata={"doc": "whole replicas the fleet holds: floor(accelerators / replica_accelerators); the rest idle"},
    )
    energy_per_million_tokens = measure("kWh", doc="energy (at the boundary) per 1M output tokens", optional=True)
    carbon_per_million_tokens = measure(
        "g",
        doc="operational + amortized embodied carbon per 1M output tokens (g CO2e): (energy per token * grid "
        "intensity + embodied per device * replica accelerators / service life / tokens per second) * 1e6",
        optional=True,
    )
    energy_per_query = measure(
        "Wh",
        doc="energy (at the boundary) per query (tokens_per_query given) or per sample (per-step result)",
        optional=True,
    )
    carbon_per_query = measure("g", doc="operational carbon per query", optional=True)
    workload_time = measure("h", doc="wall time of the training run or of the queries served", optional=True)
    workload_energy = measure(
        "kWh", doc="energy (at the boundary) of the training run or of `queries` queries", optional=True
    )
    workload_carbon = measure("kg", doc="operational + amortized embodied carbon of that work", optional=True)

    # upstream 0.1.1 names
    @property
    def total_carbon(self) -> Any:
        return self.carbon_footprint

    @property
    def carbon_footprint_kg(self) -> float:
        return float(self.si("carbon_footprint"))

    @property
    def embodied_carbon_kg(self) -> float:
        return float(self.si("embodied_carbon"))

    @property
    def water_usage_liters(self) -> float | None:
        """Litres, or None where off-site water is unknown (``offsite_water_known`` False)."""
        w = self.si("water_usage")
        return None if w is None else float(w) * _M3_TO_L

    def explain(self) -> str:
        """Every field, then the boundary each energy figure stands for and who publishes at it."""
        lines = [f"  {b + (' (headline)' if b == self.boundary else ''):<22} {who}" for b, who in BOUNDARIES.items()]
        return super().explain() + "\nEnergy boundaries (compare a published figure at its own):\n" + "\n".join(lines)


class SustainabilityModel(Solver):
    """Energy, operational and embodied carbon, and water of a fleet (or of a training run or
    queries given another solver's result), for a grid and a datacenter chosen independently."""

    name = "SustainabilityModel"
    consumes = (Fleet,)
    produces = SustainabilityResult
    #: solve() arguments sweep_columns() takes as arrays
    sweep_vector = ("duration_days", "utilization")
    #: an input result whose band is carried through (mlsysim_uncertainty.banded: solved at its corners)
    band_inputs = ("workload",)
    #: catalog numbers whose range (``provenance``) bands move, each at its low end with the fast corner:
    #: every field grows with each of them (mlsysim_uncertainty.banded)
    band_catalog = {
        name: "low"
        for name in ("power_max", "power_idle", "tdp", "embodied_carbon", "carbon_intensity", "water_intensity", "pue")
    }
    #: the node utilization's range (mlsysim_uncertainty.RANGES: its default's measured sources), at its low
    #: end with the fast corner; ``mfu``, its upstream name, holds it when given
    band_arguments = {"utilization": "utilization"}
    band_aliases = {"mfu": "utilization"}
    #: held too where the workload gave it (``utilization_source`` "workload": a serving result's loaded power): each
    #: corner then takes it from the workload's corner, whose power band it carries (mlsysim_uncertainty.banded)
    band_sources = {"utilization": "utilization_source"}

    def solve(
        self,
        fleet: Any,
        duration_days: Any = None,
        datacenter: Any = None,
        mfu: Any = None,
        embodied_carbon_per_device: Any = None,
        *,
        utilization: Any = None,
        grid: Any = None,
        pue: Any = None,
        wue: Any = None,
        embodied: bool | None = None,
        service_life_years: Any = DEFAULT_SERVICE_LIFE_YEARS,
        workload: Any = None,
        tokens_per_query: Any = None,
        queries: Any = None,
        steps: Any = None,
        boundary: str = "facility",
        decode_fleet: Any = None,
    ) -> SustainabilityResult:
        """Energy, carbon and water of running ``fleet`` for ``duration_days``.

        Args:
            fleet: a Fleet (``mlsysim.Systems.Clusters.X``).
            duration_days: days (number) or a time Quantity; may be None with a training ``workload``.
            datacenter: a Datacenter (PUE, WUE, grid) or a GridProfile (a typical datacenter on it).
                Default: the fleet's datacenter; none at all is an error.
            mfu: upstream name of ``utilization``.
            embodied_carbon_per_device: kg CO2e per accelerator (number or Quantity), overriding the
                catalog's ``embodied_carbon``.
            utilization: position of each node between idle (0) and rated max (1) power.
            grid: a GridProfile replacing the facility's grid (carbon, off-site water).
            pue, wue: overrides of the facility PUE (>= 1) and on-site WUE (L/kWh, >= 0).
            embodied: True: require embodied carbon (error if unknown); False: exclude it; None
                (default): include it when known, else count 0 and say so in ``embodied_source``.
            service_life_years: life over which embodied carbon is amortized.
            workload: a serving result (``tokens_per_second``) or a training result (``time_to_train``,
                or ``step_time`` with ``steps``).
            tokens_per_query, queries: for per-query energy and the energy of ``queries`` queries.
            boundary: "accelerator" (TDP model, as model cards), "it" (whole nodes) or "facility"
                (x PUE, default): the energy counted in ``energy``, ``operational_carbon`` and the
                per-query and workload figures. All three boundaries are always reported.
            decode_fleet: with a disaggregated serving result (``ServingModel`` with ``disagg=``) whose pools run
                on two accelerators: the decode pool's fleet, ``fleet`` then the prefill pool's; both at one site.
                None: ``fleet`` holds both pools (``mlsysim_fleet.inputs.disagg_usage``).

        Checks run on every other argument first, then on utilization (with mfu) and duration_days.
        """
        fleet, datacenter, grid, decode_fleet = named_fleets(fleet, datacenter, grid, decode_fleet)
        gs = _groups(
            fleet,
            datacenter,
            mfu,
            embodied_carbon_per_device,
            grid,
            pue,
            wue,
            embodied,
            service_life_years,
            workload,
            tokens_per_query,
            queries,
            steps,
            boundary,
            decode_fleet,
        )
        u = utilization_of(utilization, mfu, gs[0].usage)
        t = duration_arg(duration_days, gs[0].usage, high=math.inf)
        used = utilization_source(utilization, mfu, gs[0].usage)
        result = _pools_evaluate(gs, u, t, SustainabilityResult, notes=_notes(gs), utilization_source=used)
        return result if workload is None else carrying(result, "workload", workload)

    def sweep_columns(self, n: int, vectors: dict[str, np.ndarray], args: dict[str, Any]) -> dict[str, Any]:
        """``n`` points of one group (the Solver protocol): duration_days and utilization as arrays,
        through solve()'s checks and :func:`_evaluate`."""
        a = dict(args)
        a["fleet"], a["datacenter"], a["grid"], a["decode_fleet"] = named_fleets(
            a["fleet"], a["datacenter"], a["grid"], a["decode_fleet"]
        )
        gs = _groups(
            a["fleet"],
            a["datacenter"],
            a["mfu"],
            a["embodied_carbon_per_device"],
            a["grid"],
            a["pue"],
            a["wue"],
            a["embodied"],
            a["service_life_years"],
            a["workload"],
            a["tokens_per_query"],
            a["queries"],
            a["steps"],
            a["boundary"],
            a["decode_fleet"],
        )
        errors = PointErrors(n)
        u = checked(errors, "utilization", vectors, a, lambda v: utilization_of(v, a["mfu"], gs[0].usage))
        t = checked(errors, "duration_days", vectors, a, lambda v: duration_arg(v, gs[0].usage, high=math.inf))
        used = "argument" if "utilization" in vectors else utilization_source(a["utilization"], a["mfu"], gs[0].usage)
        notes = notes_column(n, _notes(gs))
        return _pools_evaluate(
            gs, u, t, dict, notes=notes, utilization_source=used, valid=errors.ok, error=errors.messages
        )


class _Group:
    """Checked arguments of one configuration but utilization and duration (SI floats)."""

    __slots__ = (
        "usage",
        "fleet",
        "pmax",
        "pidle",
        "tdp",
        "p_ue",
        "w_ue",
        "ci",
        "wi",
        "per_dev",
        "life",
        "tq",
        "nq",
        "boundary",
        "notes",
        "fields",
    )
    usage: Any
    fleet: Any
    pmax: Any
    pidle: Any
    tdp: Any
    boundary: str
    notes: tuple
    p_ue: Any
    w_ue: Any
    ci: Any
    wi: Any
    per_dev: Any
    life: Any
    tq: Any
    nq: Any
    fields: Any


def _prepare(
    fleet: Any,
    datacenter: Any,
    mfu: Any,
    embodied_carbon_per_device: Any,
    grid: Any,
    pue: Any,
    wue: Any,
    embodied: Any,
    service_life_years: Any,
    workload: Any,
    tokens_per_query: Any,
    queries: Any,
    steps: Any,
    boundary: Any = "facility",
    *,
    usage: Usage | None = None,
) -> _Group:
    """Check every argument but utilization and duration_days (errors name argument, value, range). ``usage``: what
    the fleet serves of a disaggregated workload (:func:`_groups`), read from ``workload`` otherwise."""
    g = _Group()
    if not isinstance(boundary, str) or boundary not in BOUNDARIES:
        raise InvalidInputError("boundary", boundary, " | ".join(f'"{b}"' for b in BOUNDARIES))
    g.boundary = boundary
    g.fleet = fleet = check_fleet(fleet)
    if mfu is not None:
        ratio("mfu", mfu, 0.0, 1.0)
    g.usage = w = workload_usage(workload, fleet, steps, "SustainabilityModel") if usage is None else usage
    g.life = life = amount("service_life_years", service_life_years, YEAR, YEAR_S, "years")
    facility, grid_ = site(fleet, datacenter, grid)
    if grid_ is None:
        raise InvalidInputError(
            "datacenter",
            None,
            "a Datacenter or a GridProfile (e.g. mlsysim.Infra.Grids.US_Avg)",
            f"fleet {fleet.name!r} has no datacenter",
        )
    if pue is not None:
        g.p_ue = ratio("pue", pue, 1.0, 5.0)
        pue_source = "argument"
    else:
        g.p_ue = facility_pue(facility)
        pue_source = "datacenter" if isinstance(facility, Datacenter) else "grid typical_pue"
    g.w_ue = (
        facility_wue(facility)
        if wue is None
        else amount("wue", wue, L_PER_KWH, 1e-3 / KWH_J, "L/kWh", low_open=False, high=1e-3 * 100 / KWH_J)
    )
    node = fleet.node
    g.pmax, g.pidle = node_power(fleet, DEFAULT_UTILIZATION)
    g.tdp = node.accelerator.si.tdp
    if g.tdp is None:
        raise InvalidInputError(
            "fleet.node.accelerator.tdp",
            None,
            "the accelerator's TDP (W)",
            f"accelerator {node.accelerator.name!r} has no tdp; set it with attrs.evolve",
        )
    g.ci = grid_.si.carbon_intensity
    known = grid_.water_intensity is not None
    g.wi = grid_.si.water_intensity if known else None
    g.notes = (
        ()
        if known
        else (
            f"off-site water unknown: the {grid_.name} grid states no water intensity, so water_offsite and "
            "water_usage are unknown (water_onsite is the on-site cooling water only)",
        )
    )

    # --- embodied carbon, amortized over the service life
    if embodied is not None and type(embodied) is not bool:
        raise InvalidInputError("embodied", embodied, "True, False or None")
    if embodied is False:
        per_dev, emb_source = 0.0, "excluded"
    elif embodied_carbon_per_device is not None:
        per_dev = amount("embodied_carbon_per_device", embodied_carbon_per_device, KG, 1.0, "kg CO2e", low_open=False)
        emb_source = "argument"
    else:
        per_dev = node.accelerator.si.embodied_carbon
        if per_dev is not None:
            emb_source = "catalog"
        elif embodied:
            raise InvalidInputError(
                "embodied_carbon_per_device",
                None,
                "kg CO2e per accelerator",
                f"accelerator {node.accelerator.name!r} has no embodied_carbon in the "
                "catalog; pass embodied_carbon_per_device= or embodied=False",
            )
        else:
            per_dev, emb_source = 0.0, "not in catalog"
    g.per_dev = per_dev

    # --- per-query inputs
    per_query_unused(w, tokens_per_query, queries)
    rate = w.tokens_per_second or w.samples_per_second
    g.tq = g.nq = None
    if rate is not None:
        if w.samples_per_second is not None or tokens_per_query is not None:
            g.tq = (
                1.0
                if w.samples_per_second is not None
                else amount("tokens_per_query", tokens_per_query, DIMENSIONLESS, 1.0, "tokens")
            )
            if queries is not None:
                g.nq = amount("queries", queries, DIMENSIONLESS, 1.0, "queries")
        elif queries is not None:
            raise InvalidInputError("tokens_per_query", None, "output tokens per query (> 0), needed with queries=")
    g.fields = dict(
        accelerators=fleet.count * node.accelerators_per_node,
        nodes=fleet.count,
        region_name=grid_.name,
        datacenter_name=facility.name if isinstance(facility, Datacenter) else None,
        pue_source=pue_source,
        offsite_water_known=known,
        embodied_source=emb_source,
        service_life_years=life / YEAR_S,
        replica_accelerators=w.replica_accelerators,
        replicas=w.replicas,
        carbon_intensity=g.ci,
        wue=g.w_ue,
        pue=g.p_ue,
        boundary=boundary,
    )
    return g


_prepared = PreparedCache(_prepare)


def _groups(*args: Any) -> tuple:
    """The :class:`_Group` of each fleet assessed (:func:`mlsysim_fleet.inputs.fleet_groups`): solve()'s arguments as
    :func:`_prepare` takes them, then ``decode_fleet``."""
    return fleet_groups(args, (9, 12), "SustainabilityModel", _prepare, _prepared)


def _notes(gs: tuple) -> tuple:
    """The notes of every group, each once."""
    return tuple(dict.fromkeys(n for g in gs for n in g.notes))


def _pools_evaluate(gs: tuple, u: Any, t: Any, make: Any, **extra: Any) -> Any:
    """:func:`_evaluate` of one group, or the sum of two pools' (:func:`_combine`)."""
    if len(gs) == 1:
        return _evaluate(gs[0], u, t, make, **extra)
    source = extra.get("utilization_source")
    own = source == "workload"  # each fleet at its own pool's served-rate power
    cols = [_evaluate(g, g.usage.utilization if own else u, t, dict, utilization_source=source) for g in gs]
    return make(**{**_combine(cols), **extra})


#: Fields of two pools' SustainabilityResult that add up (energy, carbon, water, power, counts, and per token or
#: query: each pool's over the same served tokens)
_SUMMED = (
    "energy",
    "accelerator_energy",
    "it_energy",
    "facility_energy",
    "it_power",
    "operational_carbon",
    "accelerator_carbon",
    "it_carbon",
    "facility_carbon",
    "embodied_carbon",
    "carbon_footprint",
    "water_onsite",
    "water_offsite",
    "water_usage",
    "accelerators",
    "nodes",
    "replica_accelerators",
    "energy_per_million_tokens",
    "carbon_per_million_tokens",
    "energy_per_query",
    "carbon_per_query",
    "workload_energy",
    "workload_carbon",
)


def _combine(cols: list) -> dict:
    """One SustainabilityResult's fields of a deployment over two fleets at one site (``cols``: each fleet's
    :func:`_evaluate` fields): energy, carbon, water, power and counts summed (unknown off-site water in one is
    unknown in the sum); per token and per query the sum of each pool's over the same served tokens; where the
    embodied carbon came from, per pool where the two differ; the rest as both state it."""
    a, b = cols
    f = pooled(cols, _SUMMED)
    if a["embodied_source"] != b["embodied_source"]:
        f["embodied_source"] = f"{a['embodied_source']} (prefill pool), {b['embodied_source']} (decode pool)"
    return f


def _evaluate(g: _Group, u: Any, t: Any, make: Any, **extra: Any) -> Any:
    """Every field that depends on the utilization ``u`` and the duration ``t`` (s): numbers
    (solve()) or arrays (a sweep), one code path. Returns ``make(**fields, **g.fields, **extra)``:
    the result (solve(), ``make=SustainabilityResult``) or columns (``dict``)."""
    w = g.usage
    nodes = g.fleet.count
    per_node = g.fleet.node.accelerators_per_node
    n = nodes * per_node
    p_ue, ci, per_dev, life = g.p_ue, g.ci, g.per_dev, g.life
    p_it = fleet_it_power(g.pmax, g.pidle, u, nodes)
    e_it = p_it * t
    e_fac = e_it * p_ue
    # a serving result under traffic placed the nodes (utilization_source "workload"): its GPUs draw its loaded power
    own = extra.get("utilization_source") == "workload" and w.accelerator_power is not None
    p_acc = w.accelerator_power if own else accelerator_power(g.tdp, u)
    e_acc = p_acc * n * t
    # power per accelerator at the boundary: every headline, per-query and workload figure scales with it
    p_one = {"accelerator": p_acc, "it": p_it / n, "facility": p_it / n * p_ue}[g.boundary]
    e_b = {"accelerator": e_acc, "it": e_it, "facility": e_fac}[g.boundary]
    op = e_b * ci
    w_on = e_it * g.w_ue
    w_off = e_fac * g.wi if g.wi is not None else None  # unknown, not 0
    emb = per_dev * n * t / life

    # --- consumed results
    wl_time, accels_run = w.time, w.accelerators
    rate, rep = (w.tokens_per_second or w.samples_per_second), w.replica_accelerators
    fleet_tps = e_mtok = c_mtok = e_query = c_query = wl_energy = wl_carbon = None
    if rate is not None:
        # one replica's power at the boundary, per token (serving) or per sample
        e_tok = p_one * rep / rate
        fleet_rate = rate * w.replicas  # whole replicas; accelerators left over idle
        if w.tokens_per_second is not None:
            fleet_tps, e_mtok = fleet_rate, e_tok * 1e6
            c_mtok = (e_tok * ci + per_dev * rep / life / rate) * 1e6
        if g.tq is not None:
            e_query = e_tok * g.tq
            c_query = e_query * ci
            if g.nq is not None:
                wl_time = g.nq * g.tq / fleet_rate
                wl_energy = e_query * g.nq
                wl_carbon = wl_energy * ci + per_dev * n * wl_time / life
    elif wl_time is not None:
        wl_energy = p_one * accels_run * wl_time
        wl_carbon = wl_energy * ci + per_dev * accels_run * wl_time / life

    return make(
        energy=e_b,
        accelerator_energy=e_acc,
        it_energy=e_it,
        facility_energy=e_fac,
        it_power=p_it,
        operational_carbon=op,
        accelerator_carbon=e_acc * ci,
        it_carbon=e_it * ci,
        facility_carbon=e_fac * ci,
        embodied_carbon=emb,
        carbon_footprint=op + emb,
        water_onsite=w_on,
        water_offsite=w_off,
        water_usage=None if w_off is None else w_on + w_off,
        duration=t,
        utilization=u,
        tokens_per_second=fleet_tps,
        energy_per_million_tokens=e_mtok,
        carbon_per_million_tokens=c_mtok,
        energy_per_query=e_query,
        carbon_per_query=c_query,
        workload_time=wl_time,
        workload_energy=wl_energy,
        workload_carbon=wl_carbon,
        **g.fields,
        **extra,
    )


def accelerator_power(tdp: Any, u: Any) -> Any:
    """One accelerator's power (W): TDP * (f_idle + (1 - f_idle) * u), the node model's idle fraction
    (``DEFAULT_IDLE_FRACTION``) applied to the device; u = 1 gives TDP, as model cards count."""
    return tdp * (DEFAULT_IDLE_FRACTION + (1.0 - DEFAULT_IDLE_FRACTION) * u)
