"""Catalog files from strangers: every malformed, hostile or absurd file is a CatalogError naming
file, line, entry and field; nothing is executed; nothing is partially loaded.

(tests/test_catalog.py covers the first ten cases: malformed TOML, wrong/missing unit, zero, unknown
field, duplicate key, a code string, a bad reference, an unknown section, deep nesting.)
"""

from __future__ import annotations

import builtins
import os
import re

import pytest

import mlsysim
from mlsysim_core import plugins
from mlsysim_core.catalog import Entry
from mlsysim_core.errors import CatalogError, InvalidInputError
from mlsysim_core.plugins import PluginConflictWarning, PluginWarning, catalog
from mlsysim_registry.toml_files import MAX_ENTRIES, MAX_FILE_BYTES, read_file


def hw(pf: str = "1 TFLOP/s", cap: str = "1 GB", bw: str = "1 GB/s", extra: str = "") -> str:
    return (
        f'[hardware.X]\nname = "x"\npeak_flops = {{ fp16 = "{pf}" }}\n'
        f'memory = {{ capacity = "{cap}", bandwidth = "{bw}" }}\nsource = "s"\n{extra}'
    )


def model(extra: str, params: str = "1000") -> str:
    return (
        f'[models.M]\nname = "m"\nparameters = {params}\nlayers = 1\nhidden_dim = 8\nheads = 2\nsource = "s"\n{extra}'
    )


GRID = '[grids.G]\nname = "g"\ncarbon_intensity = "1 g/kWh"\nsource = "s"\n'
NODE = '[nodes.N]\nname = "n"\naccelerator = "H100"\naccelerators_per_node = 1\nsource = "s"\n'

