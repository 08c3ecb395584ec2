"""The typed result protocol shared by every solver, and the capability protocols consumers accept.

A result class subclasses :class:`Result` and is decorated with :func:`result`. Its physical fields hold
plain SI floats internally (cheap to build inside ``solve()``) and are read as pint Quantities in
the unit declared with :func:`measure` (built on access, not in the hot path)::

    @result("MySolver")
    class MyResult(Result):
        latency = measure("ms", doc="time per step")
        feasible: bool = attrs.field()

    r = MyResult(latency=0.004, feasible=True)   # SI float in: seconds
    r.latency                                     # -> <Quantity(4.0, 'millisecond')>

``to_dict()`` gives ``{"latency": {"value": 4.0, "unit": "ms"}, ...}``; ``explain()`` and
``__str__`` render a summary lazily. Consumers never import another plugin's result classes: they
read fields through :func:`need`, which names the missing field and the consumer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from .errors import InvalidInputError
from .fieldwise import ByFields
from .format import is_quantity

if TYPE_CHECKING:
    from .units import Quantity

_UNIT_KEY = "mlsysim_unit"


def measure(unit: str, *, doc: str = "", optional: bool = False, missing: str | None = None) -> Any:
    """A result field given as an SI base-unit float (or ndarray), exposed as a Quantity in ``unit``
    (parsed by pint on the first read: :func:`mlsysim_core.units.from_si`).
    ``missing``: what tables print when an optional field is None ("unknown": data the catalog lacks)."""
    meta = {_UNIT_KEY: unit, "doc": doc, "missing": missing}
    return attrs.field(default=None if optional else attrs.NOTHING, metadata=meta)


def _quantity_property(name: str, store: str, unit: str, doc: str) -> property:
    def get(self: Any) -> Any:
        from .units import from_si

        v = getattr(self, store)
        return None if v is None else from_si(v, unit)

    get.__doc__ = doc or f"{name} in {unit}"
    return property(get)


def result(solver_name: str) -> Callable[[type], type]:
    """Class decorator: make ``cls`` a frozen attrs result of ``solver_name`` with Quantity views."""

    def wrap(cls: type) -> type:
        # Store measured fields under a private name; the public name becomes a Quantity property.
        for name, value in list(cls.__dict__.items()):
            if isinstance(value, attrs.Attribute) or not hasattr(value, "metadata"):
                continue
            if _UNIT_KEY in (value.metadata or {}):
                delattr(cls, name)
                setattr(cls, "_" + name, value)  # attrs strips the underscore: init arg keeps the name
        if not issubclass(cls, Result):
            raise TypeError(f"{cls.__name__} must subclass mlsysim_core.results.Result")
        # slots=False: a frozen dict class sets each field with a dict store, a slotted one with
        # object.__setattr__ (~0.1 us per field): 1-1.5 us of every solve() for a 40-field result.
        new = attrs.frozen(kw_only=True, repr=False, eq=False, auto_attribs=False, slots=False)(cls)
        new.solver = solver_name
        for f in attrs.fields(new):  # type: ignore[arg-type]  # made an attrs class on the line above
            meta = f.metadata or {}
            if _UNIT_KEY in meta:
                setattr(new, f.alias, _quantity_property(f.alias, f.name, meta[_UNIT_KEY], meta["doc"]))
        return new

    return wrap


def _public(obj: Any) -> list[tuple[str, Any]]:
    return [(f.alias if f.name.startswith("_") else f.name, f) for f in attrs.fields(type(obj))]


_stored: dict[type, dict[str, str]] = {}


def _stored_names(cls: Any) -> dict[str, str]:
    """Public field name -> attribute holding its stored value (``_latency`` for ``latency``), per class."""
    names = _stored.get(cls)
    if names is None:
        names = _stored[cls] = {(f.alias if f.name.startswith("_") else f.name): f.name for f in attrs.fields(cls)}
    return names


def _plain(value: Any) -> Any:
    if is_quantity(value):
        m = value.magnitude
        return {"value": m.tolist() if hasattr(m, "tolist") else m, "unit": f"{value.units:~P}"}
    if attrs.has(type(value)) and hasattr(value, "to_dict"):
        return value.to_dict()
    if attrs.has(type(value)):
        return value.name if hasattr(value, "name") else repr(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def missing_text(cls: type, name: str) -> str | None:
    """What a table prints for field ``name`` of result class ``cls`` when it is None, if the field says."""
    stored = _stored_names(cls).get(name) if attrs.has(cls) else None
    return attrs.fields_dict(cls)[stored].metadata.get("missing") if stored else None


def shown(result_obj: Any, name: str) -> str:
    """Field ``name`` as the command line prints it, with its band when it has one: "6.8 ms [5.9, 8.1]"."""
    from .format import number, value

    v = getattr(result_obj, name)
    if v is None:
        return missing_text(type(result_obj), name) or value(v)
    text = getattr(v, "name", type(v).__name__) if attrs.has(type(v)) else value(v)
    band = getattr(result_obj, "bands", {}).get(name)
    if band is None:
        return text
    low, high = (b.to(v.units).magnitude if is_quantity(v) else b for b in band)
    return f"{text} [{number(low)}, {number(high)}]"


class Result(ByFields):
    """Base of every solver result (subclass it and decorate with :func:`result`).

    ``bands`` (field -> (low, high), same unit as the field) is empty unless a result was asked for with
    bands (``mlsysim_uncertainty.banded``, ``--bands``); ``out_of_domain`` is on every result."""

    solver: str = ""
    bands: Mapping[str, tuple[Any, Any]] = MappingProxyType({})

    @property
    def out_of_domain(self) -> tuple[str, ...]:
        """Why the inputs lie outside a calibration set: ``mlsysim_domain_checks``' lines, asked on first read."""
        lines = self.__dict__.get("_out_of_domain")  # kept (no lock, unlike functools.cached_property)
        if lines is None:
            from .plugins import host

            lines = self.__dict__["_out_of_domain"] = host().out_of_domain(self)
        return lines

    if TYPE_CHECKING:
        # @result makes each subclass a frozen attrs class with a keyword-only __init__ over its fields
        # (measured ones take SI floats); mypy cannot follow that decorator, so it sees this signature.
        def __init__(self, **fields: Any) -> None: ...

    def fields(self) -> list[str]:
        """Public field names in declaration order."""
        return [name for name, _ in _public(self)]

    def si(self, name: str) -> Any:
        """Field ``name`` as stored: an SI float (or None) for a physical field, the value otherwise.
        Cheaper than the Quantity view; the sweep engine reads results this way."""
        try:
            return getattr(self, _stored_names(type(self))[name])
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain data: Quantities as ``{"value", "unit"}``; nested results as dicts."""
        out: dict[str, Any] = {"solver": self.solver}
        for name in self.fields():
            out[name] = _plain(getattr(self, name))
        if self.bands or self.out_of_domain:
            out["bands"] = {k: {"low": _plain(lo), "high": _plain(hi)} for k, (lo, hi) in self.bands.items()}
            out["out_of_domain"] = list(self.out_of_domain)
        return out

    def __getitem__(self, key: str) -> Any:
        """Dict-style access (upstream returned dicts from some solvers)."""
        if key not in self.fields():
            raise KeyError(key)
        return getattr(self, key)

    def explain(self) -> str:
        """A readable, aligned summary of every field, numbers as the command line prints them."""
        rows = [(name, shown(self, name)) for name in self.fields()]
        width = max(len(n) for n, _ in rows) if rows else 0
        band = [f"  band: {x}" for x in getattr(self.bands, "model_error", ())]  # the model error it holds
        ood = band + [f"  out of domain: {x}" for x in self.out_of_domain]
        return "\n".join([f"{type(self).__name__} ({self.solver})", *(f"  {n:<{width}}  {s}" for n, s in rows), *ood])

    def __str__(self) -> str:
        return self.explain()

    def __repr__(self) -> str:
        """One line: the type, the solver and the first three measured values."""
        from .format import value

        shown = [n for n in self.fields() if is_quantity(getattr(self, n))][:3]
        return (
            f"<{type(self).__name__} from {self.solver}: "
            + ", ".join(f"{n}={value(getattr(self, n))}" for n in shown)
            + ">"
        )

    def why(self) -> list[str]:
        """Why the configuration does not fit, if it does not (its constraint trace and reason), then the
        band's model-error lines (``bands.model_error``) and why the inputs are out of domain."""
        trace = getattr(self, "constraint_trace", None) or []
        reason = [str(r) for r in [getattr(self, "infeasible_reason", None)] if r]
        return [*map(str, trace), *reason, *getattr(self.bands, "model_error", ()), *self.out_of_domain]

    def _repr_html_(self) -> str:
        """A notebook table: every field rounded as the command line prints it, then the why lines."""
        import html

        cells = "".join(
            f"<tr><td>{html.escape(n)}</td><td>{html.escape(shown(self, n))}</td></tr>" for n in self.fields()
        )
        why = "".join(f"<li>{html.escape(line)}</li>" for line in self.why())
        caption = f"{type(self).__name__} ({self.solver})"
        return f"<table><caption>{html.escape(caption)}</caption>{cells}</table>" + (
            f"<p>why:</p><ul>{why}</ul>" if why else ""
        )


def need(result_obj: Any, field_name: str, consumer: str, unit: str | None = None) -> Any:
    """Read ``field_name`` from another solver's result (any object), or say clearly what is missing.

    With ``unit`` the value must be a Quantity of that dimension; its SI float magnitude is returned.
    """
    value = getattr(result_obj, field_name, None)
    if value is None:
        raise InvalidInputError(
            "result", type(result_obj).__name__, f"a result with a '{field_name}' field (needed by {consumer})"
        )
    if unit is None:
        return value
    from .units import to_si, ureg

    return to_si(value, ureg.Unit(unit), name=f"result.{field_name}")


# --------------------------------------------------------------------------- capability protocols


@runtime_checkable
class HasTokenRate(Protocol):
    """A serving result: output ``tokens_per_second`` (1/s) for the hardware it ran on."""

    tokens_per_second: Quantity


@runtime_checkable
class HasLatency(Protocol):
    """A per-step result: ``latency`` (time) and ``throughput`` (samples per second)."""

    latency: Quantity
    throughput: Quantity


@runtime_checkable
class HasStepTime(Protocol):
    """A training result: ``step_time``, ``throughput`` and the ``parallelism`` it used."""

    step_time: Quantity
    parallelism: Any
