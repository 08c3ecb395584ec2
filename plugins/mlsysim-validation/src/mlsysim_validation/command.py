"""``mlsysim validate``: the solvers' predictions against published measurements, per group."""

from __future__ import annotations

import click

from mlsysim_cli.api import CliError, emit

from .harness import GROUPS


@click.command("validate")
@click.option(
    "--group",
    "groups",
    multiple=True,
    type=click.Choice(tuple(GROUPS), case_sensitive=False),
    help="Only this group (repeatable): " + ", ".join(f"{g} {t}" for g, t in GROUPS.items()) + ".",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: summary and every point.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    metavar="FILE.png",
    help='Scatter of predicted vs measured per group (needs matplotlib: pip install "mlsysim-validation[plot]").',
)
@click.option("-v", "--verbose", is_flag=True, help="Also print how each point is mapped and what is assumed.")
def validate_cmd(groups: tuple, as_json: bool, plot: str | None, verbose: bool) -> None:
    """Predicted vs measured for every published measurement the harness maps (a copy of the shared
    calibration set ships with mlsysim-validation), the error per point, median and max |error| per group,
    and the points skipped with the reason.

    \b
    Example:
      mlsysim validate
      mlsysim validate --group B --verbose
      mlsysim validate --json --plot accuracy.png
    """
    from .harness import run, upstream_errors

    report = run(groups=[g.upper() for g in groups] or None)
    data = report.to_dict()
    up = upstream_errors()
    if up is not None:
        data["upstream_0.1.1"] = {g: up["summary"].get(g) for g in data["summary"]}

    def render(_: dict) -> str:
        text = report.table(verbose=verbose)
        if up is not None:
            lines = ["", "upstream mlsysim 0.1.1 on the same points (bench/upstream_accuracy.py):"]
            for g in data["summary"]:
                s = up["summary"].get(g) or {}
                med = s.get("median_abs_error")
                lines.append(
                    f"  group {g}: median |error| {'-' if med is None else f'{med:.1%}'} over "
                    f"{s.get('counted', 0)} points"
                )
            text += "\n".join(lines)
        return text

    if plot:
        try:
            report.plot(plot)
        except ImportError as exc:
            raise CliError("--plot", str(exc)) from None
    emit(data, as_json, render)
