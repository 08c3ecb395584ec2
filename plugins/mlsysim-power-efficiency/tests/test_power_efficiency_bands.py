"""PowerEfficiencyModel gets bands the way a built-in solver does: it declares the argument taking a named
efficiency (``band_arguments``) and the banded fields (``band_fields``), nothing else (issue 20 item 1)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from mlsysim_power_efficiency import PowerEfficiencyModel

import mlsysim
from mlsysim_cli import main
from mlsysim_core.errors import InvalidInputError
from mlsysim_uncertainty import banded

H100 = mlsysim.Hardware.Cloud.H100


def _kw(q):
    return q.to("TFLOPs/s/kW").magnitude


def test_achieved_compute_per_watt_by_hand():
    # H100 dense BF16 989.5 TFLOP/s at COMPUTE_WIDE 0.60, drawing its 700 W: 0.6 x 989.5 / 0.7 = 848.14 TFLOP/s per kW
    r = PowerEfficiencyModel().solve(H100)
    assert r.efficiency == 0.6 and _kw(r.achieved_flops_per_watt) == pytest.approx(848.143, rel=1e-5)
    assert _kw(PowerEfficiencyModel().solve(H100, efficiency=0.5).achieved_flops_per_watt) == pytest.approx(
        706.786, 1e-5
    )


def test_the_band_ends_are_solves_at_the_ends_of_the_efficiency_range():
    r = banded(PowerEfficiencyModel, H100)
    low, high = (_kw(q) for q in r.bands["achieved_flops_per_watt"])
    # COMPUTE_WIDE's range 0.44-0.76: 0.44 x 989.5 / 0.7 = 621.97, 0.76 x 989.5 / 0.7 = 1,074.31
    assert (low, high) == pytest.approx((621.971, 1074.314), rel=1e-5)
    ends = [PowerEfficiencyModel().solve(H100, efficiency=e).achieved_flops_per_watt for e in (0.44, 0.76)]
    assert (low, high) == pytest.approx([_kw(q) for q in ends], rel=1e-12)
    assert "flops_per_watt" not in r.bands  # the datasheet ratio has no efficiency in it
    assert r.out_of_domain == ("PowerEfficiencyModel has no calibration points",)


def test_an_efficiency_given_is_held_and_a_bad_one_is_refused():
    assert not banded(PowerEfficiencyModel, H100, efficiency=0.5).bands
    with pytest.raises(InvalidInputError, match="efficiency"):
        PowerEfficiencyModel().solve(H100, efficiency=1.5)


def test_the_command_shows_the_band_and_says_it_is_out_of_domain():
    out = CliRunner().invoke(main, ["power-efficiency", "H100", "--bands"])
    assert out.exit_code == 0, out.output
    assert "achieved_flops_per_watt  848.1 TFLOP/s/kW [622, 1074]" in out.output
    assert "out of domain (beyond the calibration set):\n  PowerEfficiencyModel has no calibration points" in out.output
