"""A page of the explorer: one or more solvers whose ``solve()`` signatures make its form
(:mod:`mlsysim_ui.forms`), so a field a solver gains appears by itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import mlsysim

from . import charts
from .answers import Answer, block, run, solving
from .forms import Field, FormError, arguments, field_of_error, fields_of, one_line


def solver_class(name: str) -> Any:
    """The installed solver class called ``name`` (the ImportError names the distribution to install)."""
    return getattr(mlsysim, name)


def declared(solver: str) -> Any:
    """The SolverCommand a plugin declares for ``solver`` (key fields, Pareto objectives), or None."""
    from mlsysim_cli.api.lazy import solver_commands

    return solver_commands().get(solver)


def _parts(fields: list[Field], kwargs: dict) -> list[tuple[str, str, str]]:
    return [
        (f.name, str(getattr(kwargs[f.name], "name", kwargs[f.name])), str(getattr(kwargs[f.name], "source", "")))
        for f in fields
        if f.kind == "catalog" and f.name in kwargs
    ]


def _arguments(fields: list[Field], values: Mapping[str, str], ans: Answer) -> dict | None:
    """solve()'s keyword arguments from the form, the catalog parts they name recorded in ``ans``; None, with
    ``ans.errors`` set, when a field is wrong."""
    try:
        kwargs = arguments(fields, values)
    except FormError as exc:
        ans.errors = exc.errors
        return None
    ans.parts = _parts(fields, kwargs)
    return kwargs


def unknown_field(fields: list[Field], values: Mapping[str, str]) -> mlsysim.InvalidInputError | None:
    """The error for the first value (alphabetically) whose name is no field of the page, else None: a misspelt
    URL query (``batchsize=64``) was dropped without a word and the page answered the default."""
    names = {f.name for f in fields}
    unknown = sorted(set(values) - names)
    if not unknown:
        return None
    return mlsysim.InvalidInputError(unknown[0], values[unknown[0]], "a field of the page: " + ", ".join(sorted(names)))


@dataclass(frozen=True)
class Page:
    """A page of the explorer: slug (URL), title, the solvers behind it, a starting example and the result
    fields shown first (default: the key fields of the solver's command for this result,
    ``SolverCommand.key_fields_of_result``)."""

    slug: str
    title: str
    summary: str
    solvers: tuple
    example: Mapping[str, str]
    key: tuple = ()

    def available(self) -> list[str]:
        """The page's solvers that are installed (``mlsysim.solvers()``)."""
        installed = mlsysim.solvers()
        return [s for s in self.solvers if s in installed]

    def fields(self, values: Mapping[str, str]) -> list[Field]:
        return fields_of(solver_class(self.solvers[0])) if self.available() else []

    def answer(self, values: Mapping[str, str]) -> Answer:
        name = self.solvers[0]
        fields = self.fields(values)
        ans = Answer()
        if not self.available():
            try:
                solver_class(name)
            except ImportError as exc:  # names the distribution to install
                ans.errors[""] = one_line(exc)
            return ans
        kwargs = _arguments(fields, values, ans)
        if kwargs is None:
            return ans
        try:
            result, warns = run(solving(solver_class(name)), kwargs)
        except mlsysim.MlsysimError as exc:
            ans.errors[field_of_error(exc, [f.name for f in fields])] = one_line(exc)
            return ans
        command = None if self.key else declared(name)
        key = self.key or (() if command is None else command.key_fields_of_result(result))
        ans.blocks.append(block(name, result, key, warns))
        ans.charts = charts.charts_for(result)
        return ans


@dataclass(frozen=True)
class FleetPage(Page):
    """One fleet for a duration through every fleet solver installed: one ``days`` field feeds each
    solver's duration argument; other arguments go to the solvers that declare them."""

    durations: Mapping[str, str] = field(default_factory=dict)  # solve() argument -> unit of "days"
    keys: Mapping[str, tuple] = field(default_factory=dict)

    def fields(self, values: Mapping[str, str]) -> list[Field]:
        days = Field("days", "any", required=True, help="how long the fleet runs: days, or a time such as '720 h'")
        out, seen = [days], {"days", *self.durations}
        for name in self.available():
            for f in fields_of(solver_class(name)):
                if f.name not in seen:
                    seen.add(f.name)
                    out.append(f)
        return out

    def answer(self, values: Mapping[str, str]) -> Answer:
        fields = self.fields(values)
        ans = Answer()
        kwargs = _arguments(fields, values, ans)
        if kwargs is None:
            return ans
        days = kwargs.pop("days")
        span = (
            days
            if isinstance(days, mlsysim.Quantity)
            else (mlsysim.Q_(days, "day") if isinstance(days, (int, float)) else days)
        )
        names = [f.name for f in fields]
        for name in self.available():
            own = fields_of(solver_class(name))
            args = {f.name: kwargs[f.name] for f in own if f.name in kwargs}
            args.update({f.name: span for f in own if f.name in self.durations})
            try:
                result, warns = run(solving(solver_class(name)), args)
            except mlsysim.MlsysimError as exc:
                arg = field_of_error(exc, [f.name for f in own])
                key = "days" if arg in self.durations else (arg if arg in names else "")
                said = f"{name}: {one_line(exc)}"  # each solver's complaint kept (days=0: all three refuse it)
                ans.errors[key] = f"{ans.errors[key]}; {said}" if key in ans.errors else said
                continue
            ans.blocks.append(block(name, result, self.keys.get(name, ()), warns))
            ans.charts += charts.charts_for(result)
        return ans
