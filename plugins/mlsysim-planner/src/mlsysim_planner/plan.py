"""The answer of a search: ranked configurations as columns, the Pareto front, what binds the winner.

Columns hold plain numbers in the unit ``units[name]`` names (``plan["days"]`` gives a Quantity array);
rows are ranked best first by the objective. ``explain(i)`` re-solves row ``i`` with its solver and says
why it ranks where it does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np


@attrs.define(eq=False, repr=False)
class Plan:
    """Ranked configurations of a training or serving search (one row per distinct layout).

    Attributes: ``kind`` ("training" | "serving"); ``objective`` (column, "min" | "max"); ``columns``
    (name -> array, best row first); ``units``; ``pareto`` (bool per row: on the front of ``front_axes``);
    ``binding`` (what keeps the winner from doing better, in words); ``feasible`` (some configuration meets
    every constraint; otherwise the rows are the closest ones and ``binding`` says what to relax);
    ``stats`` (points searched, valid, meeting the constraints, seconds); ``notes`` (assumptions stated);
    ``findings`` (what the search found about the winner beyond what binds it, e.g. whether speculation helped).
    """

    kind: str
    objective: tuple[str, str]
    columns: dict[str, np.ndarray]
    units: dict[str, str]
    front_axes: tuple[str, str]
    pareto: np.ndarray
    binding: str
    feasible: bool
    stats: dict[str, Any]
    notes: tuple[str, ...]
    shown: tuple[str, ...]
    _resolve: Callable[[int], Any]  # row -> the result of its configuration, re-solved (explain)
    findings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        """One line (the columns are arrays of every ranked row)."""
        column, sense = self.objective
        met = "some meet every constraint" if self.feasible else "none meets every constraint"
        return f"<Plan {self.kind}: {len(self)} configurations ranked by {column} ({sense}); {met}>"

    def __len__(self) -> int:
        return len(self.pareto)

    def __getitem__(self, name: str) -> Any:
        v = self.columns[name]
        unit = self.units.get(name)
        if not unit:
            return v
        from mlsysim_core.units import Q_

        return Q_(v.astype(float), unit)

    def row(self, i: int = 0) -> dict[str, Any]:
        """Row ``i`` (0 = the best) as plain values."""
        return {k: _plain(v[i]) for k, v in self.columns.items()} | {"pareto": bool(self.pareto[i])}

    def result(self, i: int = 0) -> Any:
        """The solver's Result for row ``i`` (solve() of its configuration)."""
        return self._resolve(i)

    # ------------------------------------------------------------------ output
    def table(self, rows: int = 10) -> str:
        """The best ``rows`` rows as an aligned text table (``*``: on the Pareto front)."""
        from mlsysim_cli.api import table

        head = [f"{c} ({self.units[c]})" if self.units.get(c) else c for c in self.shown] + ["pareto"]
        body = [
            [_cell(self.columns[c][i]) for c in self.shown] + ["*" if self.pareto[i] else ""]
            for i in range(min(rows, len(self)))
        ]
        return table(head, body)

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-able values: rows, units, the objective, what binds, counts, notes."""
        return {
            "kind": self.kind,
            "objective": {"column": self.objective[0], "sense": self.objective[1]},
            "feasible": self.feasible,
            "binding": self.binding,
            "findings": list(self.findings),
            "pareto_axes": list(self.front_axes),
            "stats": self.stats,
            "notes": list(self.notes),
            "units": {k: v for k, v in self.units.items() if v},
            "rows": [self.row(i) for i in range(len(self))],
        }

    def to_json(self) -> str:
        from mlsysim_cli.api import dumps

        return dumps(self.to_dict())

    def to_csv(self) -> str:
        """One row per configuration; units in the header."""
        out = io.StringIO()
        names = list(self.columns)
        w = csv.writer(out)
        w.writerow([f"{c} ({self.units[c]})" if self.units.get(c) else c for c in names] + ["pareto"])
        for i in range(len(self)):
            w.writerow([_plain(self.columns[c][i]) for c in names] + [bool(self.pareto[i])])
        return out.getvalue()

    def to_pandas(self) -> Any:
        """A pandas DataFrame of the rows (``df.attrs["units"]``)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("Plan.to_pandas() needs pandas: pip install pandas") from exc
        df = pd.DataFrame({**self.columns, "pareto": self.pareto})
        df.attrs["units"] = {k: v for k, v in self.units.items() if v}
        return df

    def plot(self) -> Any:
        """The Pareto front of ``front_axes`` over every row (a matplotlib figure)."""
        from mlsysim_plots.figures import plot_pareto

        x, y = self.front_axes
        points = [
            {
                "inputs": {},
                "result": {
                    x: {"value": _plain(self.columns[x][i]), "unit": self.units.get(x, "")},
                    y: {"value": _plain(self.columns[y][i]), "unit": self.units.get(y, "")},
                },
                "label": self.label(i),
                "pareto": bool(self.pareto[i]),
            }
            for i in range(len(self))
        ]
        fig, _ = plot_pareto(points, x, y, label=["label"], title=f"{self.kind} plan: {x} vs {y}")
        return fig

    def label(self, i: int) -> str:
        """A short name of row ``i`` (its layout)."""
        return str(self.columns["layout"][i])

    def explain(self, i: int = 0) -> str:
        """Why row ``i`` ranks where it does: its objective against the runner-up's, what binds, and the
        solver's own explanation of the configuration."""
        name, sense = self.objective
        v = self.columns[name]
        unit = self.units.get(name, "")
        lines = [f"#{i + 1} of {len(self)}: {self.label(i)}: {name} = {_cell(v[i])} {unit}".rstrip()]
        other = 1 if i == 0 else 0
        if len(self) > 1:
            diffs = [
                f"{c} {_cell(self.columns[c][other])} vs {_cell(self.columns[c][i])} {self.units.get(c, '')}".rstrip()
                for c in self.shown
                if c not in ("layout", name) and _differs(self.columns[c][other], self.columns[c][i])
            ]
            rel = "runner-up" if i == 0 else "winner"
            lines.append(
                f"the {rel} ({self.label(other)}) has {name} = {_cell(v[other])} {unit}".rstrip()
                + "; it trades: "
                + ("; ".join(diffs) or "nothing else shown")
            )
        if i == 0:
            lines.append(f"binding: {self.binding}")
            lines += list(self.findings)
        lines.append("")
        lines.append(self.result(i).explain())
        return "\n".join(lines)


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, (float, np.floating)) and isinstance(b, (float, np.floating)):
        return not np.isclose(a, b, rtol=1e-9)
    return bool(a != b)


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def _cell(v: Any) -> str:
    from mlsysim_core.format import value

    return value(_plain(v))
