"""The ``mlsysim`` command (click): the group, ``mlsysim plugins`` and ``mlsysim sweep``.

Exit codes: 0 ok, 1 bad input (a one-line message naming the argument, no traceback), 2 infeasible
configuration with ``--strict``. Every other command comes from a plugin's ``mlsysim_cli_commands``
hook: a :class:`~mlsysim_cli.api.SolverCommand` declaration (``mlsysim <name>`` and
``mlsysim sweep <name>`` are built from it) or a plain ``click.Command``. The declarations and
output helpers plugins use are the host's public API (``mlsysim_cli.api``, docs/cli.md); this
package is the program around them. Only click and the standard library are imported at start.
"""

from __future__ import annotations

import gc
import re
import sys
import warnings
from collections.abc import Mapping
from typing import Any

import click

from mlsysim_core.errors import InfeasibleError, InvalidInputError, MlsysimError

from .api._out import emit, table
from .api.command import CONTEXT, OPTIONS_KEY, SolverCommand
from .api.lazy import declared, load, solver_commands
from .build import make_command

__all__ = ["main", "run"]


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def describe(exc: BaseException, ctx: click.Context | None) -> str:
    """The error as one line, naming the command-line option behind a solver argument."""
    msg = _one_line(exc)
    if isinstance(exc, InvalidInputError) and ctx is not None:
        options = ctx.meta.get(OPTIONS_KEY, {})
        arg = str(exc.argument)
        # a product of arguments ("tp_size*pp_size" for --pp 3) names each of its options, not only the first
        product = [options[k] for k in arg.split("*") if k in options] if "*" in arg else []
        opt = options.get(arg) or "/".join(product) or options.get(arg.split(".")[0].split("[")[0])
        for keyword, flag in options.items():  # "pass <keyword>=" is Python; the CLI user passes --<option>
            msg = re.sub(rf"\b{re.escape(keyword)}=(?=$|[\s).,;])", flag, msg)
        for solver, command in _commands_of_solvers().items():  # "use SomeModel": the command that runs it
            msg = re.sub(rf"\buse {re.escape(solver)}\b", f"use `mlsysim {command}` ({solver})", msg)
        if opt:
            return f"{opt}: {msg}"
    return msg


def _commands_of_solvers() -> dict[str, str]:
    """Solver name -> the name of the command a plugin declared for it."""
    return {solver: command.name for solver, command in solver_commands().items()}


_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class _Resolving(click.Group):
    """A command group whose unknown command names the close matches among every command, the plugins' too (click
    knows its own only), and says where commands come from."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            from mlsysim_core.errors import did_you_mean

            unknown = exc.message.startswith("No such command") and args and not args[0].startswith("-")
            close = did_you_mean(args[0], self.list_commands(ctx)) if unknown else ""
            message = exc.message.rstrip(".") + close if close else exc.message
            raise click.UsageError(f"{message} {_plugins_hint()}", exc.ctx) from None


class Group(_Resolving):
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

    def main(
        self,
        args: Any = None,
        prog_name: Any = None,
        complete_var: Any = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        warnings.formatwarning = one_line_warning  # the program's own process: a warning is one line
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            sys.stdout.flush()  # a full disk or closed pipe is reported here, not at interpreter exit
        except OSError as exc:  # a file or standard output that cannot be written
            _detach_stdout()
            where = exc.filename if exc.filename is not None else "standard output"
            click.echo(f"Error: cannot write {where}: {_one_line(exc.strerror or exc)}", err=True)
            sys.exit(1)
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

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *plugin_commands(self.commands)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or plugin_commands(self.commands, only=name).get(name)


def one_line_warning(message: Any, category: type, filename: str, lineno: int, line: Any = None) -> str:
    """``warning: <Category>: <message>`` on one line (no source line); ``-W ignore::<Category>`` and
    ``PYTHONWARNINGS`` select by that category."""
    return f"warning: {category.__name__}: {_one_line(message)}\n"


def _detach_stdout() -> None:
    """Point standard output at the null device, so the interpreter's last flush cannot fail again."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test runner's buffer)
        pass


