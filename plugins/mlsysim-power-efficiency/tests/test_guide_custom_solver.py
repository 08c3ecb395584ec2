"""The guide's "Writing a Custom Solver" example (../shared/spec/which-solver.qmd) runs as written.

The code block below is a verbatim copy of that section; the test runs it, then checks that the
plain-class version and this plugin's PowerEfficiencyModel agree on every device it prints.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from mlsysim_power_efficiency import PowerEfficiencyModel

import mlsysim

GUIDE_CUSTOM_SOLVER = '''
import mlsysim
from mlsysim.hardware.types import HardwareNode

class PowerEfficiencyModel:
    """Compare hardware on performance-per-watt."""

    def solve(self, hardware: HardwareNode) -> dict:
        if hardware.tdp is None:
            raise ValueError(f"{hardware.name}: no TDP specified")

        flops_per_watt = hardware.compute.peak_flops / hardware.tdp

        return {
            "device": hardware.name,
            "peak_flops": hardware.compute.peak_flops,
            "tdp": hardware.tdp,
            "flops_per_watt": flops_per_watt.to("TFLOPs/s/kW"),
        }

# Use it
solver = PowerEfficiencyModel()

for hw in [mlsysim.Hardware.Cloud.H100, mlsysim.Hardware.Cloud.A100,
           mlsysim.Hardware.Cloud.T4, mlsysim.Hardware.Edge.JetsonOrinNX]:
    r = solver.solve(hw)
    print(f"{r['device']:25s} {r['flops_per_watt']:>10.1f~}")
'''

DEVICES = ("Cloud.H100", "Cloud.A100", "Cloud.T4", "Edge.JetsonOrinNX")


def _hw(path):
    obj = mlsysim.Hardware
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("path", DEVICES)
def test_catalog_entries_used_by_the_example_exist_with_tdp(path):
    assert _hw(path).tdp is not None


def test_guide_custom_solver_runs_as_written():
    namespace: dict = {"__name__": "guide_example"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(GUIDE_CUSTOM_SOLVER, "which-solver.qmd#writing-a-custom-solver", "exec"), namespace)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(DEVICES)
    guide_solver = namespace["PowerEfficiencyModel"]()
    for line, path in zip(lines, DEVICES):
        hw = _hw(path)
        mine = PowerEfficiencyModel().solve(hw)
        theirs = guide_solver.solve(hw)
        assert line.startswith(hw.name[:25])
        assert theirs["flops_per_watt"].to("TFLOPs/s/kW").magnitude == pytest.approx(
            mine.flops_per_watt.to("TFLOPs/s/kW").magnitude, rel=1e-9
        )
        assert f"{mine.flops_per_watt.to('TFLOPs/s/kW').magnitude:.1f}" in line
    # H100 by hand: 989.5 TFLOP/s / 0.7 kW
    assert "1413.6" in lines[0]


def test_copy_is_still_verbatim():
    from pathlib import Path

    guide = Path(__file__).resolve().parents[3].parent / "shared" / "spec" / "which-solver.qmd"
    if not guide.exists():
        pytest.skip(f"{guide} is not beside this checkout")
    assert GUIDE_CUSTOM_SOLVER.strip() in guide.read_text()
