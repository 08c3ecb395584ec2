"""``mlsysim power-efficiency`` (and its sweep), declared with the public CLI API only (``mlsysim_cli.api``).

The module imports click and the host's CLI API, never numpy or pint: listing commands stays fast.
"""

from __future__ import annotations

from mlsysim_cli.api import PRECISIONS, Param, SolverCommand

POWER_EFFICIENCY = SolverCommand(
    name="power-efficiency",
    solver="PowerEfficiencyModel",
    summary="How many dense TFLOP/s per kW of TDP does HARDWARE deliver at a precision?",
    example="mlsysim power-efficiency H100 --precision fp8",
    sweep_example="mlsysim sweep power-efficiency --hardware A100,H100,B200,T4 --precision fp16,fp8 --plot eff.png",
    params=(
        Param("hardware", "HARDWARE", "hardware", required=True, help="Catalog hardware key."),
        Param(
            "precision",
            "--precision",
            "choice",
            choices=PRECISIONS,
            help="Precision of the dense peak (default: the part's default precision).",
        ),
        Param(
            "efficiency",
            "--efficiency",
            "float",
            help="Achieved fraction of the dense peak in (0, 1] (default 0.6, COMPUTE_WIDE); --bands spans its range.",
        ),
    ),
    key_fields=("flops_per_watt", "achieved_flops_per_watt", "peak_flops", "tdp", "precision", "device"),
    pareto=(("flops_per_watt", "max"), ("peak_flops", "max")),
    title=lambda r, i: f"{r.device} ({r.precision})",
)
