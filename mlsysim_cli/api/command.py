"""Declaring a solver's command: the public API solver plugins use (guide: docs/cli.md).

A plugin returns :class:`SolverCommand` declarations from its ``mlsysim_cli_commands`` hook; the host
builds ``mlsysim <name>`` (one configuration: a table, ``--json``, ``--csv``, ``--all``, ``--strict``,
``--plot``) and ``mlsysim sweep <name>`` (lists and ranges on the vectorized sweep engine, the Pareto
front, CSV/JSON, ``--plot``) from each. Catalog names resolve with :func:`lookup`. Only click and the
standard library are imported here: declaring a command costs nothing at start-up.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from mlsysim_core.errors import MlsysimError

from ._out import cell, table

__all__ = [
    "Param",
    "SolverCommand",
    "CliError",
    "lookup",
    "option_names",
    "recorded",
    "solver_class",
    "check_output",
    "load_result",
    "load_rows",
    "RecordedResult",
    "KINDS",
    "PRECISIONS",
]

#: catalog sections each kind of name resolves against (in order), and how to list them
SECTIONS = {
    "model": (("models",), "models"),
    "hardware": (("hardware",), "hardware"),
    "cluster": (("clusters",), "systems"),
    "datacenter": (("datacenters", "grids"), "infra"),
    "storage": (("storage",), "systems"),
}
#: every parameter kind: catalog names, then plain values
KINDS = frozenset(SECTIONS) | {"int", "float", "str", "choice", "bool", "result", "rows"}
#: the precisions of ``mlsysim_core.types.PRECISION_BYTES`` (without importing pint), for choice parameters
PRECISIONS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp6", "fp4", "int8", "int4")
OPTIONS_KEY = "mlsysim.options"


class CliError(MlsysimError):
    """Bad command-line input; the message starts with the option or argument it concerns."""

    def __init__(self, option: str, message: str):
        self.option = option
        super().__init__(f"{option}: {message}")


def comma_items(flag: str, text: str) -> list[str]:
    """The stripped items of the comma list ``text`` given to ``flag``; an empty list or an empty item
    ('1,,2', '1,2,': a value meant and lost, not one to drop) is refused, naming ``flag``."""
    items = [s.strip() for s in str(text).split(",")]
    if not any(items):
        raise CliError(flag, f"{text!r} is empty: expected a comma-separated list")
    if "" in items:
        raise CliError(flag, f"{text!r} has an empty item: expected a comma-separated list like a,b,c")
    return items


@dataclass(frozen=True)
class Param:
    """One parameter of a solver command.

    ``name``: the solver keyword. ``flag``: ``"--batch-size"`` (an option) or ``"MODEL"`` (a positional
    argument of ``mlsysim <cmd>``; ``--model`` in ``mlsysim sweep <cmd>``). ``kind``: ``model``,
    ``hardware``, ``cluster``, ``datacenter``, ``storage`` (catalog names, resolved by :func:`lookup`), ``int``,
    ``float``, ``str``, ``choice`` (one of ``choices``), ``bool`` (``on``/``off``, the solver gets
    True/False), ``result`` (a ``--json`` file) or ``rows`` (a CSV or JSON file of numeric rows, the
    solver gets a list of tuples of floats: :func:`load_rows`). ``unit``: an int/float the solver receives as a
    Quantity in this unit. ``modifies``/``apply``: a value that is not a solver keyword but changes
    another parameter's value: the solver gets ``apply(value of modifies, this value)``. ``excludes``: names of
    parameters this one replaces (``--gpus`` sets the cluster's size as ``--nodes`` does): both given is an error.
    """

    name: str
    flag: str
    kind: str = "str"
    default: Any = None
    required: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()
    unit: str | None = None
    modifies: str | None = None
    apply: Callable[[Any, Any], Any] | None = None
    excludes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Param {self.name!r}: kind {self.kind!r} is not one of {', '.join(sorted(KINDS))}")
        if self.kind == "bool" and not self.choices:
            object.__setattr__(self, "choices", ("on", "off"))
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"Param {self.name!r}: kind 'choice' needs choices")
        if self.positional and not self.required:
            raise ValueError(f"Param {self.name!r}: a positional parameter ({self.flag}) must be required")
        if (self.modifies is None) != (self.apply is None):
            raise ValueError(f"Param {self.name!r}: give modifies and apply together")
        if self.unit is not None and self.kind not in ("int", "float"):
            raise ValueError(f"Param {self.name!r}: a unit needs kind int or float")

    @property
    def positional(self) -> bool:
        return not self.flag.startswith("-")

    @property
    def sweep_flag(self) -> str:
        """The option in ``mlsysim sweep``: positional MODEL/HARDWARE/CLUSTER become --model/--hardware/--cluster."""
        return "--" + self.flag.lower() if self.positional else self.flag

    def convert(self, v: Any, flag: str | None = None) -> tuple[Any, Any]:
        """(what ``inputs`` echoes, what the solver gets) for one parsed value; errors name ``flag``."""
        if self.kind in SECTIONS:
            return v if isinstance(v, tuple) else lookup(self.kind, v, flag or self.flag)
        if self.kind == "bool":
            return v, v == "on"
        if self.kind == "result":
            return v, load_result(v, flag or self.flag)
        if self.kind == "rows":
            return v, load_rows(v, flag or self.flag)
        if self.unit is not None:
            from mlsysim_core.units import Q_

            return v, Q_(v, self.unit)
        return v, v


class RecordedResult:
    """A result read back from ``mlsysim <command> --json`` output: each field as ``to_dict()`` wrote it,
    values with units as Quantities, so a consumer reads it as it reads the solver's own result. With
    ``corners`` (the document's ``band_corners``: a ``--bands`` answer's fast and slow corner results)
    its ``bands`` carry them, so a consumer asked for bands solves at them (``--from run.json --bands``)."""

    def __init__(self, solver: str, fields: dict, corners: list | None = None):
        from mlsysim_core.units import Q_

        self.solver = solver
        self._names = list(fields)
        for k, v in fields.items():
            quantity = isinstance(v, dict) and set(v) == {"value", "unit"} and v["value"] is not None
            setattr(self, k, Q_(v["value"], v["unit"]) if quantity else v)
        if corners:
            from mlsysim_uncertainty.bands import Bands

            fast, slow = (RecordedResult(solver, {k: v for k, v in c.items() if k != "solver"}) for c in corners)
            self.bands = Bands.recorded(fields.get("bands", {}), (fast, slow))

    def fields(self) -> list[str]:
        return list(self._names)

    def __repr__(self) -> str:
        return f"<RecordedResult from {self.solver}>"


def load_result(path: str, flag: str) -> RecordedResult:
    """The result in a JSON file ``mlsysim <command> --json`` wrote (``{"solver", "inputs", "result"}``)."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise CliError(flag, f"cannot read {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CliError(flag, f"{path} is not JSON ({' '.join(str(exc).split())})") from None
    res = doc.get("result") if isinstance(doc, dict) else None
    if not isinstance(res, dict) or not isinstance(res.get("solver"), str):
        raise CliError(
            flag, f'{path} is not a result: expected the {{"solver", "inputs", "result"}} of mlsysim <command> --json'
        )
    corners = doc.get("band_corners")
    if corners is not None and not (
        isinstance(corners, list) and len(corners) == 2 and all(isinstance(c, dict) for c in corners)
    ):
        raise CliError(
            flag, f"{path}: band_corners must be the two corner results mlsysim <command> --bands --json wrote"
        )
    return RecordedResult(res["solver"], {k: v for k, v in res.items() if k != "solver"}, corners)


def load_rows(path: str, flag: str) -> list[tuple[float, ...]]:
    """The numeric rows of a file: a JSON array of arrays (a ``.json`` name) or CSV, whose first line
    may be a header. The solver checks their shape and values."""
    import csv
    import json

    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    except OSError as exc:
        raise CliError(flag, f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(flag, f"{path} is not a text file") from None
    if path.lower().endswith(".json"):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CliError(flag, f"{path} is not JSON ({' '.join(str(exc).split())})") from None
    else:
        rows = [r for r in csv.reader(text.splitlines()) if any(cell.strip() for cell in r)]
        if rows and not _numbers(rows[0]):
            rows = rows[1:]  # the header line
    if not isinstance(rows, list) or not all(isinstance(r, list) and _numbers(r) for r in rows):
        raise CliError(
            flag, f"{path}: expected rows of numbers (CSV with an optional header line, or a JSON array of arrays)"
        )
    return [tuple(float(x) for x in r) for r in rows]


def _numbers(row: list) -> bool:
    """Every cell of ``row`` reads as a number (JSON numbers or CSV text; not JSON true/false)."""
    for x in row:
        if isinstance(x, bool):
            return False
        try:
            float(x)
        except (TypeError, ValueError):
            return False
    return True


#: a single-result plot: (result, solver keyword arguments) -> matplotlib Figure
PlotHook = Callable[[Any, dict], Any]
#: a sweep plot: (points, varied inputs, objectives) -> Figure, or None for the default Pareto plot
SweepPlotHook = Callable[[list, list, tuple], Any]


@dataclass(frozen=True)
class View:
    """An extra table the flag ``flag`` (e.g. ``"--by-cause"``) adds below the answer:
    ``rows(result)`` returns ``(header, rows)``."""

    flag: str
    help: str
    rows: Callable[[Any], tuple[list, list]]

    @property
    def name(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class SolverCommand:
    """``mlsysim <name>`` and ``mlsysim sweep <name>`` for the solver registered as ``solver``.

    ``summary``: the question the command answers (one line). ``example``/``sweep_example``: a command
    line each help page shows. ``key_fields``: result fields the table shows (every one: ``--all``).
    ``pareto``: the default two objectives of sweeps, ``((field, "min"|"max"), (field, "min"|"max"))``
    (inputs count as fields). ``strict``: the solver keyword ``--strict`` sets to True (it must raise
    ``InfeasibleError``). ``title``: ``title(result, inputs)``, the table's heading. ``plot``: draws one
    result (adds ``--plot``); ``sweep_plot``: draws a sweep (default: the Pareto front). ``views``:
    :class:`View` tables a flag adds to the single command's text answer. ``key_fields_of``: the key fields of one
    result where they depend on it (``key_fields_of(result)``, a result or its ``to_dict()`` as a sweep holds it,
    e.g. serving under traffic leaves out the static batch's latencies; default: ``key_fields``). ``pareto_of``: the
    default objectives where they depend on the inputs (``pareto_of(axes)``, solver keyword -> values; default:
    ``pareto``). ``refuse``: warning class name (of the solver's module) -> option: a warning of that class
    is an error naming the option (exit 1; the warning's ``refusal`` text, else its message), where the command line
    must not price what Python only warns about.
    """

    name: str
    solver: str
    summary: str
    example: str
    sweep_example: str
    params: tuple[Param, ...]
    pareto: tuple[tuple[str, str], tuple[str, str]]
    key_fields: tuple[str, ...] = ()
    strict: str | None = None
    title: Callable[[Any, dict], str] | None = None
    plot: PlotHook | None = None
    sweep_plot: SweepPlotHook | None = None
    views: tuple[View, ...] = ()
    key_fields_of: Callable[[Any], tuple[str, ...]] | None = None
    pareto_of: Callable[[dict], tuple[tuple[str, str], tuple[str, str]]] | None = None
    refuse: tuple[tuple[str, str], ...] = ()
    _by_name: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {p.name: p for p in self.params})
        if len(self._by_name) != len(self.params):
            raise ValueError(f"command {self.name!r}: two parameters share a name")
        bad = [p.modifies for p in self.params if p.modifies is not None and p.modifies not in self._by_name]
        if bad:
            raise ValueError(f"command {self.name!r}: modifies {bad[0]!r}, which is not one of its parameters")
        bad = [x for p in self.params for x in p.excludes if x not in self._by_name]
        if bad:
            raise ValueError(f"command {self.name!r}: excludes {bad[0]!r}, which is not one of its parameters")
        if len(self.pareto) != 2 or any(s not in ("min", "max") for _, s in self.pareto):
            raise ValueError(f"command {self.name!r}: pareto must be two (field, 'min'|'max') pairs")

    def key_fields_of_result(self, result: Any) -> tuple[str, ...]:
        """The key fields of ``result`` (or its ``to_dict()``): ``key_fields_of(result)``, else ``key_fields``."""
        return self.key_fields if self.key_fields_of is None else self.key_fields_of(result)

    def param(self, name: str) -> Param:
        return self._by_name[name]

    def options(self, sweep: bool = False) -> dict[str, str]:
        """solver keyword -> command-line spelling (errors name the option)."""
        return {p.name: p.sweep_flag if sweep else p.flag for p in self.params}

    def excluded(self, given: Any, sweep: bool = False) -> None:
        """A CliError when two of the parameters named in ``given`` exclude each other (``excludes``)."""
        for p in self.params:
            other = next((x for x in p.excludes if p.name in given and x in given), None)
            if other is not None:
                flag, theirs = (
                    (p.sweep_flag, self._by_name[other].sweep_flag) if sweep else (p.flag, self._by_name[other].flag)
                )
                raise CliError(flag, f"replaces what {theirs} sets: give one of them")

    def build(self, values: dict) -> tuple[dict, dict]:
        """Solver keyword arguments and the JSON ``inputs`` echo from command-line values (raw or
        ``(echo, value)`` pairs); a value not given is echoed as null and left to the solver's default."""
        self.excluded([name for name, v in values.items() if v is not None])
        kwargs: dict[str, Any] = {}
        inputs: dict[str, Any] = {}
        for p in self.params:
            v = values.get(p.name)
            inputs[p.name] = None
            if v is not None:
                inputs[p.name], solver_value = p.convert(v)
                if p.modifies is None:
                    kwargs[p.name] = solver_value
        for p in self.params:
            if p.modifies is not None and p.apply is not None and inputs[p.name] is not None:
                kwargs[p.modifies] = p.apply(kwargs.get(p.modifies), inputs[p.name])
        return kwargs, inputs

    def solve(self, kwargs: dict, strict: bool = False, bands: bool = False) -> tuple[Any, list[str]]:
        """Run the solver: (result, the warning messages it raised); ``bands``: with bands and
        out-of-domain lines (mlsysim_uncertainty.banded)."""
        kw = dict(kwargs)
        if strict and self.strict:
            kw[self.strict] = True
        cls = solver_class(self.solver)
        if bands:
            from mlsysim_uncertainty import banded

            return recorded(self._refused(cls, banded), cls, **kw)
        return recorded(self._refused(cls, cls().solve), **kw)

    def _refused(self, cls: Any, fn: Callable) -> Callable:
        """``fn`` with each warning of ``refuse`` raised as a CliError naming its option."""
        if not self.refuse:
            return fn
        import sys

        module = sys.modules[cls.__module__]
        options = {getattr(module, name): option for name, option in self.refuse}

        def refusing(*args: Any, **kwargs: Any) -> Any:
            with warnings.catch_warnings():
                for category in options:
                    warnings.simplefilter("error", category)
                try:
                    return fn(*args, **kwargs)
                except tuple(options) as w:
                    refusal = getattr(w, "refusal", None)
                    raise CliError(options[type(w)], refusal if refusal else " ".join(str(w).split())) from None

        return refusing

    def payload(self, inputs: dict, result: Any) -> dict:
        """The stable JSON schema: {"solver", "inputs", "result"}, and ``band_corners`` (the fast and slow
        corner results a consumer's ``--from`` solves at) and ``model_error`` (the bands' model-error why
        lines) when the result has bands."""
        doc = {"solver": self.solver, "inputs": inputs, "result": result.to_dict()}
        corners = getattr(result.bands, "corners", None)
        if corners is not None:
            doc["band_corners"] = [c.to_dict() for c in corners]
        if getattr(result.bands, "model_error", ()):
            doc["model_error"] = list(result.bands.model_error)
        return doc

    def render(self, inputs: dict, result: Any, show_all: bool, warns: list[str]) -> str:
        """The answer as text: a title, a field/value table, why it is infeasible, notes, warnings."""
        from mlsysim_core.results import missing_text

        keys = self.key_fields_of_result(result)
        names = result.fields() if show_all else [f for f in keys if f in result.fields()]
        known = [n for n in names if result.si(n) is not None or missing_text(type(result), n)]
        rows = [[n, cell(result, n)] for n in (names if show_all else known)]
        title = self.title(result, inputs) if self.title else ""
        out = [f"{self.solver}: {title}" if title else self.solver, "", table(["field", "value"], rows)]
        why = getattr(result, "constraint_trace", None)
        reason = getattr(result, "infeasible_reason", "")
        if why or reason:
            out += ["", "why:"] + [f"  {line}" for line in (why or [])] + ([f"  {reason}"] if reason else [])
        if getattr(result.bands, "model_error", ()):
            out += ["", "band (the corners of the ranges and the model error):"]
            out += [f"  {line}" for line in result.bands.model_error]
        if getattr(result, "out_of_domain", ()):
            out += ["", "out of domain (beyond the calibration set):"] + [f"  {line}" for line in result.out_of_domain]
        notes = getattr(result, "notes", ())
        if notes:
            out += ["", "notes:"] + [f"  {n}" for n in notes]
        if not show_all:
            out += ["", "(every field: --all; machine-readable: --json or --csv)"]
        return "\n".join(out + [f"warning: {w}" for w in warns])


def lookup(kind: str, name: str, flag: str) -> tuple[str, Any]:
    """(canonical key, value) of a catalog name of ``kind`` (model, hardware, cluster, datacenter);
    case-insensitive; an unknown name raises :class:`CliError` naming ``flag`` and suggesting close matches."""
    from mlsysim_core.errors import UnknownEntryError
    from mlsysim_core.plugins import catalog

    sections, listing = SECTIONS[kind]
    cat = catalog()
    entries = [e for s in sections for e in cat.entries[s].values()]
    for e in entries:
        if name == e.key or name in e.aliases:
            return e.key, e.value
    low = name.lower()
    for e in entries:
        if low == e.key.lower() or low in (a.lower() for a in e.aliases):
            return e.key, e.value
    what = "datacenter or grid" if kind == "datacenter" else kind
    err = UnknownEntryError(what, name, [k for e in entries for k in (e.key, *e.aliases)])
    raise CliError(flag, f"{err} (list them: mlsysim catalog {listing})")


def option_names(**options: str) -> None:
    """Name the command-line spelling of solver keywords for this command's error messages:
    ``option_names(precision="--precision", hardware="HARDWARE")`` turns an InvalidInputError about
    ``precision`` into ``Error: --precision: ...``. (SolverCommand commands do this themselves.)"""
    click.get_current_context().meta.setdefault(OPTIONS_KEY, {}).update(options)


def solver_class(name: str) -> Any:
    """The solver class, or SolverNotInstalledError naming the distribution to install (exit 1)."""
    from mlsysim_core.plugins import get_solver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plugin failures are reported by the error itself
        return get_solver(name)


def recorded(fn: Callable, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """``fn(*args, **kwargs)`` and the distinct warning messages it raised (one line each)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, list(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))


#: the file formats matplotlib's Agg canvas writes (``FigureCanvasAgg.get_supported_filetypes()``)
PLOT_FORMATS = ("eps", "jpeg", "jpg", "pdf", "pgf", "png", "ps", "raw", "rgba", "svg", "svgz", "tif", "tiff", "webp")


def check_output(flag: str, path: str | None, plot: bool = False) -> None:
    """Refuse, before any work, an output file that cannot be written: a missing directory, a
    directory given as the file, a picture format matplotlib does not write."""
    import os

    if not path or path == "-":
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CliError(flag, f"cannot write {path}: the directory {folder} does not exist")
    if os.path.isdir(path):
        raise CliError(flag, f"cannot write {path}: it is a directory")
    if not os.access(folder, os.W_OK):
        raise CliError(flag, f"cannot write {path}: the directory {folder} is not writable")
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if plot and ext not in PLOT_FORMATS:
        raise CliError(flag, f"cannot write {path}: {ext or 'no'} format; expected .{', .'.join(PLOT_FORMATS)}")


def save_plot(draw: Callable[[], Any], path: str) -> None:
    """Write the figure ``draw()`` returns (a Figure or ``(fig, ax)``) to ``path``; no matplotlib, a
    bad path or format: CliError (exit 1)."""
    check_output("--plot", path, plot=True)
    try:
        fig = draw()
    except ImportError as exc:
        if "matplotlib" not in str(exc):
            raise
        raise CliError("--plot", f"{exc}") from None
    fig = fig[0] if isinstance(fig, tuple) else fig
    try:
        fig.savefig(path, dpi=100)
    except (OSError, ValueError) as exc:
        raise CliError(
            "--plot", f"cannot write {path}: {' '.join(str(getattr(exc, 'strerror', None) or exc).split())}"
        ) from None
    click.echo(f"wrote {path}", err=True)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
