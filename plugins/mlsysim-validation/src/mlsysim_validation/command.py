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
@click.option(
    "--bands",
    is_flag=True,
    help="Instead: how often the bands contain the measurement (every group some ranged solver moves) and "
    "what calibrating one hardware on its serving points does to its other points (docs/accuracy.md).",
)
def validate_cmd(groups: tuple, as_json: bool, plot: str | None, verbose: bool, bands: bool) -> None:
    """Predicted vs measured for every published measurement the harness maps (a copy of the shared
    calibration set ships with mlsysim-validation), the error per point, median and max |error| per group,
    and the points skipped with the reason.

    \b
    Example:
      mlsysim validate
      mlsysim validate --group B --verbose
      mlsysim validate --json --plot accuracy.png
    """
    if bands:
        from .coverage import report as band_report

        click.echo(band_report())
        return
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


@click.command("calibrate")
@click.argument("runs", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Catalog overlay to write (TOML).")
def calibrate_cmd(runs: str, output: str) -> None:
    """Fit one hardware's compute and memory efficiencies, engine overhead and request path to your own
    serving measurements (CSV or JSON rows: model, hardware, seq_len, quantity, value, unit; batch_size for a
    static batch, or the load the row was measured under: concurrency N (closed loop) or arrival_rate
    (requests/s, open loop); optionally output_len, precision, tp, engine and the engine's settings, e.g.
    max_num_batched_tokens, length_cv, prefill_steps; quantity one of ttft, itl, itl_mean, itl_continuous,
    e2e_latency, tokens_per_second at a static batch, or ttft_mean, ttft_p50/p90/p99, itl_mean,
    itl_p50/p90/p99, e2e_mean, e2e_p90/p99, output_tokens_per_second under a load), report the fit and its
    leave-one-out error, and write a catalog overlay for that hardware. Run it again on the same -o with more
    rows to refine the fit (on every row given so far: where the defaults then win, the earlier fit is removed);
    nothing is written when the input is refused or, on a first call, the defaults predict it better.

    \b
    Example:
      mlsysim calibrate my_runs.csv -o lab.toml
      mlsysim --catalog lab.toml serve Llama3_8B H100 --seq-len 1024 --output-len 256 --bands
    """
    from pathlib import Path

    from .calibrate import calibrate, threshold
    from .overlay import overlay, previous_points
    from .runs import point

    path = Path(output)
    previous = previous_points(path)
    cal = calibrate(runs, previous)
    # rows of an earlier fit of this scope (calibrate keeps those of the engine of the runs)
    earlier = sum(point(i + 1, r).engine == cal.engine for i, r in enumerate(previous))
    if not cal.values and not earlier:
        click.echo(
            cal.report() + "\n\nnot written: no fit predicts these rows, left out, better than the defaults by more "
            f"than {threshold(len(cal.points)):.3g} standard errors of the gain ({output} unchanged; these rows are "
            "not kept: give them again with more rows to refine)"
        )
        return
    if not cal.values:  # a refinement: the fit of every row given so far is the defaults, which replace the earlier
        path.write_text(overlay(cal, path))
        click.echo(
            cal.report() + f"\n\nwrote {output}: the defaults on all {len(cal.points)} rows replace its entry for "
            f"{cal.scope} (from an earlier call on {earlier} of them): solves there use the defaults, and a call "
            "with more rows refits them all"
        )
        return
    path.write_text(overlay(cal, path))
    click.echo(cal.report() + f"\n\nwrote {output}: use it with mlsysim --catalog {output} ...")
