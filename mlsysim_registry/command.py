"""``mlsysim catalog``: list entries (all, or one section), ``--check``, ``catalog provenance`` (numbers per
tier) and ``catalog import-hf``.

The default catalog provides this command through the ``mlsysim_cli_commands`` hook (``provider.py``)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import click

from mlsysim_cli.api import CliError, emit, table

_SECTION_GROUPS = {
    "hardware": ("hardware",),
    "models": ("models",),
    "systems": ("fabrics", "nodes", "clusters", "storage"),
    "infra": ("grids", "datacenters"),
}


def _summary(e: Any) -> str:
    v = e.value
    if e.section == "hardware":
        peak, memory = v.compute.peak_flops.to("TFLOP/s"), v.memory
        return (
            f"{peak:~.4gP} {v.compute.default_precision}, {memory.capacity.to('GB'):~.4gP}, "
            f"{memory.bandwidth.to('TB/s'):~.4gP}"
        )
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
    if e.section == "storage":
        bw = [
            f"{q.to('GB/s'):~.4gP}{what}"
            for q, what in ((v.write_bandwidth, " aggregate"), (v.node_write_bandwidth, " per node"))
            if q is not None
        ]
        return f"{v.kind}, write " + ", ".join(bw)
    return ""


def _list(section: str | None, as_json: bool, check: bool) -> None:
    from mlsysim_core.catalog import USER
    from mlsysim_core.errors import PluginConflictWarning, PluginWarning
    from mlsysim_core.plugins import catalog, records

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cat = catalog()
    # an override (one provider's entry shadowing another's) is intended: reported, not a problem
    overrides = [str(w.message) for w in caught if issubclass(w.category, PluginConflictWarning)]
    replaced = [  # by the user's own catalog files: intended, so listed by --check only, never warned
        f"{e.section} entry {e.key!r} from {e.file} replaces the one from {lost[2]}"
        for e, lost in cat.shadowed
        if e.provider == USER
    ]
    problems = [
        str(w.message)
        for w in caught
        if issubclass(w.category, PluginWarning) and not issubclass(w.category, PluginConflictWarning)
    ]
    sections = _SECTION_GROUPS[section] if section else tuple(s for g in _SECTION_GROUPS.values() for s in g)
    data = [
        {
            "section": e.section,
            "key": e.key,
            "category": e.category,
            "name": e.value.name,
            "aliases": list(e.aliases),
            "provider": e.provider,
            "file": e.file,
            "line": e.line,
            "summary": _summary(e),
        }
        for s in sections
        for e in cat.entries[s].values()
    ]
    if check:
        from mlsysim_core.errors import CatalogError

        from .prices import rentals

        try:
            rentals()
        except CatalogError as exc:
            problems.append(str(exc))
        failed = [r for r in records() if r.status == "failed"]
        for r in failed:
            problems.append(f"plugin {r.name} failed: {r.error}")
        emit(
            {"entries": len(data), "problems": problems, "overrides": overrides + replaced},
            as_json,
            lambda d: (
                "\n".join(d["problems"])
                or "\n".join([f"catalog OK: {d['entries']} entries", *(f"override: {o}" for o in d["overrides"])])
            ),
        )
        if problems:
            sys.exit(1)
        return
    emit(
        data,
        as_json,
        lambda rows: table(
            ["section", "key", "category", "name", "summary", "provider"],
            [[d["section"], d["key"], d["category"], d["name"], d["summary"], d["provider"]] for d in rows],
        ),
    )
    for p in problems + overrides:
        click.echo(f"warning: {p}", err=True)


_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
_check = click.option("--check", is_flag=True, help="Validate every catalog entry and report problems (exit 1 if any).")


@click.group("catalog", invoke_without_command=True)
@_json
@_check
@click.pass_context
def catalog_cmd(ctx: click.Context, as_json: bool, check: bool) -> None:
    """List catalog entries with where each came from (provider and file:line).

    Without a subcommand every section is listed; `hardware`, `models`, `systems` and `infra` list
    one; `import-hf` turns a Hugging Face config.json into a catalog entry.

    \b
    Example:
      mlsysim catalog hardware
      mlsysim catalog models --json
      mlsysim catalog --check
    """
    if ctx.invoked_subcommand is None:
        _list(None, as_json, check)


def _section_command(section: str) -> click.Command:
    @click.command(
        section,
        help=f"List the {section} section ({', '.join(_SECTION_GROUPS[section])}).\n\n"
        f"\b\nExample:\n  mlsysim catalog {section} --json",
    )
    @_json
    @_check
    @click.pass_context
    def cmd(ctx: click.Context, as_json: bool, check: bool) -> None:
        parent = ctx.parent.params if ctx.parent else {}
        _list(section, as_json or parent.get("as_json", False), check or parent.get("check", False))

    return cmd


for _s in _SECTION_GROUPS:
    catalog_cmd.add_command(_section_command(_s))


@catalog_cmd.command("prices")
@_json
def prices_cmd(as_json: bool) -> None:
    """List the rental price catalog: per accelerator-hour list prices by term, with the date read.

    A term a source does not give shows "-". Each rental's full source: --json.

    \b
    Example:
      mlsysim catalog prices
      mlsysim cost Research_256 --days 30 --datacenter Quebec --rent aws-p5
    """
    from .prices import TERMS, rentals

    data = [
        {
            "key": r.key,
            "provider": r.provider,
            "instance": r.instance,
            "accelerator": r.accelerator,
            "gpus": r.gpus,
            "region": r.region,
            "currency": r.currency,
            **{t: None if getattr(r, t) is None else float(getattr(r, t).to("USD/h").magnitude) for t in TERMS},
            "date": r.date,
            "source": r.source,
        }
        for r in rentals().values()
    ]
    emit(
        data,
        as_json,
        lambda rows: (
            "USD per accelerator-hour\n"
            + table(
                ["key", "provider", "instance", "accelerators", "region", *TERMS, "date read"],
                [
                    [
                        d["key"],
                        d["provider"],
                        d["instance"],
                        f"{d['gpus']} x {d['accelerator']}",
                        d["region"],
                        *("-" if d[t] is None else f"{d[t]:g}" for t in TERMS),
                        d["date"],
                    ]
                    for d in rows
                ],
            )
        ),
    )


def _tier_counts() -> list[dict]:
    """Per catalog section: entries, numbers, and numbers per provenance tier (untiered: a third-party or
    user entry's numbers without one); rental prices are all dated list-price quotes (datasheet)."""
    from mlsysim_core.catalog import SECTIONS
    from mlsysim_core.plugins import catalog
    from mlsysim_uncertainty.provenance import TIERS, numbers

    from .prices import TERMS, rentals
    from .tables import _written
    from .toml_files import read_file

    raws: dict[str, dict] = {}
    rows = []
    for section in SECTIONS:
        counts = dict.fromkeys((*TIERS, "untiered"), 0)
        entries = list(catalog().entries[section].values())
        for e in entries:
            if e.file not in raws:
                raws[e.file] = {(r.section, r.key): r for r in read_file(e.file)}
            given = numbers(e.value, _written(raws[e.file][(section, e.key)].table))
            for path, _, _ in given.values():
                counts[e.value.provenance[path][0] if path in e.value.provenance else "untiered"] += 1
        rows.append({"section": section, "entries": len(entries), "numbers": sum(counts.values()), **counts})
    quotes = rentals().values()
    prices = sum(1 + sum(getattr(r, t) is not None for t in TERMS) for r in quotes)
    rows.append(
        {
            "section": "prices",
            "entries": len(quotes),
            "numbers": prices,
            **dict.fromkeys(TIERS, 0),
            "datasheet": prices,
            "untiered": 0,
        }
    )
    return rows


@catalog_cmd.command("provenance")
@_json
def provenance_cmd(as_json: bool) -> None:
    """Count the catalog's numbers per provenance tier, section by section (mlsysim_registry/SCHEMA.md).

    \b
    Example:
      mlsysim catalog provenance
    """
    from mlsysim_uncertainty.provenance import TIERS

    columns = ["section", "entries", "numbers", *TIERS, "untiered"]
    emit(_tier_counts(), as_json, lambda rows: table(columns, [[str(d[c]) for c in columns] for d in rows]))


@catalog_cmd.command("import-hf")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option(
    "--name", "key", help="Catalog key of the entry (an identifier); default: from the config's name or folder."
)
@click.option("--display-name", help="Human-readable name (default: the key).")
@click.option("--category", default="Language", show_default=True, help="Catalog category.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write the entry to this TOML file (appended if it exists); default: print it.",
)
@click.option("--expect-params", type=float, help="Parameter count to check against (e.g. 8.03e9); warns beyond 2%.")
@click.option("--json", "as_json", is_flag=True, help="Print the derived fields, counts and breakdown as JSON.")
def import_hf(
    config: str,
    key: str | None,
    display_name: str | None,
    category: str,
    output: str | None,
    expect_params: float | None,
    as_json: bool,
) -> None:
    """Turn a Hugging Face config.json (a local file) into a catalog entry (kind transformer).

    The parameter count is derived from the geometry (embedding, attention with GQA or MLA, gated
    or plain FFN, MoE experts, norms, LM head) and printed; it is compared with the config's
    num_parameters or --expect-params, warning beyond 2%. Load the file with
    `mlsysim --catalog FILE ...` or `mlsysim.load_catalog(FILE)`.

    \b
    Example:
      mlsysim catalog import-hf ./Llama-3.1-8B/config.json --name MyLlama -o lab.toml
    """
    from mlsysim_core.catalog import key_problem

    from . import hf

    cfg = hf.read_config(config)
    model = hf.from_config(cfg)
    key = key or hf.suggest_key(cfg, config)
    why = key_problem(key)
    if why:
        raise CliError("--name", f"{key!r} cannot be a catalog key: {why}")
    fields = {
        "category": category,
        **{"kind": model.fields["kind"]},
        "name": display_name or key,
        **{k: v for k, v in model.fields.items() if k != "kind"},
        "source": f"Hugging Face config.json ({Path(config).name}); parameters derived from the geometry by "
        f"mlsysim catalog import-hf",
    }
    # printed or --json, the entry must load too (kv_heads 7 of 32 heads was printed, refused only with -o)
    entry = f"the entry from {Path(config).name}"
    _validate(hf.to_toml(key, fields), "import-hf.toml", key, entry, flag="CONFIG", done="nothing was written")
    expected = int(expect_params) if expect_params is not None else None
    if expected is not None and expected <= 0:
        raise CliError("--expect-params", f"{expect_params!r} is invalid: expected a positive count")
    diff = model.mismatch(expected)
    ref = expected if expected is not None else model.stated_parameters
    if as_json:
        emit(
            {
                "key": key,
                "fields": fields,
                "parameters": model.parameters,
                "active_parameters": model.active_parameters,
                "breakdown": model.breakdown,
                "expected_parameters": ref,
                "relative_difference": diff,
            },
            True,
            str,
        )
    click.echo(
        f"derived parameters: {model.parameters:,} ({model.parameters / 1e9:.4g} B)"
        + (f", active {model.active_parameters:,}" if model.active_parameters != model.parameters else ""),
        err=True,
    )
    if diff is not None:
        line = f"expected {ref:,}: derived differs by {diff:+.2%}"
        if abs(diff) > hf.TOLERANCE:
            click.echo(
                f"warning: {line} (more than {hf.TOLERANCE:.0%}); check the geometry or the expected count", err=True
            )
        else:
            click.echo(f"check: {line} (within {hf.TOLERANCE:.0%})", err=True)
    if as_json:
        return
    if output:
        path = Path(output)
        text = hf.to_toml(key, fields, sectioned=path.name != "models.toml")
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        combined = old + ("" if not old or old.endswith("\n\n") else "\n") + text
        _validate(combined, path.name, key, str(path))  # nothing is written unless the whole file still loads
        path.write_text(combined, encoding="utf-8")
        click.echo(f"wrote [models.{key}] to {path}", err=True)
    else:
        click.echo(hf.to_toml(key, fields), nl=False)


def _validate(
    text: str, filename: str, key: str, shown: str, flag: str = "--output", done: str = "the file was not changed"
) -> None:
    """Parse and build ``text`` as catalog file ``filename``; raise CatalogError naming the problem."""
    import tempfile

    from mlsysim_core.errors import CatalogError

    from .tables import build_entry
    from .toml_files import read_file

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp) / filename
        tmp_path.write_text(text, encoding="utf-8")
        try:
            for raw in read_file(tmp_path):
                if raw.section == "models" and raw.key == key:
                    build_entry(raw, {}, "import-hf")
        except CatalogError as exc:  # name the user's file, not the scratch copy; nothing was written
            raise CliError(flag, str(exc).replace(str(tmp_path), shown) + f"; {done}") from None
