"""One command per solver, named for the question it answers.

Each command is described once by a :class:`Spec` (its solver, parameters, the fields worth
showing, its Pareto objectives); ``mlsysim <name>`` and ``mlsysim sweep <name>`` are both built
from it. Names (models, hardware, clusters, datacenters/grids) resolve against the catalog
case-insensitively, with close matches suggested on a typo.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional

import click

from . import CliError, main
from ._out import csv_text, dumps, flatten, result_units, table, value

#: catalog sections each kind of name resolves against (in order)
SECTIONS = {
    "model": ("models",),
    "hardware": ("hardware",),
    "cluster": ("clusters",),
    "datacenter": ("datacenters", "grids"),
}
OBJECT_KINDS = frozenset(SECTIONS)


@dataclass(frozen=True)
class P:
    """One parameter: the solver keyword, its command-line spelling, kind, default and help."""

    kwarg: str
    flag: str  # "MODEL" (positional in the single command) or "--batch-size"
    kind: str  # model | hardware | cluster | datacenter | int | float | str | choice
    default: Any = None
    required: bool = False
    help: str = ""
    choices: tuple = ()
    to_solver: bool = True  # False: consumed by Spec.prepare

    @property
    def positional(self) -> bool:
        return not self.flag.startswith("-")

    @property
    def sweep_flag(self) -> str:
        """The option in ``mlsysim sweep``: positional MODEL/HARDWARE/CLUSTER become --model/--hardware/--cluster."""
        return "--" + self.flag.lower() if self.positional else self.flag


@dataclass(frozen=True)
class View:
    """An extra table a flag adds below the fields: ``rows(result)`` -> (header, rows)."""

    flag: str  # "--by-cause"
    help: str
    rows: Callable[[Any], tuple[list, list]]

    @property
    def kwarg(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Spec:
    name: str
    solver: str
    summary: str
    example: str
    params: tuple
    key_fields: tuple
    strict_kwarg: Optional[str] = None
    pareto: tuple = ()  # ((field, "min"|"max"), (field, "min"|"max"))
    sweep_example: str = ""
    prepare: Optional[Callable[[dict, dict], None]] = None
    title: Callable[[Any, dict], str] = lambda r, i: ""
    views: tuple = ()  # View: extra tables on request

    def options(self) -> dict[str, str]:
        """solver keyword -> command-line spelling (for error messages)."""
        return {p.kwarg: p.flag for p in self.params}


# --------------------------------------------------------------------------- names


def lookup(kind: str, name: str, flag: str) -> tuple[str, Any]:
    """(canonical key, value) of a catalog name; case-insensitive; typos suggest close matches."""
    from ..plugins import catalog
    from ..errors import UnknownEntryError

    cat = catalog()
    entries = [e for s in SECTIONS[kind] for e in cat.entries[s].values()]
    for e in entries:
        if name == e.key or name in e.aliases:
            return e.key, e.value
    low = name.lower()
    for e in entries:
        if low == e.key.lower() or low in (a.lower() for a in e.aliases):
            return e.key, e.value
    what = "datacenter or grid" if kind == "datacenter" else kind
    err = UnknownEntryError(what, name, [k for e in entries for k in (e.key, *e.aliases)])
    raise CliError(flag, f"{err} (list them: mlsysim catalog {_LIST_HINT[kind]})")


_LIST_HINT = {"model": "models", "hardware": "hardware", "cluster": "systems", "datacenter": "infra"}


def solver_class(name: str) -> Any:
    """The solver class, or SolverNotInstalledError naming the distribution to install (exit 1)."""
    from ..plugins import get_solver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plugin failures are reported by the error itself
        return get_solver(name)


def build(spec: Spec, values: dict) -> tuple[dict, dict]:
    """Solver keyword arguments and the JSON ``inputs`` echo from parsed command-line values."""
    kwargs: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    for p in spec.params:
        v = values.get(p.kwarg)
        if v is None:  # not given: the solver's own default (echoed as null: the schema keeps every key)
            inputs[p.kwarg] = None
            continue
        if p.kind in OBJECT_KINDS:
            key, obj = (v if isinstance(v, tuple) else lookup(p.kind, v, p.flag))
            inputs[p.kwarg] = key
            kwargs[p.kwarg] = obj
        else:
            inputs[p.kwarg] = v
            kwargs[p.kwarg] = v
    if spec.prepare:
        spec.prepare(kwargs, inputs)
    return kwargs, inputs


def solve(spec: Spec, kwargs: dict, strict: bool = False) -> tuple[Any, list[str]]:
    """Run the solver; returns (result, warning messages)."""
    cls = solver_class(spec.solver)
    kw = {k: v for k, v in kwargs.items() if k in {p.kwarg for p in spec.params if p.to_solver}}
    if strict and spec.strict_kwarg:
        kw[spec.strict_kwarg] = True
    return recorded(cls().solve, **kw)


def recorded(fn: Callable, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """``fn(*args, **kwargs)`` and the distinct warning messages it raised (one line each)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    seen: list[str] = []
    for w in caught:
        m = " ".join(str(w.message).split())
        if m not in seen:
            seen.append(m)
    return result, seen


