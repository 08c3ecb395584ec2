"""``mlsysim <name>`` from a :class:`~mlsysim_cli.api.SolverCommand` declaration: one configuration."""

from __future__ import annotations

from typing import Any

import click

from .api import CliError, Param, SolverCommand, option_names, save_plot
from .api._out import csv_text, dumps, flatten, result_units, table
from .api.command import CONTEXT, check_output


def csv_row(inputs: dict, result: Any) -> dict:
    """One CSV row: ``inputs.<name>`` and ``result.<field> [unit]`` columns."""
    row = flatten("", {"inputs": inputs}, {})
    return flatten("", {"result": result.to_dict()}, row, result_units(result))


def click_type(p: Param) -> Any:
    if p.kind in ("choice", "bool"):
        return click.Choice(p.choices, case_sensitive=False)
    return {"int": click.INT, "float": click.FLOAT}.get(p.kind, click.STRING)


class KeywordCommand(click.Command):
    """A solver's command: an option spelt as its ``solve()`` keyword (``--arrival-rate`` for ``--qps``,
    ``--tp-size`` for ``--tp``) is refused naming the option that sets it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            keyword = exc.option_name.lstrip("-").replace("-", "_")
            flag = next((p.opts[0] for p in self.params if isinstance(p, click.Option) and p.name == keyword), None)
            if flag is None:  # not a solve() keyword: click's own message (with its close matches)
                raise
            message = f"No such option {exc.option_name!r}; solve()'s {keyword} is {flag}."
            raise click.NoSuchOption(exc.option_name, message, ctx=ctx) from None


def make_command(cmd: SolverCommand) -> click.Command:
    """``mlsysim <cmd.name>``: one configuration."""

    def callback(
        as_json: bool,
        as_csv: bool,
        show_all: bool,
        bands: bool,
        plot: str | None = None,
        strict: bool = False,
        **values: Any,
    ) -> None:
        option_names(**cmd.options())
        if as_json and as_csv:
            raise CliError("--json", "choose one of --json and --csv")
        check_output("--plot", plot, plot=True)
        shown = [v for v in cmd.views if values.pop(v.name, False)]
        kwargs, inputs = cmd.build(values)
        result, warns = cmd.solve(kwargs, strict, bands)
        if as_json:
            click.echo(dumps(cmd.payload(inputs, result)))
        elif as_csv:
            click.echo(csv_text([csv_row(inputs, result)]), nl=False)
        else:
            click.echo(cmd.render(inputs, result, show_all, warns))
            for view in shown:
                click.echo("\n" + table(*view.rows(result)))
        for w in warns if as_json or as_csv else ():
            click.echo(f"warning: {w}", err=True)
        if plot and cmd.plot is not None:
            draw = cmd.plot
            save_plot(lambda: draw(result, kwargs), plot)

    params: list[click.Parameter] = []
    for p in cmd.params:
        if p.positional:
            params.append(click.Argument([p.name], metavar=p.flag, type=click_type(p), required=True))
        else:
            extra = {} if p.default is None else {"default": p.default, "show_default": True}
            params.append(click.Option([p.flag, p.name], type=click_type(p), required=p.required, help=p.help, **extra))
    params += [
        click.Option(
            ["--json", "as_json"], is_flag=True, help='JSON: {"solver", "inputs", "result"} (values with units).'
        ),
        click.Option(["--csv", "as_csv"], is_flag=True, help="One CSV row (a header line, then the values)."),
        click.Option(["--all", "show_all"], is_flag=True, help="Show every result field in the table."),
        click.Option(
            ["--bands"],
            is_flag=True,
            help="Also the range of each headline field over the efficiency ranges, and whether the inputs "
            "lie outside the calibration set (docs/accuracy.md, Bands).",
        ),
    ]
    params += [click.Option([v.flag, v.name], is_flag=True, help=v.help) for v in cmd.views]
    if cmd.strict:
        params.append(
            click.Option(
                ["--strict"],
                is_flag=True,
                help="Exit 2 with the reason when the configuration does not fit (infeasible).",
            )
        )
    if cmd.plot is not None:
        params.append(
            click.Option(
                ["--plot"],
                type=click.Path(dir_okay=False),
                metavar="FILE.png",
                help='Also draw a picture (needs matplotlib: pip install "mlsysim-core[plot]").',
            )
        )
    args = " ".join(p.flag for p in cmd.params if p.positional)
    keys = f"Arguments: {args} are catalog keys (case-insensitive). " if args else ""
    doc = f"{cmd.summary}\n\n{keys}Solver: {cmd.solver}.\n\n\b\nExample:\n  {cmd.example}"
    return KeywordCommand(
        cmd.name, callback=callback, params=params, help=doc, short_help=cmd.summary, context_settings=CONTEXT
    )
