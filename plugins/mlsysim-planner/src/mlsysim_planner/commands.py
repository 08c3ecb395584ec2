"""``mlsysim plan train`` and ``mlsysim plan serve``: plain click commands on the public CLI API
(``mlsysim_core.cli``). Lists are comma-separated (``--tp 1,2,4,8``); names resolve against the catalog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from mlsysim_core.cli import CliError, lookup, option_names, save_plot

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def ints(flag: str, text: str | None) -> list[int] | None:
    """``"1,2,4"`` -> [1, 2, 4]; None stays None (the planner's default)."""
    if text is None:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise CliError(flag, f"{text!r} is invalid: expected integers separated by commas, e.g. 1,2,4") from None


def words(text: str | None) -> list[str] | None:
    return None if text is None else [x.strip() for x in text.split(",") if x.strip()]


def names(kind: str, flag: str, text: str) -> list[Any]:
    return [lookup(kind, n, flag)[1] for n in words(text) or []]


def output(plan: Any, as_json: bool, as_csv: bool, plot: str | None, explain: int | None, top: int) -> None:
    """Print the plan as a table (or JSON / CSV), draw its Pareto front, explain one row."""
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
        for note in plan.notes:
            click.echo(f"note: {note}")
    if explain is not None:
        if not 1 <= explain <= len(plan):
            raise CliError("--explain", f"{explain} is invalid: expected a rank in [1, {len(plan)}]")
        click.echo("")
        click.echo(plan.explain(explain - 1))


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
    "--objective", type=click.Choice(("throughput", "time", "cost", "energy", "carbon")), help="What to optimize."
)
@click.option("--datacenter", help="Catalog datacenter or grid, for cost, energy and carbon.")
@click.option("--checkpoint-s", type=float, help="Checkpoint cost in seconds (default: ReliabilityModel's).")
@common
def train(model: str, cluster: str, **o: Any) -> None:
    """Which layout trains MODEL fastest (or cheapest, or greenest) on the clusters.

    Example: mlsysim plan train GPT3 --cluster Selene_2520 --gpus 1024 --batch-size 1536 --tokens 300e9
    """
    from .training import plan_training

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
        precision=words(o["precision"]),
        tp=ints("--tp", o["tp"]),
        pp=ints("--pp", o["pp"]),
        cp=ints("--cp", o["cp"]),
        ep=ints("--ep", o["ep"]),
        v_stages=ints("--v-stages", o["v_stages"]),
        schedule=words(o["schedule"]),
        zero_stage=ints("--zero", o["zero"]),
        recompute=words(o["recompute"]),
        microbatch_count=ints("--microbatches", o["microbatches"]),
        objective=o["objective"],
        datacenter=lookup("datacenter", o["datacenter"], "--datacenter")[1] if o["datacenter"] else None,
        checkpoint_time_s=o["checkpoint_s"],
        progress=o["progress"],
    )
    output(plan, o["as_json"], o["as_csv"], o["plot"], o["explain"], o["top"])