# name: (file text, entry, field, line). Each must be a CatalogError "FILE:LINE: [section.ENTRY] field 'FIELD'".
ENTRY_ERRORS = {
    # numbers that are not finite, positive, or representable
    "nan": (hw(cap="nan GB"), "hardware.X", "capacity", 4),
    "inf": (hw(bw="inf TB/s"), "hardware.X", "bandwidth", 4),
    "overflow_1e400": (hw(cap="1e400 GB"), "hardware.X", "capacity", 4),
    "negative": (hw(pf="-1 TFLOP/s"), "hardware.X", "peak_flops.fp16", 3),
    "zero_bandwidth": (hw(bw="0 TB/s"), "hardware.X", "bandwidth", 4),
    "hex_number": (hw(cap="0x10 GB"), "hardware.X", "capacity", 4),
    "underscore_number": (hw(cap="1_000 GB"), "hardware.X", "capacity", 4),
    "arabic_digit": (hw(cap="\u0661 GB"), "hardware.X", "capacity", 4),
    # strings crafted to look like code or pint expressions
    "pint_power": (hw(cap="1 GB * 10**100"), "hardware.X", "capacity", 4),
    "parenthesised": (hw(cap="(1+1) GB"), "hardware.X", "capacity", 4),
    "divide_by_zero": (hw(bw="1 GB/0"), "hardware.X", "bandwidth", 4),
    "unit_power": (hw(cap="1 GB**2/GB"), "hardware.X", "capacity", 4),
    "dunder_import": (hw(cap="1 __import__('os').system('true')"), "hardware.X", "capacity", 4),
    "lambda": (hw(cap="(lambda: 1)() GB"), "hardware.X", "capacity", 4),
    "unit_overlong": (hw(cap="1 " + "G" * 300 + "B"), "hardware.X", "capacity", 4),
    # wrong or missing units
    "flops_for_bytes": (hw(cap="1 TFLOP"), "hardware.X", "capacity", 4),
    "unknown_unit": (hw(cap="1 blah"), "hardware.X", "capacity", 4),
    "no_unit": (hw(bw="100"), "hardware.X", "bandwidth", 4),
    "squared_seconds": (hw(bw="1 GB/s/s"), "hardware.X", "bandwidth", 4),
    # wrong TOML types
    "number_for_string": (hw().replace('name = "x"', "name = 5"), "hardware.X", "name", 2),
    "number_for_quantity": (hw().replace('capacity = "1 GB"', "capacity = 80"), "hardware.X", "capacity", 4),
    "list_for_table": (hw().replace('{ fp16 = "1 TFLOP/s" }', '["1 TFLOP/s"]'), "hardware.X", "peak_flops", 3),
    "table_for_string": (hw(extra="vendor = { a = 1 }\n"), "hardware.X", "vendor", 6),
    "string_for_table": (hw(extra='unit_cost = "100 USD"\n'), "hardware.X", "unit_cost", 6),
    "list_for_memory": (
        hw().replace("memory = {", "memory = [{").replace('GB/s" }', 'GB/s" }]'),
        "hardware.X",
        "memory",
        4,
    ),
    "datetime_for_quantity": (GRID.replace('"1 g/kWh"', "1979-05-27T07:32:00Z"), "grids.G", "carbon_intensity", 3),
    "string_for_pue": (GRID + 'typical_pue = "1.2"\n', "grids.G", "typical_pue", 5),
    "nan_pue": (GRID + "typical_pue = nan\n", "grids.G", "typical_pue", 5),
    "inf_oversubscription": (
        '[fabrics.F]\nname = "f"\nbandwidth = "1 GB/s"\noversubscription = inf\nsource = "s"\n',
        "fabrics.F",
        "oversubscription",
        4,
    ),
    "string_for_bool": (model('tied_embeddings = "yes"\n'), "models.M", "tied_embeddings", 8),
    "list_for_kind": (model('kind = ["cnn"]\n'), "models.M", "kind", 8),
    "list_for_default_precision": (hw(extra='default_precision = ["fp16"]\n'), "hardware.X", "default_precision", 6),
    # bool where int, float where int, int overflow in counts
    "bool_parameters": (model("", params="true"), "models.M", "parameters", 3),
    "float_parameters": (model("", params="1.5e9"), "models.M", "parameters", 3),
    "huge_parameters": (model("", params="99999999999999999999999"), "models.M", "parameters", 3),
    "int64_max_layers": (model("").replace("layers = 1", "layers = 9223372036854775807"), "models.M", "layers", 4),
    "huge_release_year": (hw(extra="release_year = 99999999999999999999\n"), "hardware.X", "release_year", 6),
    "zero_kv_heads": (model("kv_heads = 0\n"), "models.M", "kv_heads", 8),
    "heads_above_hidden": (model("").replace("heads = 2", "heads = 16"), "models.M", "heads", 6),
    "zero_node_count": (
        '[clusters.C]\nname = "c"\nnode = "DGX_H100"\ncount = 0\nsource = "s"\n',
        "clusters.C",
        "count",
        4,
    ),
    "negative_latency": (
        hw(extra='scale_up = { name = "l", bandwidth = "1 GB/s", latency = "-1 us" }\n'),
        "hardware.X",
        "latency",
        6,
    ),
    # unknown and missing fields
    "unknown_field": (hw(extra="colour = 'red'\n"), "hardware.X", "colour", 6),
    "unknown_subfield": (
        hw(extra='scale_up = { name = "l", bandwidth = "1 GB/s", eval = "x" }\n'),
        "hardware.X",
        "scale_up",
        6,
    ),
    "missing_link_name": (hw(extra='scale_up = { bandwidth = "1 GB/s" }\n'), "hardware.X", "scale_up", 6),
    "missing_component_fields": (NODE + 'components = [{ part = "gpu" }]\n', "nodes.N", "components", 6),
    "missing_required": ('[hardware.X]\nname = "x"\nsource = "s"\n', "hardware.X", "memory", 1),
    "unknown_precision": (hw().replace("fp16 =", "fp17 ="), "hardware.X", "peak_flops.fp17", 3),
    # references: missing, wrong type, self-referencing ("circular-looking")
    "missing_reference": (NODE.replace('"H100"', '"H1000"'), "nodes.N", "accelerator", 3),
    "list_reference": (NODE.replace('"H100"', '["H100"]'), "nodes.N", "accelerator", 3),
    "table_reference": (NODE.replace('"H100"', "{ key = 'H100' }"), "nodes.N", "accelerator", 3),
    "self_reference": (
        '[nodes.N]\nname = "n"\naccelerator = "N"\naccelerators_per_node = 1\nsource = "s"\n',
        "nodes.N",
        "accelerator",
        3,
    ),
    "cluster_of_itself": ('[clusters.C]\nname = "c"\nnode = "C"\ncount = 1\nsource = "s"\n', "clusters.C", "node", 3),
    "reference_to_wrong_section": (
        '[clusters.C]\nname = "c"\nnode = "H100"\ncount = 1\nsource = "s"\n',
        "clusters.C",
        "node",
        3,
    ),
    "missing_grid": (
        '[datacenters.D]\nname = "d"\ngrid = "Atlantis"\npue = 1.2\nwue = "1 L/kWh"\nsource = "s"\n',
        "datacenters.D",
        "grid",
        3,
    ),
    # metadata
    "unicode_alias": (hw(extra='aliases = ["\u0397100"]\n'), "hardware.X", "aliases", 6),
    "keyword_alias": (hw(extra='aliases = ["None"]\n'), "hardware.X", "aliases", 6),
    "category_not_identifier": (hw(extra='category = "1st"\n'), "hardware.X", "category", 6),
    "aliases_not_list": (hw(extra='aliases = "X2"\n'), "hardware.X", "aliases", 6),
}

