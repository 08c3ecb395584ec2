"""``mlsysim reliability`` (and its sweep), declared with the public CLI API (``mlsysim_cli.api``)."""

from __future__ import annotations

from typing import Any

from mlsysim_cli.api import CliError, Param, SolverCommand, View, solver_command, value
from mlsysim_fleet.params import CLUSTER, NODES


def training_from_file(_: Any, path: str) -> Any:
    """The training result a ``mlsysim train ... --json`` output describes, solved again from its inputs
    (``--from run.json``): the checkpoint is the model state of that run. A ``--bands`` output is solved
    again with its bands, so ``mlsysim reliability ... --from run.json --bands`` carries them."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        solver, inputs = doc["solver"], doc["inputs"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CliError("--from", f"{path}: not the JSON of `mlsysim train ... --json` ({exc})") from None
    if solver != "DistributedModel":
        raise CliError("--from", f"{path}: a {solver} result; expected the JSON of `mlsysim train ... --json`")
    cmd = solver_command(solver)
    if cmd is None:
        raise CliError("--from", "the train command (mlsysim-distributed) is not installed")
    kwargs, _ = cmd.build({k: v for k, v in inputs.items() if v is not None})
    result, _ = cmd.solve(kwargs, bands="band_corners" in doc)
    return result


def _by_cause(r: Any) -> tuple[list, list]:
    """Expected interruptions per cause during the job (``failures_by_cause``), largest first."""
    counts = r.failures_by_cause
    total = sum(counts.values())
    rows = [
        [c, r.cause_kinds.get(c, ""), value(n), f"{100 * n / total:.1f} %"]
        for c, n in sorted(counts.items(), key=lambda kv: -kv[1])
    ]
    return ["cause", "kind", "expected interruptions", "share"], rows + [["total", "", value(total), "100.0 %"]]


RELIABILITY = SolverCommand(
    name="reliability",
    solver="ReliabilityModel",
    summary="How often does CLUSTER fail during a job, how often to checkpoint, and what goodput results?",
    example="mlsysim reliability Llama3_16K_Measured --hours 720 --checkpoint-s 60 --by-cause",
    sweep_example="mlsysim sweep reliability --cluster Research_256,Frontier_8K --hours 720 --checkpoint-s 10,60,300",
    params=(
        CLUSTER,
        Param(
            "job_duration_hours",
            "--hours",
            "float",
            help="Failure-free compute time of the job (hours; with --from, default: the run's time to train, "
            "`mlsysim train ... --tokens N --json`).",
        ),
        Param(
            "checkpoint_time_s",
            "--checkpoint-s",
            "float",
            help="Time to write one checkpoint (s; default 60, or derived with --from and --storage).",
        ),
        Param("storage", "--storage", "storage", help="Catalog storage key checkpoints are written to (with --from)."),
        Param(
            "training",
            "--from",
            "str",
            help="JSON of `mlsysim train ... --json`: its time to train is the job's hours (unless --hours), "
            "its model state the checkpoint (with --storage).",
            modifies="training",
            apply=training_from_file,
        ),
        Param("asynchronous_checkpoint", "--async-checkpoint", "bool", help="on: stall only for the copy to host."),
        Param("restart_time_s", "--restart-s", "float", help="Restart cost after a failure (s; default 300)."),
        NODES,
        Param(
            "scope",
            "--scope",
            "choice",
            "all",
            choices=("all", "hardware"),
            help="Causes counted: all job interruptions (hardware, software, maintenance) or hardware only.",
        ),
    ),
    key_fields=(
        "fleet_mtbf",
        "node_mtbf",
        "failures_per_day",
        "failure_probability",
        "expected_failures",
        "optimal_checkpoint_interval",
        "goodput",
        "expected_completion_time",
        "feasible",
        "expected_interruptions",
        "scope",
        "fleet_mttf_all",
        "fleet_mttf_hardware",
        "checkpoint_time",
        "checkpoint_bytes",
        "mtbf_source",
        "checkpoint_source",
    ),
    pareto=(("expected_completion_time", "min"), ("checkpoint_time", "max")),
    title=lambda r, i: f"{i.get('fleet')} ({r.nodes} nodes), {r.job_duration.to('h').magnitude:g} h job",
    views=(View("--by-cause", "Also print expected interruptions per cause over the job's hours.", _by_cause),),
)