def payload(spec: Spec, inputs: dict, result: Any) -> dict:
    """The stable JSON schema: {"solver", "inputs", "result"}."""
    return {"solver": spec.solver, "inputs": inputs, "result": result.to_dict()}


def render(spec: Spec, inputs: dict, result: Any, show_all: bool, warns: list[str]) -> str:
    names = result.fields() if show_all else [f for f in spec.key_fields if f in result.fields()]
    rows = []
    for n in names:
        v = getattr(result, n)
        if v is None and not show_all:
            continue
        rows.append([n, value(v)])
    title = spec.title(result, inputs)
    out = [f"{spec.solver}: {title}" if title else spec.solver, "", table(["field", "value"], rows)]
    why = getattr(result, "constraint_trace", None)
    reason = getattr(result, "infeasible_reason", "")
    if why or reason:
        out += ["", "why:"] + [f"  {line}" for line in (why or [])] + ([f"  {reason}"] if reason else [])
    notes = getattr(result, "notes", ())
    if notes:
        out += ["", "notes:"] + [f"  {n}" for n in notes]
    if not show_all:
        out += ["", "(every field: --all; machine-readable: --json or --csv)"]
    for w in warns:
        out.append(f"warning: {w}")
    return "\n".join(out)


def csv_row(inputs: dict, result: Any = None, **extra: Any) -> dict:
    row = flatten("", {"inputs": inputs}, {})
    if result is not None:
        flatten("", {"result": result.to_dict()}, row, result_units(result))
    row.update(extra)
    return row


# --------------------------------------------------------------------------- the six solvers

_PREC = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp6", "fp4", "int8", "int4")


def _with_nodes(kwargs: dict, inputs: dict) -> None:
    n = kwargs.pop("nodes", None)
    if n is None:
        return
    import attrs

    from ..validate import integer

    fleet = kwargs["fleet"]
    n = integer("nodes", n, 1, 1 << 30)
    kwargs["fleet"] = attrs.evolve(fleet, count=n, name=f"{fleet.name} [{n} nodes]")
    inputs["nodes"] = n


def _hw_title(r: Any, i: dict) -> str:
    return f"{r.model} on {r.hardware}"