# Errors about an entry as a whole (its key, its size, its strings): "FILE:LINE: [section.ENTRY]".
WHOLE_ENTRY_ERRORS = {
    "unicode_key": ('[hardware."\u0397100"]\nname = "x"\n', "hardware.\u0397100", "ASCII", 1),
    "accented_key": ('[grids."\u00e9"]\nname = "g"\n', "grids.\u00e9", "ASCII", 1),
    "fullwidth_key": ('[grids."\uff28100"]\nname = "g"\n', "grids.\uff28100", "ASCII", 1),
    "dunder_key": (GRID.replace("grids.G", "grids.__class__"), "grids.__class__", "reserved", 1),
    "keyword_key": (GRID.replace("grids.G", "grids.None"), "grids.None", "reserved", 1),
    "method_name_key": (GRID.replace("grids.G", "grids.get"), "grids.get", "reserved", 1),
    "long_key": (GRID.replace("grids.G", "grids." + "K" * 500), "grids." + "K" * 500, "limited to 100", 1),
    "long_string": (GRID.replace('name = "g"', 'name = "' + "a" * 30_000 + '"'), "grids.G", "longer than", 1),
    "terminal_escape": (
        GRID.replace('name = "g"', 'name = "\\u001b[2J\\u001b]0;pwned\\u0007"'),
        "grids.G",
        "control character",
        1,
    ),
    "nul_byte": (GRID.replace('source = "s"', 'source = "s\\u0000"'), "grids.G", "control character", 1),
    "deep_arrays": (GRID + "notes = [[[[[[[[[[1]]]]]]]]]]\n", "grids.G", "nested deeper", 1),
    "entry_not_table": ("[hardware]\nX = 1\n", "hardware.X", "must be a table", 1),
}

# Problems with the file itself: "FILE: ..." (with the TOML line where tomllib gives one).
FILE_ERRORS = {
    "malformed_toml": ("[hardware.X\nname = 1\n", r"not valid TOML.*line 1"),
    "duplicate_key": ('[grids.G]\nname = "a"\nname = "b"\n', r"not valid TOML.*line 3"),
    "duplicate_table": (GRID + GRID, r"not valid TOML.*line 5"),
    "bare_carriage_return": ('[grids.G]\nname = "g"\rsource = "s"\n', "not valid TOML"),
    "array_bomb": ("x = " + "[" * 50_000 + "]" * 50_000 + "\n", "nested too deeply"),
    "inline_table_bomb": ("x = " + "{a=" * 20_000 + "1" + "}" * 20_000 + "\n", "nested too deeply"),
    "dotted_key_bomb": ("[grids.G]\n" + ".".join(["a"] * 20_000) + " = 1\n", r":2: a dotted key of more than"),
    "unknown_section": ("[gpus.X]\nname = 'x'\n", "unknown section 'gpus'"),
    "section_not_table": ("hardware = [1, 2]\n", "section 'hardware' must be a table"),
    "top_level_scalar": ('name = "x"\n', "unknown section 'name'"),
    "not_utf8": (b'[grids.G]\nname = "\xff\xfe"\n', "cannot read"),
}


def _snapshot() -> tuple:
    cat = catalog()
    return (
        tuple(plugins.host()._user_files),
        tuple(sorted(((e.section, e.key), id(e.value)) for e in cat.all_entries())),
        id(mlsysim.Hardware.Cloud.H100),
    )


def _load_fails(path, match: str) -> CatalogError:
    before = _snapshot()
    with pytest.raises(CatalogError, match=match) as info:
        mlsysim.load_catalog(path)
    assert _snapshot() == before, "a failed load_catalog changed the catalog"
    return info.value


