"""The ``mlsysim`` command line (click: small, well-kept, already a pip dependency of many tools).

Exit codes: 0 ok, 1 bad input (a one-line message, no traceback), 2 infeasible with ``--strict``.
Plugins add subcommands through the ``mlsysim_cli_commands`` hook.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any, Iterable, Sequence

import click

from .errors import MlsysimError


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain aligned text table."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join([line, rule, *body])


def emit(data: Any, as_json: bool, render: Any) -> None:
    """Print ``data`` as JSON or through ``render`` (a function returning text)."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(render(data))


class Group(click.Group):
    """Turns mlsysim errors into one-line messages with exit code 1, and adds plugin commands."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MlsysimError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    def _plugin_commands(self) -> dict[str, click.Command]:
        from .plugins import PluginWarning, host

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


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlsysim-core")
def main() -> None:
    """mlsysim: answers about ML systems from datasheets and first-order equations.

    \b
    Example:
      mlsysim plugins
      mlsysim catalog hardware
    """


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_cmd(as_json: bool) -> None:
    """List installed plugins: name, distribution, version, status, what each provides, errors.

    \b
    Example:
      MLSYSIM_DISABLE_PLUGINS=serving mlsysim plugins --json
    """
    from .plugins import records, solvers

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


_SECTION_GROUPS = {
    "hardware": ("hardware",),
    "models": ("models",),
    "systems": ("fabrics", "nodes", "clusters"),
    "infra": ("grids", "datacenters"),
}


def _summary(e: Any) -> str:
    v = e.value
    if e.section == "hardware":
        return f"{v.compute.peak_flops.to('TFLOP/s'):~.4gP} {v.compute.default_precision}, {v.memory.capacity.to('GB'):~.4gP}, {v.memory.bandwidth.to('TB/s'):~.4gP}"
    if e.section == "models":
        return f"{v.parameters / 1e9:.4g} B params, {v.architecture}"
    if e.section == "nodes":
        return f"{v.accelerators_per_node} x {v.accelerator.name}"
    if e.section == "clusters":
        return f"{v.count} x {v.node.name} = {v.total_accelerators} accelerators"
    if e.section == "fabrics":
        return f"{v.bandwidth.to('Gbit/s'):~.4gP}"
    if e.section == "grids":
        return f"{v.carbon_intensity:~.4gP}"
    if e.section == "datacenters":
        return f"PUE {v.pue}, on {v.grid.name}"
    return ""


@main.command("catalog")
@click.argument("section", required=False, type=click.Choice(sorted(_SECTION_GROUPS)))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--check", is_flag=True, help="Validate every catalog entry and report problems (exit 1 if any).")
def catalog_cmd(section: str | None, as_json: bool, check: bool) -> None:
    """List catalog entries with where each came from (provider and file:line).

    \b
    Example:
      mlsysim catalog hardware
      mlsysim catalog models --json
    """
    from .catalog import catalog
    from .plugins import PluginWarning, records

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cat = catalog()
    problems = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    sections = _SECTION_GROUPS[section] if section else tuple(s for g in _SECTION_GROUPS.values() for s in g)
    data = [
        {"section": e.section, "key": e.key, "category": e.category, "name": e.value.name,
         "aliases": list(e.aliases), "provider": e.provider, "file": e.file, "line": e.line,
         "summary": _summary(e)}
        for s in sections for e in cat.entries[s].values()
    ]
    if check:
        failed = [r for r in records() if r.status == "failed"]
        for r in failed:
            problems.append(f"plugin {r.name} failed: {r.error}")
        emit({"entries": len(data), "problems": problems}, as_json,
             lambda d: "\n".join(d["problems"]) or f"catalog OK: {d['entries']} entries")
        if problems:
            sys.exit(1)
        return
    emit(data, as_json, lambda rows: table(
        ["section", "key", "category", "name", "summary", "provider"],
        [[d["section"], d["key"], d["category"], d["name"], d["summary"], d["provider"]] for d in rows]))
    for p in problems:
        click.echo(f"warning: {p}", err=True)