def _plugins_hint() -> str:
    """Where commands come from, and which plugins are off (their commands are missing)."""
    from mlsysim_core.plugins import records

    off = [r for r in records() if r.status != "active"]
    why = {"disabled": "disabled by MLSYSIM_DISABLE_PLUGINS", "failed": "failed to load"}
    return (
        "Commands come from installed plugins (mlsysim plugins)"
        + "".join(f"; {r.name} ({r.distribution}) is {why.get(r.status, r.status)}" for r in off)
        + "."
    )


def plugin_commands(taken: Mapping[str, Any], sweep: bool = False, only: str | None = None) -> dict[str, click.Command]:
    """The commands of the ``mlsysim_cli_commands`` hook by name (``sweep``: the sweep of each
    SolverCommand; ``only``: just the command of that name, no other LazyCommand imported); a name
    already taken is skipped with a warning."""
    from mlsysim_core.plugins import PluginWarning

    out: dict[str, click.Command] = {}
    names: set[str] = set()
    for plugin, declaration in declared():
        if declaration.name in taken or declaration.name in names:
            warnings.warn(
                f"plugin {plugin!r} command {declaration.name!r} is already taken; skipped", PluginWarning, stacklevel=2
            )
            continue
        names.add(str(declaration.name))
        item = load(plugin, declaration) if only in (None, declaration.name) else None
        if item is None or (sweep and not isinstance(item, SolverCommand)):
            continue
        if isinstance(item, SolverCommand) and sweep:
            from .sweep import make_sweep_command  # not imported by a command that is not a sweep

            item = make_sweep_command(item)
        elif isinstance(item, SolverCommand):
            item = make_command(item)
        out[str(item.name)] = item
    return out


class SweepGroup(_Resolving):
    """``mlsysim sweep <command>`` for every SolverCommand a plugin declares."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(plugin_commands({}, sweep=True))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return plugin_commands({}, sweep=True, only=name).get(name)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mlsysim-core")
@click.option(
    "--catalog",
    "catalog_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE.toml",
    help="Also load this catalog file (highest priority); repeatable.",
)
def main(catalog_files: tuple) -> None:
    """mlsysim: answers about ML systems from datasheets and first-order equations.

    \b
    Example:
      mlsysim plugins
      mlsysim sweep --help
    """
    if catalog_files:
        from mlsysim_core.plugins import load_catalog

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
    from mlsysim_core.plugins import records, solvers

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
            [
                [
                    d["name"],
                    d["distribution"],
                    d["version"],
                    d["status"],
                    ", ".join(d["solvers"]) or ", ".join(p.replace("mlsysim_", "") for p in d["provides"]),
                    d["error"],
                ]
                for d in rows
            ],
        )

    emit(data, as_json, render)


@main.group("sweep", cls=SweepGroup, context_settings=CONTEXT)
def sweep_cmd() -> None:
    """Solve every combination of lists/ranges of one command's inputs; write CSV or JSON, mark the
    Pareto front, draw it. Every installed solver command has a sweep.

    \b
    Lists: a,b,c; integer ranges: 1..8, 1..256:x2 (geometric), 0..100:+25 (arithmetic).

    \b
    Example:
      mlsysim sweep COMMAND --help
      mlsysim sweep COMMAND --OPTION a,b,c --OTHER 1..64:x2 --csv out.csv --plot front.png
    """


def run() -> None:
    """The ``mlsysim`` program (the console script; tests and other callers use :data:`main`).

    The garbage collector is tuned for this short-lived process only, never in the library: imports and
    plugin loading allocate objects that live until exit, which the default thresholds (700, 10, 10)
    traverse again and again, and the interpreter's last collections traverse once more at exit.
    A young-generation threshold of 20,000 still collects cyclic garbage (memory stays bounded in long
    commands: sweep, simulate, ui, validate), and freezing at exit leaves the objects of the run to be
    freed by their reference counts. ``mlsysim serve Llama3_8B H100``: 575 M -> 531 M instructions
    (callgrind; bench/README.md, First answer)."""
    gc.set_threshold(20_000, 20, 20)
    try:
        main()
    finally:
        gc.freeze()
