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
import json
import sys
import warnings
from pathlib import Path
from unittest import mock

from generated_file import write_or_check

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "mlsysim_uncertainty" / "data" / "domain.json"


def domain() -> dict:
    """{solver: {"hardware": {name: span}, "all": span}} over the calibration set's mapped points."""
    from mlsysim_validation import run

    import mlsysim
    from mlsysim_uncertainty.bands import domain_solvers
    from mlsysim_uncertainty.domain import recorder, spans

    calls: dict[str, list[dict]] = {name: [] for name in domain_solvers()}
    with contextlib.ExitStack() as patches, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in calls:
            cls = getattr(mlsysim, name)
            patches.enter_context(mock.patch.object(cls, "solve", recorder(cls.solve, calls[name])))
        run()
    return {name: spans(made) for name, made in calls.items()}


def main(argv: list[str]) -> int:
    return write_or_check(TARGET, json.dumps(domain(), indent=1, sort_keys=True) + "\n", argv, "calibration_domain.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
