"""Entry point ``power_efficiency`` (group ``mlsysim``): registers :class:`PowerEfficiencyModel`."""

from mlsysim_core import hookimpl
from mlsysim_core.plugins import SolverSpec


def _power_efficiency():
    # Imported on first use, not at discovery: the solver module pulls in pint and numpy.
    from .solver import PowerEfficiencyModel

    return PowerEfficiencyModel


@hookimpl
def mlsysim_solvers() -> list:
    return [SolverSpec(
        name="PowerEfficiencyModel",
        factory=_power_efficiency,
        summary="dense peak TFLOP/s per kW of TDP for one accelerator",
        consumes=("HardwareNode",),
        produces="PowerEfficiencyResult",
    )]


@hookimpl
def mlsysim_cli_commands() -> list:
    """``mlsysim power-efficiency HW [HW ...] [--precision P] [--json]``: a plugin's own command.

    click is imported here, when the command line starts, never by ``import mlsysim``.
    """
    import click

    @click.command("power-efficiency", context_settings={"help_option_names": ["-h", "--help"]})
    @click.argument("hardware", nargs=-1, required=True, metavar="HARDWARE [HARDWARE ...]")
    @click.option("--precision", help="Precision of the dense peak (default: each part's default precision).")
    @click.option("--json", "as_json", is_flag=True, help='JSON: {"solver", "inputs", "results": [...]}.')
    def power_efficiency(hardware: tuple, precision: str | None, as_json: bool) -> None:
        """Dense peak TFLOP/s per kW of TDP of each HARDWARE (catalog keys, case-insensitive).

        \b
        Example:
          mlsysim power-efficiency A100 H100 B200 --precision fp8
        """
        from mlsysim_core.cli import CliError
        from mlsysim_core.cli._out import dumps, table, value
        from mlsysim_core.cli.solvers import lookup

        click.get_current_context().meta["mlsysim.options"] = {"precision": "--precision", "hardware": "HARDWARE"}
        parts = [lookup("hardware", h, "HARDWARE") for h in hardware]
        if not parts:  # pragma: no cover - click enforces required
            raise CliError("HARDWARE", "give at least one")
        model = _power_efficiency()()
        results = [(key, model.solve(hw, precision)) for key, hw in parts]
        if as_json:
            click.echo(dumps({"solver": "PowerEfficiencyModel", "inputs": {"hardware": [k for k, _ in results],
                                                                           "precision": precision},
                              "results": [r.to_dict() for _, r in results]}))
            return
        click.echo(table(["hardware", "precision", "peak", "TDP", "TFLOP/s per kW"],
                         [[k, r.precision, value(r.peak_flops), value(r.tdp), value(r.flops_per_watt)]
                          for k, r in sorted(results, key=lambda kr: -kr[1].flops_per_watt.magnitude)]))

    return [power_efficiency]
