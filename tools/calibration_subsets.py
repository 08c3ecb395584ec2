"""Write ``plugins/mlsysim-validation/src/mlsysim_validation/data/calibration_subsets.json``: calibrating on 3
and 5 of one hardware's serving points, its other points before and after (``mlsysim_validation.subsets``:
the rule, the groups and the subsets). Minutes of fits: ``--check`` (and the spot check in
plugins/mlsysim-validation/tests/test_subsets.py) fails when the file is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from generated_file import write_or_check

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "plugins" / "mlsysim-validation" / "src" / "mlsysim_validation" / "data" / "calibration_subsets.json"


def text() -> str:
    """The file's current content, from the calibration set."""
    from mlsysim_validation.subsets import study

    return json.dumps(study(), indent=1) + "\n"


def main(argv: list[str]) -> int:
    return write_or_check(TARGET, text(), argv, "calibration_subsets.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