def _write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / f"{name}.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(ENTRY_ERRORS))
def test_bad_field_names_file_line_entry_and_field(case, tmp_path):
    text, entry, field, line = ENTRY_ERRORS[case]
    path = _write(tmp_path, case, text)
    err = _load_fails(path, re.escape(f"{path}:{line}: [{entry}] field '{field}'"))
    assert "Traceback" not in str(err)


@pytest.mark.parametrize("case", sorted(WHOLE_ENTRY_ERRORS))
def test_bad_entry_names_file_line_and_entry(case, tmp_path):
    text, entry, why, line = WHOLE_ENTRY_ERRORS[case]
    path = _write(tmp_path, case, text)
    err = _load_fails(path, re.escape(f"{path}:{line}: [{entry}]"))
    assert why in str(err)


@pytest.mark.parametrize("case", sorted(FILE_ERRORS))
def test_bad_file_names_the_file(case, tmp_path):
    text, match = FILE_ERRORS[case]
    path = _write(tmp_path, case, text)
    _load_fails(path, re.escape(str(path)) + ".*" + match)


def test_error_messages_are_short_even_for_huge_values(tmp_path):
    path = _write(tmp_path, "long_unit", hw(cap="1 " + "G" * 5000 + "B"))
    err = _load_fails(path, "capacity")
    assert len(str(err)) < 600


