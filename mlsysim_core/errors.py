"""Typed exceptions. Every error a user can trigger is an :class:`MlsysimError`."""

from __future__ import annotations

from typing import Any


class MlsysimError(Exception):
    """Base class of every mlsysim error."""


class InvalidInputError(MlsysimError, ValueError):
    """An argument or catalog field is outside its valid range.

    The message names the argument, the value received and what is valid.
    """

    def __init__(self, argument: str, value: Any, valid: str, detail: str = ""):
        self.argument, self.value, self.valid = argument, value, valid
        name = getattr(value, "name", None)  # a catalog object: its type and name, not its whole repr
        shown = (
            f"{type(value).__name__}({name!r})" if isinstance(name, str) and not isinstance(value, str) else repr(value)
        )
        if len(shown) > 120:
            shown = shown[:117] + "..."
        msg = f"{argument}={shown} is invalid: expected {valid}"
        super().__init__(msg + (f" ({detail})" if detail else ""))


class UnknownEntryError(MlsysimError, KeyError, AttributeError):
    """A catalog name that does not exist; the message lists close matches."""

    def __init__(self, kind: str, name: str, candidates: list[str]):
        import difflib

        self.kind, self.name = kind, name
        close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.5)
        low = {c.lower(): c for c in candidates}
        if name.lower() in low and low[name.lower()] not in close:
            close.insert(0, low[name.lower()])
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        self.message = f"no {kind} named {name!r}{hint}"
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
