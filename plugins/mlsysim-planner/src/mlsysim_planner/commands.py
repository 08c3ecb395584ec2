"""``mlsysim plan train`` and ``mlsysim plan serve``: plain click commands on the public CLI API
(``mlsysim_cli.api``). Lists are comma-separated (``--tp 1,2,4,8``); names resolve against the catalog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from mlsysim_cli.api import CliError, comma_items, lookup, option_names, save_plot

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def ints(flag: str, text: str | None) -> list[int] | None:
    """``"1,2,4"`` -> [1, 2, 4]; None stays None (the planner's default)."""
    if text is None:
        return None
    try:
        return [int(x) for x in comma_items(flag, text)]
    except ValueError:
        raise CliError(flag, f"{text!r} is invalid: expected integers separated by commas, e.g. 1,2,4") from None


def words(flag: str, text: str | None) -> list[str] | None:
    return None if text is None else comma_items(flag, text)


def names(kind: str, flag: str, text: str) -> list[Any]:
    return [lookup(kind, n, flag)[1] for n in words(flag, text) or []]


def output(plan: Any, as_json: bool, as_csv: bool, plot: str | None, explain: int | None, top: int) -> None:
    """Print the plan as a table (or JSON / CSV), draw its Pareto front, explain one row (a rank beyond the
    plan's rows is refused before anything is printed)."""
    if explain is not None and not 1 <= explain <= len(plan):
        raise CliError("--explain", f"{explain} is invalid: expected a rank in [1, {len(plan)}]")
    if plot:
        save_plot(plan.plot, plot)
    if as_json:
        click.echo(plan.to_json())
    elif as_csv:
        click.echo(plan.to_csv(), nl=False)
    else:
        s = plan.stats
        click.echo(
            f"{plan.kind} plan: {s['points']:,} configurations searched, {s['valid']:,} valid; "
            f"objective {plan.objective[0]} ({plan.objective[1]})"
        )
        click.echo("")
        click.echo(plan.table(top))
        click.echo("")
        click.echo(("best: " if plan.feasible else "infeasible: ") + plan.binding)
        for finding in plan.findings:
            click.echo(finding)
        for note in plan.notes:
            click.echo(f"note: {note}")
    if explain is not None:
        click.echo("")
        click.echo(plan.explain(explain - 1))


def ranks(top: int, explain: int | None) -> None:
    """--top and --explain checked before the search: --top 0 printed an empty table with exit 0, --explain 0
    was refused only after the whole search and its table."""
    if top < 1:
        raise CliError("--top", f"{top} is invalid: expected a number of rows >= 1")
    if explain is not None and explain < 1:
        raise CliError("--explain", f"{explain} is invalid: expected a rank >= 1 (1 = the best)")


def common(fn: Callable) -> Callable:
    """The output options of both commands."""
    for opt in reversed(
        (
            click.option("--top", type=int, default=10, show_default=True, help="Rows of the table."),
            click.option(
                "--json", "as_json", is_flag=True, help="Every ranked row as JSON (values in the units given)."
            ),
            click.option("--csv", "as_csv", is_flag=True, help="Every ranked row as CSV (units in the header)."),
            click.option("--plot", type=click.Path(dir_okay=False), help="Draw the Pareto front to FILE.png."),
            click.option("--explain", type=int, help="Explain the configuration of this rank (1 = the best)."),
            click.option(
                "--progress/--no-progress", default=None, help="Progress bar on stderr (default: on a terminal)."
            ),
        )
    ):
        fn = opt(fn)
    return fn


@click.group("plan", context_settings=CONTEXT)
def PLAN() -> None:
    """The best configuration for a goal: mlsysim plan train ... | mlsysim plan serve ..."""


@PLAN.command("train", context_settings=CONTEXT)
@click.argument("model")
@click.option("--cluster", required=True, help="Catalog cluster keys, comma-separated (mlsysim catalog systems).")
@click.option("--batch-size", type=int, required=True, help="Global batch in sequences.")
@click.option("--seq-len", type=int, help="Tokens per sequence (default min(2048, model max)).")
@click.option("--tokens", type=float, help="Training tokens (for days, cost and carbon), e.g. 300e9.")
@click.option("--steps", type=int, help="Training steps (instead of --tokens).")
@click.option("--gpus", help="GPU counts to try on each cluster, e.g. 512,1024.")
@click.option("--max-gpus", type=int, help="GPU budget.")
@click.option("--deadline-days", type=float, help="Wall-clock days allowed, failures included.")
@click.option("--precision", help="Precisions to try, e.g. bf16,fp8 (default: the accelerator's).")
@click.option("--tp", help="Tensor-parallel degrees (default: powers of two up to a node).")
@click.option("--pp", help="Pipeline-parallel degrees (default: divisors of the layers).")
@click.option("--cp", help="Context-parallel degrees (default: powers of two, >= 1024 tokens per rank).")
@click.option("--ep", help="Expert-parallel degrees (MoE; default: powers of two dividing the experts).")
@click.option("--v-stages", default="1,2,4", show_default=True, help="Virtual pipeline stages per rank.")
@click.option("--schedule", help="Pipeline schedules, e.g. 1f1b,interleaved,zb-h1 (default: the solver's).")
@click.option("--zero", default="0,1,2,3", show_default=True, help="ZeRO stages.")
@click.option("--recompute", default="selective,full,none", show_default=True, help="Activation recomputation.")
@click.option("--microbatches", help="Micro-batch counts (default: every divisor of the batch).")
@click.option(
    "--objective",
    type=click.Choice(("throughput", "time", "cost", "rent", "energy", "carbon")),
    help="What to optimize.",
)
@click.option("--datacenter", help="Catalog datacenter or grid, for cost, energy and carbon.")
@click.option("--checkpoint-s", type=float, help="Checkpoint cost in seconds (default: ReliabilityModel's).")
@common
def train(model: str, cluster: str, **o: Any) -> None:
    """Which layout trains MODEL fastest (or cheapest, or greenest) on the clusters.

    Example: mlsysim plan train GPT3 --cluster Selene_2520 --gpus 1024 --batch-size 1536 --tokens 300e9
    """
    from .training import plan_training

    ranks(o["top"], o["explain"])
    option_names(
        model="MODEL", clusters="--cluster", batch_size="--batch-size", seq_len="--seq-len", tokens="--tokens",
        steps="--steps", gpus="--gpus", max_gpus="--max-gpus", deadline_days="--deadline-days",
        precision="--precision", tp="--tp", pp="--pp", cp="--cp", ep="--ep", v_stages="--v-stages",
        schedule="--schedule", zero_stage="--zero", recompute="--recompute", microbatch_count="--microbatches",
        objective="--objective", datacenter="--datacenter", checkpoint_time_s="--checkpoint-s",
    )  # fmt: skip
    plan = plan_training(
        lookup("model", model, "MODEL")[1],
        names("cluster", "--cluster", cluster),
        batch_size=o["batch_size"],
        seq_len=o["seq_len"],
        tokens=o["tokens"],
        steps=o["steps"],
        gpus=ints("--gpus", o["gpus"]),
        max_gpus=o["max_gpus"],
        deadline_days=o["deadline_days"],
        precision=words("--precision", o["precision"]),
        tp=ints("--tp", o["tp"]),
        pp=ints("--pp", o["pp"]),
        cp=ints("--cp", o["cp"]),
        ep=ints("--ep", o["ep"]),
        v_stages=ints("--v-stages", o["v_stages"]),
        schedule=words("--schedule", o["schedule"]),
        zero_stage=ints("--zero", o["zero"]),
        recompute=words("--recompute", o["recompute"]),
        microbatch_count=ints("--microbatches", o["microbatches"]),
        objective=o["objective"],
        datacenter=lookup("datacenter", o["datacenter"], "--datacenter")[1] if o["datacenter"] else None,
        checkpoint_time_s=o["checkpoint_s"],
        progress=o["progress"],
    )
    output(plan, o["as_json"], o["as_csv"], o["plot"], o["explain"], o["top"])


def seconds(flag: str, text: str) -> Any:
    """``"1s"``, ``"40ms"``, ``"40 ms"`` -> a time Quantity (a unit is required)."""
    import re

    from mlsysim_core.errors import InvalidInputError
    from mlsysim_core.units import parse_quantity, ureg

    m = re.fullmatch(r"\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]+)\s*", text)
    try:
        if m is None:
            raise InvalidInputError(flag, text, "a time with its unit, e.g. 1s or 40ms")
        return parse_quantity(f"{m.group(1)} {m.group(2)}", ureg.s, name=flag)
    except InvalidInputError as exc:
        raise CliError(flag, f"{text!r} is invalid: expected a time with its unit, e.g. 1s or 40ms") from exc


@PLAN.command("serve", context_settings=CONTEXT)
@click.argument("model")
@click.option("--qps", type=float, required=True, help="Requests per second (arrival rate, Poisson).")
@click.option("--seq-len", type=int, required=True, help="Prompt tokens per request.")
@click.option("--output-len", type=int, required=True, help="Generated tokens per request.")
@click.option("--slo-ttft", required=True, help="Time-to-first-token SLO, e.g. 1s.")
@click.option("--slo-itl", required=True, help="Inter-token latency SLO, e.g. 40ms.")
@click.option(
    "--percentile", type=click.Choice(("50", "90", "99")), default="90", show_default=True, help="SLO percentile."
)
@click.option("--hardware", help="Catalog hardware keys, comma-separated (default: every part that holds the model).")
@click.option("--max-gpus", type=int, default=64, show_default=True, help="GPU budget (replicas x tp).")
@click.option("--precision", help="Precisions to try, e.g. bf16,fp8 (default: bf16, and fp8 where a part has it).")
@click.option("--tp", help="Tensor-parallel degrees (default 1,2,4,8).")
@click.option("--pp", help="Pipeline stages per replica to try, e.g. 1,2 (default 1).")
@click.option("--ep", help="Expert-parallel degrees to try (MoE), e.g. 1,8 (default 1).")
@click.option("--batch-caps", default="16,32,64,128,256", show_default=True, help="max_num_seqs values to try.")
@click.option(
    "--objective", type=click.Choice(("cost", "rent", "gpus", "energy", "carbon")), help="Per 1M output tokens."
)
@click.option("--datacenter", help="Catalog datacenter or grid, for cost, energy and carbon.")
@click.option("--disagg", is_flag=True, help="Also search disaggregated prefill/decode pools (needs --fabric).")
@click.option("--fabric", help="KV link between the pools: a catalog fabric (e.g. IB_NDR), NVLink or PCIe.")
@click.option("--spec-draft", help="Also search speculative decoding with this catalog draft model, e.g. Llama3_2_1B.")
@click.option("--spec-draft-cost", type=float, help="... or draft heads/MTP/n-gram at this share of a decode step.")
@click.option("--spec-k", type=int, default=4, show_default=True, help="Drafted tokens per speculative step.")
@click.option("--spec-accept", type=float, help="Acceptance rate of each drafted token, in [0, 1).")
@common
def serve(model: str, **o: Any) -> None:
    """Which hardware, GPU count, parallelism, precision and batch cap serve MODEL at --qps within the SLOs.

    Example: mlsysim plan serve Llama3_70B --qps 5 --seq-len 2000 --output-len 300 --slo-ttft 1s --slo-itl 40ms
    """
    from .serving import plan_serving

    ranks(o["top"], o["explain"])
    option_names(
        model="MODEL", qps="--qps", seq_len="--seq-len", output_len="--output-len", slo_ttft="--slo-ttft",
        slo_itl="--slo-itl", slo_percentile="--percentile", hardware="--hardware", max_gpus="--max-gpus",
        precision="--precision", tp="--tp", pp_size="--pp", ep_size="--ep", max_num_seqs="--batch-caps",
        objective="--objective", datacenter="--datacenter", disagg="--disagg", fabric="--fabric",
        spec_draft="--spec-draft", spec_draft_cost="--spec-draft-cost", spec_k="--spec-k",
        spec_accept="--spec-accept",
    )  # fmt: skip
    draft = lookup("model", o["spec_draft"], "--spec-draft")[1] if o["spec_draft"] else None
    spec = {"spec_draft": draft, "spec_draft_cost": o["spec_draft_cost"], "spec_k": o["spec_k"]}
    spec = {k: v for k, v in spec.items() if v is not None} | {"spec_accept": o["spec_accept"]}
    speculate = spec.keys() - {"spec_k", "spec_accept"} or o["spec_accept"] is not None
    if speculate and o["spec_accept"] is None:
        raise CliError(
            "--spec-accept", "is required with --spec-draft or --spec-draft-cost: an acceptance rate in [0, 1)"
        )
    if not speculate and o["spec_k"] != 4:  # as `mlsysim serve --spec-k` says: k drafts nothing without a draft
        raise CliError("--spec-k", f"{o['spec_k']} needs --spec-draft MODEL or --spec-draft-cost SHARE (4 without)")
    if speculate and not spec.keys() & {"spec_draft", "spec_draft_cost"}:
        raise CliError("--spec-accept", "needs --spec-draft MODEL or --spec-draft-cost SHARE: what proposes the tokens")
    plan = plan_serving(
        lookup("model", model, "MODEL")[1],
        qps=o["qps"],
        seq_len=o["seq_len"],
        output_len=o["output_len"],
        slo_ttft=seconds("--slo-ttft", o["slo_ttft"]),
        slo_itl=seconds("--slo-itl", o["slo_itl"]),
        slo_percentile=int(o["percentile"]),
        hardware=names("hardware", "--hardware", o["hardware"]) if o["hardware"] else None,
        max_gpus=o["max_gpus"],
        precision=words("--precision", o["precision"]),
        tp=ints("--tp", o["tp"]),
        max_num_seqs=ints("--batch-caps", o["batch_caps"]),
        axes={k: v for k, v in (("pp_size", ints("--pp", o["pp"])), ("ep_size", ints("--ep", o["ep"]))) if v},
        objective=o["objective"],
        datacenter=lookup("datacenter", o["datacenter"], "--datacenter")[1] if o["datacenter"] else None,
        disagg=o["disagg"],
        fabric=o["fabric"],
        speculative=[spec] if speculate else None,
        progress=o["progress"],
    )
    output(plan, o["as_json"], o["as_csv"], o["plot"], o["explain"], o["top"])