ROOFLINE = Spec(
    name="roofline", solver="SingleNodeModel",
    summary="How fast is one step of MODEL on one HARDWARE accelerator, and which wall bounds it?",
    example="mlsysim roofline Llama3_8B H100 --batch-size 8 --precision fp8",
    sweep_example="mlsysim sweep roofline --model Llama3_8B --hardware A100,H100,B200 --batch-size 1,8,64,256 "
                  "--precision fp16,fp8 --csv out.csv",
    params=(
        P("model", "MODEL", "model", required=True, help="Catalog model key (mlsysim catalog models)."),
        P("hardware", "HARDWARE", "hardware", required=True, help="Catalog hardware key (mlsysim catalog hardware)."),
        P("batch_size", "--batch-size", "int", 1, help="Samples per step (LLM decode: sequences, one token each)."),
        P("precision", "--precision", "choice", choices=_PREC,
          help="Weights/compute precision (default: the part's default_precision)."),
        P("efficiency", "--efficiency", "float", help="Achieved fraction of peak FLOP/s in (0, 1] (default 0.6 at 16-bit)."),
        P("seq_len", "--seq-len", "int", help="Transformer tokens per sequence: KV context of a decode step, prompt "
          "of a prefill, whole sequence of an encoder (default: its max_seq_len)."),
        P("phase", "--phase", "choice", choices=("decode", "prefill"),
          help="Decoder LLM phase: decode (default, one token per sequence) or prefill (the prompt's forward pass)."),
    ),
    key_fields=("latency", "throughput", "bottleneck", "mfu", "feasible", "memory_footprint", "memory_available",
                "arithmetic_intensity", "ridge_point", "latency_compute", "latency_memory", "latency_overhead",
                "energy_per_sample"),
    strict_kwarg="raise_errors",
    pareto=(("latency", "min"), ("throughput", "max")),
    title=lambda r, i: f"{r.model} on {r.hardware} ({r.precision}, batch {r.batch_size})",
)

SERVE = Spec(
    name="serve", solver="ServingModel",
    summary="What TTFT and inter-token latency does MODEL get on HARDWARE, and does its KV cache fit?",
    example="mlsysim serve Llama3_8B H100 --seq-len 2048 --batch-size 16",
    sweep_example="mlsysim sweep serve --model Llama3_70B --hardware H100,H200 --seq-len 2048 --batch-size 1..64:x2 "
                  "--tp 4,8 --plot serve.png",
    params=(
        P("model", "MODEL", "model", required=True, help="Catalog model key (a transformer)."),
        P("hardware", "HARDWARE", "hardware", required=True, help="Catalog hardware key."),
        P("seq_len", "--seq-len", "int", required=True, help="Prompt length in tokens."),
        P("batch_size", "--batch-size", "int", 1, help="Concurrent sequences."),
        P("tp_size", "--tp", "int", 1, help="Tensor-parallel degree (GPUs of one scale-up domain)."),
        P("gpus_per_node", "--gpus-per-node", "int",
          help="GPUs one tensor-parallel group may span (default: the part's scale-up domain, e.g. 8 on HGX, 72 on NVL72)."),
        P("precision", "--precision", "choice", choices=_PREC,
          help="Weights precision (default: the part's default_precision)."),
        P("kv_precision", "--kv-precision", "choice", choices=_PREC, help="KV-cache precision (default: as weights)."),
        P("output_len", "--output-len", "int", help="Generated tokens per request (mean ITL, end-to-end latency)."),
        P("beam_width", "--beam-width", "int", help="Beams per request (beam search: one prefill, every beam decoded)."),
        P("efficiency", "--efficiency", "float", help="Achieved fraction of peak FLOP/s in (0, 1]."),
    ),
    key_fields=("feasible", "ttft", "itl", "tokens_per_second", "e2e_latency", "requests_per_second", "kv_cache_size",
                "model_weights_size", "total_memory_required", "memory_available", "prefill_bottleneck",
                "decode_bottleneck", "energy_per_token"),
    strict_kwarg="raise_errors",
    pareto=(("itl", "min"), ("tokens_per_second", "max")),
    title=lambda r, i: f"{r.model} on {r.hardware} x{r.tp_size} ({r.precision}, {r.batch_size} x {r.seq_len} tokens)",
)

