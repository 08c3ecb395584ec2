"""Typed exceptions. Every error a user can trigger is an :class:`MlsysimError`."""

from __future__ import annotations

import inspect
from typing import Any


class MlsysimError(Exception):
    """Base class of every mlsysim error."""


class InvalidInputError(MlsysimError, ValueError):
    """An argument or catalog field outside its valid range; the message names the argument, value and what is valid."""

    def __init__(self, argument: str, value: Any, valid: str, detail: str = ""):
        self.argument, self.value, self.valid = argument, value, valid
        name = getattr(value, "name", None)  # a catalog object: its type and name, not its whole repr
        shown = (
            f"{type(value).__name__}({name!r})" if isinstance(name, str) and not isinstance(value, str) else repr(value)
        )
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        msg = f"{argument}={shown} is invalid: expected {valid}"
        super().__init__(msg + (f" ({detail})" if detail else ""))


def did_you_mean(name: str, candidates: list[str], n: int = 3, cutoff: float = 0.6) -> str:
    """``"; did you mean A, B?"``: ``name``'s close matches in ``candidates`` (difflib, ignoring case), or ``""``."""
    from difflib import get_close_matches  # only for a name not found (~2 M instructions to import)

    low = {c.lower(): c for c in reversed(candidates)}  # case ignored; the first spelling of a name wins
    close = get_close_matches(name.lower(), list(low), n=n, cutoff=cutoff)
    return f"; did you mean {', '.join(low[c] for c in close)}?" if close else ""


class UnknownArgumentError(InvalidInputError, TypeError):
    """A keyword argument a function does not take; the message names the closest ones it takes."""

    @classmethod
    def check(cls, function: Any, kwargs: dict[str, Any], name: str) -> Any:
        """``function``'s parameters; raises one for a keyword it does not take, named as ``name`` says."""
        params = inspect.signature(function).parameters
        known = [p for p in params if p != "self"]
        unknown = [k for k in kwargs if k not in known]
        if unknown and all(p.kind is not p.VAR_KEYWORD for p in params.values()):
            hint = did_you_mean(unknown[0], known) or ": " + ", ".join(known)
            raise cls(unknown[0], kwargs[unknown[0]], f"a keyword argument of {name}{hint}")
        return params


class UnknownEntryError(MlsysimError, KeyError, AttributeError):
    """A catalog name that does not exist; the message lists close matches."""

    def __init__(self, kind: str, name: str, candidates: list[str]):
        self.kind, self.name = kind, name
        self.message = f"no {kind} named {name!r}{did_you_mean(name, candidates, 5, 0.5)}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class CatalogError(MlsysimError, ValueError):
    """A catalog file or provider entry is malformed; names file, line, entry and field."""


class PluginError(MlsysimError):
    """A plugin failed to load or misbehaved."""


class PluginWarning(UserWarning):
    """A plugin failed or misbehaved; it is recorded and the host carries on."""


class PluginConflictWarning(PluginWarning):
    """Two plugins provide the same name; the message names both and says which one is kept."""


class SolverNotInstalledError(MlsysimError, ImportError):
    """A solver whose distribution is not installed; names the distribution to install."""


class InfeasibleError(MlsysimError):
    """A configuration that cannot run (e.g. does not fit in memory), when the user asked to raise."""

    def __init__(self, message: str, required: Any = None, available: Any = None):
        self.required, self.available = required, available
        super().__init__(message)
