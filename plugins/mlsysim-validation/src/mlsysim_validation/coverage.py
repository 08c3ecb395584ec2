"""How honest the bands are on the calibration set, and what calibrating one hardware buys.

``bands()``: every counted prediction of every group run three times through its mapping
(``points.py``): as shipped, then with every call of a solver with ranges of its own
(``mlsysim_uncertainty.declaring(*OWN_RANGES)``) at the fast and at the slow corner (what ``banded``
does for one call; a fleet solver's input result is then that corner's). A point is covered when its
measurement lies in [low, high]; the half-width is (high - low) / 2 relative to the prediction, and a
miss lies ``outside`` by its distance from the band's nearer end (relative to it). Points
no ranged solver moves have no band, so the banded groups are those with a moved point (derived, not
listed). The
ranges come from the sources of ``mlsysim_physics.efficiency``, not from these points: leaving a point
out changes no range, so the leave-one-out coverage is the coverage shown.

``calibrations()``: per hardware, ``mlsysim calibrate`` on the serving points of that hardware listed
in ``CALIBRATION_RUNS`` (the same configurations as their mappings), then that hardware's other
counted points predicted with the overlay loaded, before and after.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import attrs

from . import points
from .harness import GROUPS, added_measurements, load_measurements

#: hardware key -> (record id, the calibrate row of its mapping's configuration) it is calibrated on
CALIBRATION_RUNS = {
    "H100": [
        (
            f"B-nim-llama33-70b-2xh100-isl{isl}-osl{osl}-c{c}-itl",
            dict(model="Llama3_3_70B", seq_len=isl, batch_size=c, output_len=osl, precision="fp8", tp=2, engine="nim"),
        )
        for isl, osl, c in ((5000, 500, 5), (5000, 500, 25), (500, 2000, 1))
    ],
    "H200": [
        (
            f"B-vllm-ci-h200-{name}-tp{tp}-e2e",
            dict(model=model, seq_len=32, batch_size=8, output_len=128, precision="bf16", tp=tp),
        )
        for name, model, tp in (
            ("llama-3.1-8B", "Llama3_1_8B", 1),
            ("llama-3-70B", "Llama3_70B", 4),
            ("mixtral-8x7B", "Mixtral_8x7B", 2),
        )
    ],
}
#: the quantity of each calibration record's mapping (ServingModel field)
_QUANTITY = {"B-nim": "itl_continuous", "B-vll": "e2e_latency"}
#: hardware key -> the other counted serving points on it (predicted before/after calibrating): on H100
#: the other engines' (MLPerf, TensorRT-LLM) and NIM's own ITL under load (group M, its mappings solve with
#: engine="nim", as the calibration rows name it)
REMAINING = {
    "H100": (
        "A-mlperf41-h100x8-gptj-99-offline-per-gpu",
        "B-trtllm-llama-3.1-8b-h100-tp1-fp8-128-128",
        "B-trtllm-llama-3.1-405b-h100-tp8-fp8-1000-1000",
        *(
            f"M-nim-llama33-70b-2xh100-isl{isl}-osl{osl}-c{c}-itl"
            for isl, osl, cs in points._NIM_LOADED  # noqa: SLF001  # the same table the mappings come from
            for c in cs
        ),
    ),
    "H200": ("A-mlperf41-h200x8-llama2-70b-99-offline-per-gpu", "A-mlperf41-h200x8-llama2-70b-99-server-per-gpu"),
}


@contextlib.contextmanager
def _corner(which: int) -> Iterator[None]:
    """Every solve() call of the solvers with ranges of their own at corner ``which`` (0 fast, 1 slow)
    of the efficiency ranges: what ``banded`` evaluates for one call. The
    fleet solvers in a mapping then take those corner results as their inputs, as ``banded`` carries
    an input's band through."""
    import mlsysim
    from mlsysim_uncertainty import OWN_RANGES, corner_arguments, declaring, given_arguments

    def cornered(cls: Any) -> Any:
        original = cls.solve

        def solve(self: Any, *args: Any, **kw: Any) -> Any:
            used = original(self, *args, **kw)
            corners = corner_arguments(cls, used, given_arguments(original, args, kw))
            return used if corners is None else original(self, **corners[which])

        return solve

    with contextlib.ExitStack() as patches:
        for name in declaring(*OWN_RANGES):
            cls = getattr(mlsysim, name)
            patches.enter_context(mock.patch.object(cls, "solve", cornered(cls)))
        yield


@attrs.frozen
class Band:
    id: str
    group: str
    measured: float
    predicted: float
    low: float
    high: float

    @property
    def covered(self) -> bool:
        return self.low <= self.measured <= self.high

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2 / self.predicted

    @property
    def outside(self) -> float:
        """How far the measurement lies beyond the band's nearer end, relative to that end: 0 when
        covered, > 0 above the band, < 0 below it. A miss far outside a band of normal width is a model
        bias; one outside a band of almost no width, a number or efficiency that carries no range."""
        if self.measured > self.high:
            return self.measured / self.high - 1
        if self.measured < self.low:
            return self.measured / self.low - 1
        return 0.0


