"""Write ``mlsysim_uncertainty/data/domain.json``: what the calibration set measured, per solver.

Runs ``mlsysim validate``'s mappings (groups A and B, the solvers with bands) while recording the
arguments of every feasible ``ServingModel.solve`` call they make, and keeps per hardware the precisions, the
span of batch sizes and of context lengths (prompt + output tokens). ``--check`` fails when the
file is stale (tests/test_uncertainty.py runs it).
"""

from __future__ import annotations

import inspect
import json
import sys
import warnings
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "mlsysim_uncertainty" / "data" / "domain.json"
RECORDED = ("ServingModel",)


def _summary(calls: list[dict]) -> dict:
    return {
        "precisions": sorted({c["precision"] for c in calls}),
        "batch": [min(c["batch"] for c in calls), max(c["batch"] for c in calls)],
        "context": [min(c["context"] for c in calls), max(c["context"] for c in calls)],
    }


def domain() -> dict:
    """{solver: {"hardware": {name: span}, "all": span}} over the calibration set's mapped points."""
    from mlsysim_validation import run

    import mlsysim

    out = {}
    for name in RECORDED:
        cls = getattr(mlsysim, name)
        calls: list[dict] = []
        original = cls.solve
        signature = inspect.signature(original)

        def record(
            self: Any, *args: Any, _orig: Any = original, _sig: Any = signature, _calls: list = calls, **kw: Any
        ) -> Any:
            result = _orig(self, *args, **kw)
            a = _sig.bind(self, *args, **kw).arguments
            hw = a["hardware"]
            if not result.feasible:  # a probe of the largest batch that fits: not a measured point
                return result
            _calls.append(
                {
                    "hardware": hw.name,
                    "precision": a.get("precision") or hw.precision_or_default(None)[0],
                    "batch": a.get("batch_size", 1) * a.get("beam_width", 1),
                    "context": a["seq_len"] + (a.get("output_len") or 0),
                }
            )
            return result

        with mock.patch.object(cls, "solve", record), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run(groups=["A", "B"])
        by_hw: dict[str, list[dict]] = {}
        for c in calls:
            by_hw.setdefault(c["hardware"], []).append(c)
        out[name] = {"hardware": {h: _summary(cs) for h, cs in sorted(by_hw.items())}, "all": _summary(calls)}
    return out


def main(argv: list[str]) -> int:
    text = json.dumps(domain(), indent=1, sort_keys=True) + "\n"
    if "--check" in argv:
        if TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run python tools/calibration_domain.py")
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