TRAIN = Spec(
    name="train", solver="DistributedModel",
    summary="How long is one 3D-parallel training step of MODEL on CLUSTER, and where does the time go?",
    example="mlsysim train Llama3_70B Research_256 --tp 8 --pp 4 --microbatches 8 --batch-size 256",
    sweep_example="mlsysim sweep train --model Llama3_8B --cluster Research_256 --nodes 1,2,4,8,16,32 --tp 8 "
                  "--batch-size 512 --microbatches 1 --plot scaling.png",
    params=(
        P("model", "MODEL", "model", required=True, help="Catalog model key."),
        P("fleet", "CLUSTER", "cluster", required=True, help="Catalog cluster key (mlsysim catalog systems)."),
        P("batch_size", "--batch-size", "int", required=True, help="Global batch in sequences (a multiple of dp)."),
        P("tp_size", "--tp", "int", 1, help="Tensor-parallel degree."),
        P("pp_size", "--pp", "int", 1, help="Pipeline-parallel degree."),
        P("microbatch_count", "--microbatches", "int", 1, help="Micro-batches per step per data-parallel rank."),
        P("ep_size", "--ep", "int", 1, help="Expert-parallel degree (MoE)."),
        P("seq_len", "--seq-len", "int", help="Tokens per sequence (default min(2048, model max))."),
        P("zero_stage", "--zero", "int", 0, help="ZeRO stage 0-3."),
        P("precision", "--precision", "choice", choices=_PREC,
          help="Compute precision (default: the accelerator's default_precision)."),
        P("activation_recomputation", "--recompute", "choice", "selective", choices=("selective", "full", "none"),
          help="Activation recomputation."),
        P("tokens", "--tokens", "float", help="Training tokens, for time_to_train (e.g. 15e12)."),
        P("nodes", "--nodes", "int", help="Use this many nodes of the cluster's kind instead of its count.",
          to_solver=False),
    ),
    key_fields=("step_time", "throughput", "tokens_per_second", "time_to_train", "mfu", "scaling_efficiency",
                "bubble_fraction", "compute_latency", "pipeline_bubble_latency", "exposed_communication_latency",
                "memory_per_gpu", "memory_capacity", "feasible", "parallelism", "total_accelerators"),
    strict_kwarg="strict",
    pareto=(("step_time", "min"), ("total_accelerators", "min")),
    prepare=_with_nodes,
    title=lambda r, i: f"{r.model.name} on {r.fleet.name} ({r.total_accelerators} accelerators, {r.precision})",
)

COST = Spec(
    name="cost", solver="EconomicsModel",
    summary="What does owning and running CLUSTER for some days cost (CapEx share, energy, TCO)?",
    example="mlsysim cost Research_256 --days 30 --datacenter Hyperscale_Typical",
    sweep_example="mlsysim sweep cost --cluster Research_256,Production_2K --days 365 --datacenter Quebec,Virginia --csv -",
    params=(
        P("fleet", "CLUSTER", "cluster", required=True, help="Catalog cluster key."),
        P("duration_days", "--days", "float", required=True, help="Days of operation."),
        P("datacenter", "--datacenter", "datacenter", help="Datacenter key, or a grid key (a typical datacenter there)."),
        P("kwh_price", "--kwh-price", "float", help="Electricity price in USD/kWh (default: the grid's)."),
        P("utilization", "--utilization", "float", help="Node power position between idle (0) and max (1)."),
        P("cloud_rate", "--cloud-rate", "float", help="Cloud price per accelerator-hour (USD), for buy vs rent."),
    ),
    key_fields=("tco", "capex", "opex", "opex_energy", "opex_maintenance", "cost_per_gpu_hour", "capex_total",
                "facility_energy", "it_power", "electricity_price", "pue", "accelerators", "cloud_cost", "cheaper",
                "breakeven"),
    pareto=(("tco", "min"), ("accelerators", "max")),
    title=lambda r, i: f"{i.get('fleet')} for {r.duration.to('day').magnitude:g} days ({r.accelerators} accelerators)",
)

