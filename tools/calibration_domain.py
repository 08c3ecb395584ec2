"""Write ``mlsysim_uncertainty/data/domain.json``: what the calibration set measured, per solver.

Runs ``mlsysim validate``'s mappings (every group: ``mlsysim_validation.coverage.domain_calls``, whose
leave-one-out domains the coverage report checks) while recording the arguments of every feasible
``solve`` call they make to a solver declaring efficiency ranges of a domain of its own (the solvers whose
bands state an out-of-domain line, ``mlsysim_uncertainty.bands.domain_solvers``), and keeps per solver and
hardware (a fleet's accelerator) the precisions, the span of batch sizes and of context lengths
(prompt + output tokens; none for a workload without a sequence). ``--check`` fails when the
file is stale (tests/test_uncertainty.py runs it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from generated_file import write_or_check

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "mlsysim_uncertainty" / "data" / "domain.json"


def domain() -> dict:
    """{solver: {"hardware": {name: span}, "all": span}} over the calibration set's mapped points."""
    from mlsysim_validation.coverage import domain_calls

    from mlsysim_uncertainty.bands import domain_solvers
    from mlsysim_uncertainty.domain import spans

    made = domain_calls().values()
    calls = {name: [c for m in made for c in m[name]] for name in domain_solvers()}
    return {name: spans(c) for name, c in calls.items() if c}  # none measured: "has no calibration points"


def main(argv: list[str]) -> int:
    return write_or_check(TARGET, json.dumps(domain(), indent=1, sort_keys=True) + "\n", argv, "calibration_domain.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
