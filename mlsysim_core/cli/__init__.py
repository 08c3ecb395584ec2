"""The ``mlsysim`` command line (click: small, stable, composable groups; plugin commands are plain
``click.Command`` objects).

Exit codes: 0 ok, 1 bad input (a one-line message naming the argument, no traceback), 2 infeasible
configuration with ``--strict``. Plugins add subcommands through the ``mlsysim_cli_commands`` hook.

Layout: this module holds the group and ``mlsysim plugins``; ``solvers.py`` one command per solver (roofline, serve, train, cost, carbon,
reliability); ``sweep.py`` ``sweep`` and ``compare``; ``_out.py`` tables, JSON and CSV. Only click
and the standard library are imported at start; the catalog, solvers and matplotlib on use.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import click

from ..errors import InfeasibleError, InvalidInputError, MlsysimError
from ._out import emit, table

__all__ = ["main", "table", "emit", "CliError"]


class CliError(MlsysimError):
    """Bad command-line input; the message starts with the option or argument it concerns."""

    def __init__(self, option: str, message: str):
        self.option = option
        super().__init__(f"{option}: {message}")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe(exc: BaseException, ctx: click.Context | None) -> str:
    """The error as one line, naming the command-line option behind a solver argument."""
    msg = _one_line(exc)
    if isinstance(exc, InvalidInputError) and ctx is not None:
        options = ctx.meta.get("mlsysim.options", {})
        arg = str(exc.argument)
        opt = options.get(arg) or options.get(arg.split(".")[0].split("[")[0].split("*")[0])
        if opt:
            return f"{opt}: {msg}"
    return msg


_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class Group(click.Group):
    """Turns mlsysim errors into one-line messages (exit 1; infeasible with --strict: exit 2),
    click usage errors into one line with exit 1, and adds plugin commands."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InfeasibleError as exc:
            click.echo(f"Infeasible: {_one_line(exc)}", err=True)
            sys.exit(2)
        except MlsysimError as exc:
            click.echo(f"Error: {describe(exc, ctx)}", err=True)
            sys.exit(1)

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _NO_ARGS as exc:  # `mlsysim` alone: help, exit 0
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(0)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "mlsysim"
            click.echo(f"Error: {_one_line(exc.format_message())} (see: {where} --help)", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            click.echo(f"Error: {_one_line(exc.format_message())}", err=True)
            sys.exit(1)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def _plugin_commands(self) -> dict[str, click.Command]:
        from ..plugins import PluginWarning, host

        out: dict[str, click.Command] = {}
        for plugin, cmd in host().call_hook("mlsysim_cli_commands", click.Command):
            if cmd.name in self.commands or cmd.name in out:
                warnings.warn(f"plugin {plugin!r} command {cmd.name!r} is already taken; skipped", PluginWarning, stacklevel=2)
                continue
            out[cmd.name] = cmd
        return out

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugin_commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._plugin_commands().get(name)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mlsysim-core")
@click.option("--catalog", "catalog_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              metavar="FILE.toml", help="Also load this catalog file (highest priority); repeatable.")
def main(catalog_files: tuple) -> None:
    """mlsysim: answers about ML systems from datasheets and first-order equations.

    \b
    Example:
      mlsysim serve Llama3_8B H100 --seq-len 2048
      mlsysim compare A100 H100 B200 --model Llama3_8B --batch-size 8
      mlsysim sweep roofline --model Llama3_8B --hardware A100,H100 --batch-size 1,8,64 --csv out.csv
    """
    if catalog_files:
        from ..plugins import load_catalog

        for f in catalog_files:
            load_catalog(f)


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_cmd(as_json: bool) -> None:
    """List installed plugins: name, distribution, version, status, what each provides, errors.

    \b
    Example:
      MLSYSIM_DISABLE_PLUGINS=serving mlsysim plugins --json
    """
    from ..plugins import records, solvers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solver_map = solvers()
        recs = records()
    data = []
    for r in recs:
        d = r.to_dict()
        d["solvers"] = sorted(n for n, s in solver_map.items() if s.distribution == r.distribution)
        data.append(d)

    def render(rows: list) -> str:
        return table(
            ["plugin", "distribution", "version", "status", "provides", "error"],
            [[d["name"], d["distribution"], d["version"], d["status"],
              ", ".join(d["solvers"]) or ", ".join(p.replace("mlsysim_", "") for p in d["provides"]), d["error"]]
             for d in rows],
        )

    emit(data, as_json, render)



# Commands live in submodules; importing them registers them on `main`.
from . import solvers as _solvers  # noqa: E402,F401
from . import sweep as _sweep  # noqa: E402,F401