CARBON = Spec(
    name="carbon", solver="SustainabilityModel",
    summary="How much energy, carbon and water does running CLUSTER for some days take, and where?",
    example="mlsysim carbon Research_256 --days 30 --datacenter Quebec",
    sweep_example="mlsysim sweep carbon --cluster Research_256 --days 30 --datacenter Quebec,Virginia,Poland,Norway "
                  "--plot carbon.png",
    params=(
        P("fleet", "CLUSTER", "cluster", required=True, help="Catalog cluster key."),
        P("duration_days", "--days", "float", required=True, help="Days of operation."),
        P("datacenter", "--datacenter", "datacenter", help="Datacenter key, or a grid key (a typical datacenter there)."),
        P("utilization", "--utilization", "float", help="Node power position between idle (0) and max (1)."),
        P("boundary", "--boundary", "choice", "facility", choices=("accelerator", "it", "facility"),
          help="Energy counted in the headline: accelerator TDP (model cards), IT (whole nodes) or facility (x PUE)."),
    ),
    key_fields=("carbon_footprint", "operational_carbon", "embodied_carbon", "energy", "boundary",
                "accelerator_energy", "it_energy", "facility_energy", "accelerator_carbon", "it_carbon",
                "facility_carbon", "water_usage", "carbon_intensity", "pue", "region_name", "datacenter_name",
                "embodied_source"),
    pareto=(("carbon_footprint", "min"), ("water_usage", "min")),
    title=lambda r, i: f"{i.get('fleet')} for {r.duration.to('day').magnitude:g} days in {r.region_name}",
)