def test_oversized_file(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    _load_fails(path, re.escape(str(path)) + f".*limited to {MAX_FILE_BYTES}")


def test_too_many_entries(tmp_path):
    text = "".join(GRID.replace("grids.G", f"grids.G{i}") for i in range(MAX_ENTRIES + 1))
    path = _write(tmp_path, "many", text)
    _load_fails(path, f"more than {MAX_ENTRIES} entries")


def test_many_entries_read_in_linear_time(tmp_path):
    # A header lookup per entry over the whole text was quadratic (4000 entries took 16 s).
    text = "".join(GRID.replace("grids.G", f"grids.G{i}") for i in range(MAX_ENTRIES))
    entries = read_file(_write(tmp_path, "many", text))
    assert len(entries) == MAX_ENTRIES and entries[-1].line == 4 * MAX_ENTRIES - 3


@pytest.mark.parametrize("target", ["directory", "missing", "devnull", "fifo"])
def test_not_a_regular_file(target, tmp_path):
    path = {
        "directory": tmp_path / "dir.toml",
        "missing": tmp_path / "nope.toml",
        "devnull": tmp_path / "null.toml",
        "fifo": tmp_path / "pipe.toml",
    }[target]
    if target == "directory":
        path.mkdir()
    if target == "devnull":
        path.symlink_to(os.devnull)
    if target == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        os.mkfifo(path)  # reading it would block forever
    _load_fails(path, re.escape(str(path)) + ": (not a regular file|cannot read)")


def test_a_suffix_no_plugin_reads(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text("hardware: {}")
    _load_fails(path, re.escape(str(path)) + r": no plugin reads \.yaml catalog files \(readers: \.toml\)")


@pytest.mark.parametrize("bad", [None, 42, ["a.toml"], b"a.toml"])
def test_path_of_wrong_type(bad):
    before = _snapshot()
    with pytest.raises(InvalidInputError, match="path="):
        mlsysim.load_catalog(bad)
    assert _snapshot() == before


def test_path_with_nul_byte():
    _load_fails("a\x00b.toml", "cannot read")


def test_nothing_is_executed(tmp_path):
    """Code-looking strings are data: no eval/exec/compile call and no side effect happens."""
    marker = tmp_path / "pwned"
    payloads = [
        f"__import__('pathlib').Path({str(marker)!r}).touch()",
        f"1 GB; open({str(marker)!r}, 'w')",
        "{{7*7}} GB",
        "${HOME} GB",
        "`touch pwned` GB",
        "1 GB # \n __import__('os')",
        "1 GB\n[x]\neval = 1",
    ]
    catalog()
    # A catalog() served from the cache imports no table parser: a first load imports (and pytest compiles)
    # them. Do that before the traps go in, which watch the parsing of data, not Python importing a module.
    with pytest.raises(CatalogError):
        mlsysim.load_catalog(_write(tmp_path, "warm_up", hw(cap="1 parsec")))
    calls: list[str] = []
    saved = {name: getattr(builtins, name) for name in ("eval", "exec", "compile")}

    def trap(name):
        def refuse(*args, **kwargs):
            calls.append(f"{name}{args[:1]!r}")
            raise AssertionError(f"{name} called while loading a catalog")

        return refuse

    errors = []
    try:
        for name in saved:
            setattr(builtins, name, trap(name))
        for i, payload in enumerate(payloads):
            path = _write(
                tmp_path, f"payload{i}", hw(cap=payload.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
            )
            try:
                mlsysim.load_catalog(path)
            except CatalogError as exc:
                errors.append(str(exc))
    finally:
        for name, fn in saved.items():
            setattr(builtins, name, fn)
    assert calls == []
    assert not marker.exists()
    assert len(errors) == len(payloads) and all("'capacity'" in e for e in errors), errors


def test_one_bad_entry_loads_nothing_from_the_file(tmp_path):
    text = (
        GRID.replace("grids.G", "grids.GoodGrid")
        + hw().replace("hardware.X", "hardware.GoodChip")
        + GRID.replace("grids.G", "grids.BadGrid").replace('"1 g/kWh"', '"-1 g/kWh"')
    )
    path = _write(tmp_path, "mixed", text)
    _load_fails(path, re.escape(f"{path}:12: [grids.BadGrid] field 'carbon_intensity'"))
    assert "GoodGrid" not in mlsysim.Infra.Grids and "GoodChip" not in mlsysim.Hardware


def test_failed_override_keeps_the_default(tmp_path):
    h100 = mlsysim.Hardware.Cloud.H100
    path = _write(tmp_path, "override", hw(bw="nan TB/s").replace("hardware.X", "hardware.H100"))
    _load_fails(path, r"\[hardware.H100\] field 'bandwidth'")
    assert mlsysim.Hardware.Cloud.H100 is h100


def test_second_failed_file_keeps_the_first(tmp_path, fresh_host):
    fresh_host()
    good = _write(tmp_path, "good", GRID.replace("grids.G", "grids.UserGrid"))
    mlsysim.load_catalog(good)
    bad = _write(tmp_path, "bad", NODE.replace('"H100"', '"Nope"'))
    _load_fails(bad, "accelerator")
    assert mlsysim.Infra.Grids.UserGrid.name == "g"


def test_alias_shadowed_by_a_key_warns(tmp_path, fresh_host):
    fresh_host()
    path = _write(tmp_path, "alias", hw(extra='aliases = ["H100"]\ncategory = "Cloud"\n'))
    with pytest.warns(PluginConflictWarning, match="alias 'H100'"):
        mlsysim.load_catalog(path)
    assert mlsysim.Hardware.H100.name != "x" and mlsysim.Hardware.X.name == "x"


def test_valid_file_with_unicode_text_loads(tmp_path, fresh_host):
    """Hardening does not refuse honest data: non-ASCII names and notes, comments, blank units."""
    fresh_host()
    text = (
        hw(cap="96 GB", bw="4 TB/s").replace('name = "x"', 'name = "Gr\u00e4fik \u2013 \u00b5-chip"')
        + 'notes = "tab\\there, newline\\nthere"  # a comment\n'
    )
    (entry,) = mlsysim.load_catalog(_write(tmp_path, "ok", text))
    assert entry.value.name.startswith("Gr\u00e4fik") and entry.line == 1


def test_plugin_entry_with_bad_key_fails_only_that_plugin(fake_dists, fresh_host):
    fake_dists(
        "mlsysim-sneaky",
        "sneaky",
        """
        from mlsysim_core import hookimpl
        from mlsysim_core.catalog import Entry
        from mlsysim_core.types import GridProfile
        @hookimpl
        def mlsysim_catalog_entries():
            g = GridProfile(name="g", carbon_intensity="1 g/kWh", source="s")
            return [Entry(section="grids", key="\u0051uebec\u200b", value=g)]
    """,
    )
    host = fresh_host()
    with pytest.warns(PluginWarning, match="sneaky"):
        cat = catalog()
    assert {r.name: r for r in host.records()}["sneaky"].status == "failed"
    assert cat.Infra.Grids.Quebec.name  # the default catalog is untouched


def test_entry_validates_keys_and_aliases():
    g = mlsysim.Infra.Grids.Quebec
    for key in ("\u0397100", "None", "_private", "get", "x" * 101, "a b"):
        with pytest.raises(InvalidInputError):
            Entry(section="grids", key=key, value=g)
        with pytest.raises(InvalidInputError):
            Entry(section="grids", key="Fine", value=g, aliases=(key,))