def _records() -> list[dict]:
    maps = points.mappings()
    return [
        r for r in load_measurements() + added_measurements() if r["id"] in maps and maps[r["id"]].kind == "prediction"
    ]


def bands() -> list[Band]:
    """The band of every counted prediction some solver with ranges of its own moves."""
    maps = points.mappings()
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in _records():
            fn = maps[r["id"]].fn
            mid = fn()
            with _corner(0):
                fast = fn()
            with _corner(1):
                slow = fn()
            if fast == mid == slow:
                continue
            out.append(Band(r["id"], r["group"], float(r["value"]), mid, min(mid, fast, slow), max(mid, fast, slow)))
    return out


def _rows_for(hardware: str) -> list[dict]:
    values = {r["id"]: r["value"] for r in load_measurements() + added_measurements()}
    return [
        dict(row, hardware=hardware, quantity=_QUANTITY[pid[:5]], value=values[pid], unit="ms")
        for pid, row in CALIBRATION_RUNS[hardware]
    ]


@attrs.frozen
class BeforeAfter:
    hardware: str
    calibration: Any  # mlsysim_validation.calibrate.Calibration
    remaining: list  # (record id, measured, before, after)


def calibrations() -> list[BeforeAfter]:
    """Per hardware of CALIBRATION_RUNS: the fit, and its other points before and after."""
    import json

    from mlsysim_core import plugins

    from .calibrate import calibrate, overlay

    maps = points.mappings()
    measured = {r["id"]: float(r["value"]) for r in _records()}
    out = []
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for hw, remaining in REMAINING.items():
            runs = Path(tmp, f"{hw}.json")
            runs.write_text(json.dumps(_rows_for(hw)))
            cal = calibrate(runs)
            before = [maps[pid].fn() for pid in remaining]
            lab = Path(tmp, f"{hw}.toml")
            lab.write_text(overlay(cal))
            saved = plugins._host
            plugins.reset(plugins.PluginHost())
            try:
                plugins.load_catalog(lab)
                after = [maps[pid].fn() for pid in remaining]
            finally:
                plugins.reset(saved)
            out.append(BeforeAfter(hw, cal, [(p, measured[p], b, a) for p, b, a in zip(remaining, before, after)]))
    return out


def report() -> str:
    """The text ``mlsysim validate --bands`` prints."""
    from mlsysim_cli.api._out import table
    from mlsysim_core.format import number

    rows = bands()
    lines = [
        "Bands (mlsysim_uncertainty ranges, corners through the mappings' own solver calls):",
        "",
        table(
            ["id", "measured", "predicted", "band", "covered", "half-width", "outside"],
            [
                [
                    b.id,
                    number(b.measured),
                    number(b.predicted),
                    f"[{number(b.low)}, {number(b.high)}]",
                    "yes" if b.covered else "NO",
                    f"{b.half_width:.1%}",
                    "" if b.covered else f"{b.outside:+.1%}",
                ]
                for b in rows
            ],
        ),
        "",
    ]
    for g in GROUPS:
        sel = [b for b in rows if b.group == g]
        if sel:
            cov = sum(b.covered for b in sel) / len(sel)
            med = statistics.median(b.half_width for b in sel)
            lines.append(
                f"group {g}: band contains the measurement for {sum(b.covered for b in sel)} of {len(sel)} "
                f"points ({cov:.0%}); median half-width {med:.1%}"
            )
    lines += ["", "Calibrating one hardware on its serving points (mlsysim calibrate), its other points:"]
    for ba in calibrations():
        head = ba.calibration.report().split("\n\n")[0]  # the fitted values, their range, what was kept
        lines += [
            "",
            f"{ba.hardware}, on " + ", ".join(pid for pid, _ in CALIBRATION_RUNS[ba.hardware]) + ":",
            head,
            table(
                ["id", "measured", "before", "after", "error before", "error after"],
                [
                    [p, number(m), number(b), number(a), f"{b / m - 1:+.1%}", f"{a / m - 1:+.1%}"]
                    for p, m, b, a in ba.remaining
                ],
            ),
        ]
        engine = ba.calibration.engine
        for label, picked in (
            (f" of engine {engine}", [r for r in ba.remaining if f"-{engine}-" in r[0]]),
            (
                " of other engines" if engine else "",
                [r for r in ba.remaining if not engine or f"-{engine}-" not in r[0]],
            ),
        ):
            if picked:
                lines.append(
                    f"median |error| on the other points{label}: before "
                    f"{statistics.median(abs(b / m - 1) for _, m, b, _ in picked):.1%}, after "
                    f"{statistics.median(abs(a / m - 1) for _, m, _, a in picked):.1%} ({len(picked)} points)"
                )
    return "\n".join(lines)
