"""Write ``mlsysim_uncertainty/data/domain.json``: what the calibration set measured, per solver.

Runs ``mlsysim validate``'s mappings (every group) while recording the arguments of every feasible
``solve`` call they make to a solver declaring efficiency ranges of a domain of its own (the solvers whose
bands state an out-of-domain line, ``mlsysim_uncertainty.bands.domain_solvers``), and keeps per solver and
hardware (a fleet's accelerator) the precisions, the span of batch sizes and of context lengths
(prompt + output tokens; none for a workload without a sequence). ``--check`` fails when the
file is stale (tests/test_uncertainty.py runs it).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import sys
import warnings
from pathlib import Path
from typing import Any
from unittest import mock

from generated_file import write_or_check

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "mlsysim_uncertainty" / "data" / "domain.json"


def _summary(calls: list[dict]) -> dict:
    contexts = [c["context"] for c in calls if c["context"] is not None]
    return {
        "precisions": sorted({c["precision"] for c in calls}),
        "batch": [min(c["batch"] for c in calls), max(c["batch"] for c in calls)],
        "context": [min(contexts), max(contexts)] if contexts else None,
    }


def _recorder(original: Any, calls: list[dict]) -> Any:
    """``original`` (a solve method) recording the hardware, precision, batch and context of each
    feasible call in ``calls``."""
    signature = inspect.signature(original)

    def record(self: Any, *args: Any, **kw: Any) -> Any:
        result = original(self, *args, **kw)
        if not getattr(result, "feasible", True):  # a probe of the largest batch that fits: not a measured point
            return result
        a = signature.bind(self, *args, **kw).arguments
        hw = a["hardware"] if "hardware" in a else a["fleet"].accelerator
        seq = getattr(result, "seq_len", None)
        calls.append(
            {
                "hardware": hw.name,
                "precision": a.get("precision") or hw.precision_or_default(None)[0],
                "batch": a.get("batch_size", 1) * a.get("beam_width", 1),
                "context": None if seq is None else seq + (a.get("output_len") or 0),
            }
        )
        return result

    return record


def domain() -> dict:
    """{solver: {"hardware": {name: span}, "all": span}} over the calibration set's mapped points."""
    from mlsysim_validation import run

    import mlsysim
    from mlsysim_uncertainty.bands import domain_solvers

    calls: dict[str, list[dict]] = {name: [] for name in domain_solvers()}
    with contextlib.ExitStack() as patches, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in calls:
            cls = getattr(mlsysim, name)
            patches.enter_context(mock.patch.object(cls, "solve", _recorder(cls.solve, calls[name])))
        run()
    out = {}
    for name, made in calls.items():
        by_hw: dict[str, list[dict]] = {}
        for c in made:
            by_hw.setdefault(c["hardware"], []).append(c)
        out[name] = {"hardware": {h: _summary(cs) for h, cs in sorted(by_hw.items())}, "all": _summary(made)}
    return out


def main(argv: list[str]) -> int:
    return write_or_check(TARGET, json.dumps(domain(), indent=1, sort_keys=True) + "\n", argv, "calibration_domain.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
