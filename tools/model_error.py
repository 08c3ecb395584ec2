"""Write ``mlsysim_uncertainty/data/model_error.json``: the model-form error of each error class.

Runs ``mlsysim validate``'s mappings once (``mlsysim_validation.coverage.bands``: each counted
prediction with the model-error class of the solver call giving it) and writes, per class, n, q and
the sorted |ln(measured / predicted)| (``mlsysim_uncertainty.model_error.table``). ``--check`` fails when
the file is stale (plugins/mlsysim-validation/tests/test_coverage.py compares it with the same run its
coverage test uses, so the suite runs the mappings once).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from generated_file import write_or_check

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "mlsysim_uncertainty" / "data" / "model_error.json"


def text() -> str:
    """The file's current content, from the calibration set."""
    from mlsysim_validation import coverage

    from mlsysim_uncertainty.model_error import table

    return json.dumps(table(coverage.class_errors(coverage.bands())), indent=1) + "\n"


def main(argv: list[str]) -> int:
    return write_or_check(TARGET, text(), argv, "model_error.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
