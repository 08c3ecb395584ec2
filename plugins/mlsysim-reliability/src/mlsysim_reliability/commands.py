"""``mlsysim reliability`` (and its sweep), declared with the public CLI API (``mlsysim_core.cli``)."""

from __future__ import annotations

from mlsysim_core.cli import Param, SolverCommand

RELIABILITY = SolverCommand(
    name="reliability",
    solver="ReliabilityModel",
    summary="How often does CLUSTER fail during a job, how often to checkpoint, and what goodput results?",
    example="mlsysim reliability Research_256 --hours 720 --checkpoint-s 60",
    sweep_example="mlsysim sweep reliability --cluster Research_256,Frontier_8K --hours 720 --checkpoint-s 10,60,300",
    params=(
        Param("fleet", "CLUSTER", "cluster", required=True, help="Catalog cluster key."),
        Param(
            "job_duration_hours",
            "--hours",
            "float",
            required=True,
            help="Failure-free compute time of the job (hours).",
        ),
        Param("checkpoint_time_s", "--checkpoint-s", "float", required=True, help="Time to write one checkpoint (s)."),
        Param("restart_time_s", "--restart-s", "float", help="Restart cost after a failure (s; default 300)."),
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
        "expected_interruptions",
        "mtbf_source",
    ),
    pareto=(("expected_completion_time", "min"), ("checkpoint_time", "max")),
    title=lambda r, i: f"{i.get('fleet')} ({r.nodes} nodes), {r.job_duration.to('h').magnitude:g} h job",
)
