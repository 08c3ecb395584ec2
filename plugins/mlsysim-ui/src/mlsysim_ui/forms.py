"""Form fields built from a solver's ``solve()`` signature and docstring, and form values -> arguments.

Nothing here names a solver: a third-party solver gets the same form. A parameter's kind comes from
its annotation (``HardwareNode`` -> a hardware picker) or, for an ``Any`` parameter, from its name
(``fleet`` -> a cluster picker); numbers and names are typed as text and passed on, so the solver's
own validation speaks (its ``InvalidInputError`` text is shown next to the field, as on the CLI).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import mlsysim

#: catalog sections a parameter's annotation resolves against (in order)
ANNOTATION_SECTIONS = {
    "Workload": ("models",),
    "TransformerWorkload": ("models",),
    "CNNWorkload": ("models",),
    "HardwareNode": ("hardware",),
    "Fleet": ("clusters",),
    "Cluster": ("clusters",),
    "Node": ("nodes",),
    "Datacenter": ("datacenters", "grids"),
    "GridProfile": ("grids",),
    "NetworkFabric": ("fabrics",),
}
#: The explorer's bounds on work, by argument name (any solver's), so one page cannot hold the server: name ->
#: (largest value, why). ServingModel's simulator serves ~11 k requests a second here (100 k took 8.9 s, 1 M held a
#: page 110 s); its solve() takes up to 10 M.
WORK_LIMITS = {
    "num_requests": (
        100_000,
        "the simulator serves ~11 k requests a second: 1 M would hold the page ~2 min; "
        "more from Python: mlsysim.ServingModel().solve(..., method='simulate', num_requests=N)",
    )
}
#: whether :func:`convert` holds values to :data:`WORK_LIMITS`: in the explorer's server, not where ``mlsysim report``
#: writes one page offline (:func:`unbounded`), whose process holds no page of anyone else's
_bounded: ContextVar[bool] = ContextVar("bounded", default=True)


@contextmanager
def unbounded() -> Iterator[None]:
    """Within it :func:`convert` takes values beyond :data:`WORK_LIMITS` (``mlsysim report``: offline, one page; its
    simulated requests take their time, as they would from Python or ``mlsysim serve``)."""
    token = _bounded.set(False)
    try:
        yield
    finally:
        _bounded.reset(token)


#: catalog sections an untyped (``Any``) parameter resolves against, by its name
NAME_SECTIONS = {
    "model": ("models",),
    "hardware": ("hardware",),
    "fleet": ("clusters",),
    "cluster": ("clusters",),
    "node": ("nodes",),
    "datacenter": ("datacenters", "grids"),
    "grid": ("grids",),
    "fabric": ("fabrics",),
}
_SCALARS = {"int": "int", "float": "float", "str": "str", "bool": "bool"}
_SKIP = {"self", "cls"}


@dataclass(frozen=True)
class Field:
    """One form field: a solve() parameter, its kind, default and help."""

    name: str
    kind: str  # catalog | int | float | str | bool | any
    sections: tuple = ()
    default: Any = None
    required: bool = False
    help: str = ""

    @property
    def advanced(self) -> bool:
        """Optional parameters without a default value go under "more options"."""
        return not self.required and self.default is None

    @property
    def placeholder(self) -> str:
        if self.required:
            return "required"
        return "default" if self.default is None else _text(self.default)


def _text(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def _kind(annotation: Any, name: str) -> tuple[str, tuple]:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    inner = re.sub(r"^Optional\[(.*)\]$", r"\1", text.replace("typing.", "")).strip()
    inner = re.sub(r"^None\s*\|\s*|\s*\|\s*None$", "", inner)  # "X | None" as Optional[X]
    if inner in ANNOTATION_SECTIONS:
        return "catalog", ANNOTATION_SECTIONS[inner]
    if inner in _SCALARS:
        return _SCALARS[inner], ()
    if name in NAME_SECTIONS:
        return "catalog", NAME_SECTIONS[name]
    return "any", ()


def arg_docs(func: Callable) -> dict[str, str]:
    """``{parameter: help}`` from a Google-style ``Args:`` section (``a, b: text`` documents both)."""
    doc = inspect.getdoc(func) or ""
    out: dict[str, str] = {}
    inside, current = False, []
    for line in doc.splitlines():
        if line.strip() in ("Args:", "Arguments:", "Parameters:"):
            inside = True
            continue
        if not inside:
            continue
        if line and not line.startswith(" "):
            break  # next section
        m = re.match(r"^ {2,4}(\*{0,2}[A-Za-z_][\w, ]*):\s*(.*)$", line)
        if m and not line.startswith(" " * 5):
            current = [n.strip().lstrip("*") for n in m.group(1).split(",")]
            for n in current:
                out[n] = m.group(2).strip()
        elif current and line.strip():
            for n in current:
                out[n] += " " + line.strip()
    return {k: _plain(v) for k, v in out.items()}


def _plain(doc: str) -> str:
    """reST markup out of a help line: ``x`` -> x, :class:`X` -> X."""
    return re.sub(r":\w+:`~?([^`]+)`", r"\1", doc).replace("``", "")


def fields_of(solver: Any) -> list[Field]:
    """The form of ``solver`` (a class): one field per keyword of its ``solve()``."""
    func = solver.solve
    docs = arg_docs(func)
    out = []
    for p in inspect.signature(func).parameters.values():
        if p.name in _SKIP or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        kind, sections = _kind(p.annotation, p.name)
        required = p.default is inspect.Parameter.empty
        out.append(Field(p.name, kind, sections, None if required else p.default, required, docs.get(p.name, "")))
    return out


def lookup(field: Field, key: str) -> Any:
    """The catalog value named ``key`` (case-insensitive) in the field's sections; else the catalog's error."""
    cat = mlsysim.catalog()
    first_error: Exception | None = None
    for section in field.sections:
        try:
            return cat.entry(section, key).value
        except mlsysim.UnknownEntryError as exc:
            low = {k.lower(): k for e in cat.entries[section].values() for k in (e.key, *e.aliases)}
            if key.lower() in low:
                return cat.entry(section, low[key.lower()]).value
            first_error = first_error or exc
    assert first_error is not None
    raise first_error


def convert(field: Field, text: str) -> Any:
    """Form text -> the value handed to solve(); text that is not a number stays text, so the solver
    (not the form) says what is wrong with it."""
    text = text.strip()
    if field.kind == "catalog":
        return lookup(field, text)
    if field.kind == "bool" or (field.kind == "any" and text.lower() in ("true", "false")):
        return {"true": True, "false": False}.get(text.lower(), text)
    if field.kind == "str":
        return text
    numbers = {"int": (int,), "float": (float,), "any": (int, float)}[field.kind]
    for number in numbers:
        try:
            value = number(text)
        except ValueError:
            continue
        limit = WORK_LIMITS.get(field.name)
        if limit is not None and value > limit[0] and _bounded.get():
            raise mlsysim.InvalidInputError(field.name, value, f"at most {limit[0]:,} in the explorer", limit[1])
        return value
    if field.kind != "int" and re.match(r"^[-+.\d][\d.eE+-]*\s*[A-Za-z]", text):
        from mlsysim_core.units import parse_strict  # no pint expressions: "9 s*9**9**9" takes minutes

        try:
            return parse_strict(text, name=field.name, expected="VALUE UNIT")
        except mlsysim.InvalidInputError:  # not "VALUE UNIT": the text goes to the solver
            return text
    return text


class FormError(Exception):
    """One message per field (``""``: not tied to one field)."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in errors.items()))


def one_line(exc: BaseException | Warning | str) -> str:
    """An error or warning message on one line (as the CLI prints it)."""
    return " ".join(str(exc).split())


def arguments(fields: list[Field], values: Mapping[str, str]) -> dict[str, Any]:
    """solve() keyword arguments from form values (empty = the solver's default); FormError names each bad field."""
    kwargs: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        text = (values.get(f.name) or "").strip()
        if not text:
            if f.required:
                errors[f.name] = f"{f.name} is required"
            continue
        try:
            kwargs[f.name] = convert(f, text)
        except mlsysim.MlsysimError as exc:
            errors[f.name] = one_line(exc)
    if errors:
        raise FormError(errors)
    return kwargs


def field_of_error(exc: BaseException, names: list[str]) -> str:
    """The form field an ``InvalidInputError`` names (``"batch_size"``, ``"fleet.node"`` -> fleet), or ``""``."""
    arg = str(getattr(exc, "argument", "") or "")
    base = re.split(r"[.\[*]", arg)[0]
    return base if base in names else ""