def _by_cause(r: Any) -> tuple[list, list]:
    """Expected interruptions per cause during the job (ReliabilityResult.failures_by_cause), largest first."""
    counts = r.failures_by_cause
    total = sum(counts.values())
    rows = [[c, r.cause_kinds.get(c, ""), value(n), f"{100 * n / total:.1f} %"]
            for c, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    return ["cause", "kind", "expected interruptions", "share"], rows + [["total", "", value(total), "100.0 %"]]


RELIABILITY = Spec(
    name="reliability", solver="ReliabilityModel",
    summary="How often does CLUSTER fail during a job, how often to checkpoint, and what goodput results?",
    example="mlsysim reliability Research_256 --hours 720 --checkpoint-s 60",
    sweep_example="mlsysim sweep reliability --cluster Research_256,Frontier_8K --hours 720 --checkpoint-s 10,60,300",
    params=(
        P("fleet", "CLUSTER", "cluster", required=True, help="Catalog cluster key."),
        P("job_duration_hours", "--hours", "float", required=True, help="Failure-free compute time of the job (hours)."),
        P("checkpoint_time_s", "--checkpoint-s", "float", help="Time to write one checkpoint (s; default 60)."),
        P("restart_time_s", "--restart-s", "float", help="Restart cost after a failure (s; default 300)."),
        P("scope", "--scope", "choice", "all", choices=("all", "hardware"),
          help="Causes counted: all job interruptions (hardware, software, maintenance) or hardware only."),
    ),
    key_fields=("fleet_mtbf", "node_mtbf", "failures_per_day", "failure_probability", "expected_failures",
                "optimal_checkpoint_interval", "goodput", "expected_completion_time", "expected_interruptions",
                "scope", "fleet_mttf_all", "fleet_mttf_hardware", "mtbf_source"),
    pareto=(("expected_completion_time", "min"), ("checkpoint_time", "max")),
    title=lambda r, i: f"{i.get('fleet')} ({r.nodes} nodes), {r.job_duration.to('h').magnitude:g} h job",
    views=(View("--by-cause", "Also print expected interruptions per cause over the job's hours.", _by_cause),),
)

SPECS = {s.name: s for s in (ROOFLINE, SERVE, TRAIN, COST, CARBON, RELIABILITY)}


# --------------------------------------------------------------------------- building click commands


def _click_type(p: P) -> Any:
    if p.kind == "int":
        return click.INT
    if p.kind == "float":
        return click.FLOAT
    if p.kind == "choice":
        return click.Choice(p.choices, case_sensitive=False)
    return click.STRING


def _plot_single(spec: Spec, result: Any, kwargs: dict, path: str) -> None:
    from .. import plots

    if spec.name == "roofline":
        fig, _ = plots.plot_roofline(kwargs["hardware"], [result])
    elif spec.name == "serve":
        fig, _ = plots.plot_roofline(kwargs["hardware"], plots.serving_points(result), precisions=[result.precision])
    elif spec.name == "train":
        fig, _ = plots.plot_step_breakdown(result)
    else:  # pragma: no cover - the option is only offered where a picture exists
        raise CliError("--plot", f"no picture for {spec.name}")
    plots.save(fig, path)
    click.echo(f"wrote {path}", err=True)


def make_command(spec: Spec) -> click.Command:
    def callback(as_json: bool, as_csv: bool, show_all: bool, plot: Optional[str] = None, strict: bool = False,
                 **values: Any) -> None:
        ctx = click.get_current_context()
        ctx.meta["mlsysim.options"] = spec.options()
        if as_json and as_csv:
            raise CliError("--json", "choose one of --json and --csv")
        shown = [v for v in spec.views if values.pop(v.kwarg, False)]
        kwargs, inputs = build(spec, values)
        result, warns = solve(spec, kwargs, strict)
        if as_json:
            click.echo(dumps(payload(spec, inputs, result)))
        elif as_csv:
            click.echo(csv_text([csv_row(inputs, result)]), nl=False)
        else:
            click.echo(render(spec, inputs, result, show_all, warns))
            for v in shown:
                header, rows = v.rows(result)
                click.echo("\n" + table(header, rows))
        if (as_json or as_csv) and warns:
            for w in warns:
                click.echo(f"warning: {w}", err=True)
        if plot:
            _plot_single(spec, result, kwargs, plot)

    params: list[click.Parameter] = []
    for p in spec.params:
        if p.positional:
            params.append(click.Argument([p.kwarg], metavar=p.flag, type=_click_type(p), required=True))
        else:
            extra = {} if p.default is None else {"default": p.default, "show_default": True}
            params.append(click.Option([p.flag, p.kwarg], type=_click_type(p), required=p.required, help=p.help, **extra))
    params += [
        click.Option(["--json", "as_json"], is_flag=True, help='JSON: {"solver", "inputs", "result"} (values with units).'),
        click.Option(["--csv", "as_csv"], is_flag=True, help="One CSV row (a header line, then the values)."),
        click.Option(["--all", "show_all"], is_flag=True, help="Show every result field in the table."),
    ]
    params += [click.Option([v.flag, v.kwarg], is_flag=True, help=v.help) for v in spec.views]
    if spec.strict_kwarg:
        params.append(click.Option(["--strict"], is_flag=True,
                                   help="Exit 2 with the reason when the configuration does not fit (infeasible)."))
    if spec.name in ("roofline", "serve", "train"):
        params.append(click.Option(["--plot"], type=click.Path(dir_okay=False), metavar="FILE.png",
                                   help='Also draw a picture (needs matplotlib: pip install "mlsysim-core[plot]").'))
    args = " ".join(p.flag for p in spec.params if p.positional)
    doc = (f"{spec.summary}\n\nArguments: {args} are catalog keys (case-insensitive). Solver: {spec.solver}."
           f"\n\n\b\nExample:\n  {spec.example}")
    return click.Command(spec.name, callback=callback, params=params, help=doc, short_help=spec.summary,
                         context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})


for _spec in SPECS.values():
    main.add_command(make_command(_spec))
