"""The plugin's command: ``mlsysim arithmetic-intensity`` and ``mlsysim sweep arithmetic-intensity``.

Declared with the public CLI API (``mlsysim_cli.api``, guide: docs/cli.md in the mlsysim repository):
the host builds the table, ``--json``/``--csv``/``--all``, the sweep over lists and ranges with its
Pareto front, and ``--plot`` from this one declaration. Import only click and ``mlsysim_cli.api`` at
the top: listing commands must not pay for numpy, pint or matplotlib.
"""

from __future__ import annotations

from typing import Any

from mlsysim_cli.api import PRECISIONS, Param, SolverCommand


def _plot(result: Any, kwargs: dict) -> Any:
    """``--plot``: the accelerator's roofline with the kernel on it (matplotlib loads only here)."""
    from mlsysim_plots import plot_roofline

    point = ("kernel", result.intensity.to("FLOP/B").magnitude, result.attainable_flops.to("FLOP/s").magnitude)
    return plot_roofline(kwargs["hardware"], [point], precisions=[result.precision])


ARITHMETIC_INTENSITY = SolverCommand(
    name="arithmetic-intensity",  # `mlsysim arithmetic-intensity`
    solver="ArithmeticIntensityModel",  # the name registered by mlsysim_solvers()
    summary="Is a kernel of FLOPS over BYTES compute- or memory-bound on HARDWARE, and how fast can it run?",
    example="mlsysim arithmetic-intensity H100 --flops 1.4e11 --bytes 1e8",
    sweep_example="mlsysim sweep arithmetic-intensity --hardware A100,H100 --flops 1e9,1e11,1e13 --bytes 1e8 "
    "--plot front.png",
    params=(
        Param("hardware", "HARDWARE", "hardware", required=True, help="Catalog hardware key."),
        Param("flops", "--flops", "float", required=True, unit="FLOP", help="Floating-point operations of the kernel."),
        Param(
            "bytes_moved",
            "--bytes",
            "float",
            required=True,
            unit="B",
            help="Bytes the kernel moves to and from memory.",
        ),
        Param("precision", "--precision", "choice", choices=PRECISIONS, help="Precision (default: the part's)."),
    ),
    key_fields=("bottleneck", "latency", "attainable_flops", "intensity", "ridge_point", "precision"),
    pareto=(("latency", "min"), ("attainable_flops", "max")),
    title=lambda r, i: f"{i['flops']:.4g} FLOP over {i['bytes_moved']:.4g} B on {r.device} ({r.precision})",
    plot=_plot,
)
