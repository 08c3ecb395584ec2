"""PowerEfficiencyModel: hand-derived numbers, invariants, error paths, discovery as a plugin."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlsysim_power_efficiency import PowerEfficiencyModel, PowerEfficiencyResult

import mlsysim
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import ComputeCore, HardwareNode, MemoryHierarchy


def chip(tdp="500 W", **peaks):
    peaks = peaks or {"bf16": "400 TFLOP/s", "fp8": "800 TFLOP/s"}
    return HardwareNode(
        name="Test chip",
        compute=ComputeCore(precision_flops=peaks, default_precision=next(iter(peaks))),
        memory=MemoryHierarchy(capacity="64 GB", bandwidth="2 TB/s"),
        tdp=tdp,
        source="test",
    )


def test_h100_by_hand():
    # NVIDIA H100 SXM5: 989.5 TFLOP/s dense BF16, 700 W -> 989.5 / 0.7 = 1413.57 TFLOP/s per kW.
    r = PowerEfficiencyModel().solve(mlsysim.Hardware.Cloud.H100)
    assert isinstance(r, PowerEfficiencyResult) and r.solver == "PowerEfficiencyModel"
    assert r.device == "NVIDIA H100 SXM5 80GB"
    assert r.precision == "bf16"
    assert r.peak_flops.to("TFLOP/s").magnitude == pytest.approx(989.5)
    assert r.tdp.to("W").magnitude == pytest.approx(700)
    assert r.flops_per_watt.to("TFLOPs/s/kW").magnitude == pytest.approx(1413.571, rel=1e-5)
    # the same number in FLOP per joule: 1.41357e12 FLOP/J
    assert r.flops_per_watt.to("FLOP/J").magnitude == pytest.approx(1.413571e12, rel=1e-5)


def test_precision_argument():
    # H100 dense FP8 1979 TFLOP/s / 0.7 kW = 2827.14 TFLOP/s per kW
    r = PowerEfficiencyModel().solve(mlsysim.Hardware.Cloud.H100, precision="fp8")
    assert r.precision == "fp8"
    assert r.flops_per_watt.to("TFLOPs/s/kW").magnitude == pytest.approx(2827.143, rel=1e-5)


def test_test_chip_by_hand():
    r = PowerEfficiencyModel().solve(chip())
    assert r.flops_per_watt.to("TFLOPs/s/kW").magnitude == pytest.approx(800.0)  # 400 / 0.5
    r = PowerEfficiencyModel().solve(chip(), "fp8")
    assert r.flops_per_watt.to("TFLOPs/s/kW").magnitude == pytest.approx(1600.0)


def test_dict_style_access_and_to_dict():
    r = PowerEfficiencyModel().solve(chip())
    assert r["device"] == "Test chip"
    assert r["flops_per_watt"] == r.flops_per_watt
    with pytest.raises(KeyError):
        r["nope"]
    d = r.to_dict()
    assert d["solver"] == "PowerEfficiencyModel"
    assert d["flops_per_watt"]["value"] == pytest.approx(800.0)
    assert d["tdp"] == {"value": pytest.approx(500.0), "unit": "W"}
    json.dumps(d)
    assert "flops_per_watt" in r.explain()


def test_missing_tdp_is_a_clear_error():
    with pytest.raises(InvalidInputError, match=r"hardware='Test chip'.*TDP"):
        PowerEfficiencyModel().solve(chip(tdp=None))


def test_unsupported_precision_lists_supported_ones():
    with pytest.raises(InvalidInputError, match="precision='fp4'.*bf16, fp8"):
        PowerEfficiencyModel().solve(chip(), precision="fp4")
    with pytest.raises(InvalidInputError, match="precision='half'"):
        PowerEfficiencyModel().solve(chip(), precision="half")


def test_hardware_by_name_is_looked_up_and_a_typo_suggested():
    assert PowerEfficiencyModel().solve("H100") == PowerEfficiencyModel().solve(mlsysim.Hardware.Cloud.H100)
    with pytest.raises(InvalidInputError, match="hardware='H1000'.*did you mean H100"):
        PowerEfficiencyModel().solve("H1000")


@given(peak=st.floats(1.0, 1e5), tdp=st.floats(1.0, 5e4), k=st.floats(0.1, 10.0))
def test_efficiency_scales_with_peak_and_inverse_with_tdp(peak, tdp, k):
    solve = PowerEfficiencyModel().solve
    base = solve(chip(tdp=f"{tdp} W", fp16=f"{peak} TFLOP/s")).flops_per_watt.magnitude
    assert base == pytest.approx(peak / (tdp / 1000), rel=1e-9)
    more = solve(chip(tdp=f"{tdp} W", fp16=f"{peak * k} TFLOP/s")).flops_per_watt.magnitude
    hotter = solve(chip(tdp=f"{tdp * k} W", fp16=f"{peak} TFLOP/s")).flops_per_watt.magnitude
    assert more == pytest.approx(base * k, rel=1e-9)
    assert hotter == pytest.approx(base / k, rel=1e-9)


def test_every_catalog_part_with_a_tdp_solves():
    solve = PowerEfficiencyModel().solve
    for hw in mlsysim.Hardware:
        if hw.tdp is None:
            with pytest.raises(InvalidInputError, match="TDP"):
                solve(hw)
            continue
        r = solve(hw)
        assert r.flops_per_watt.magnitude > 0


def test_found_as_a_plugin():
    from mlsysim import PowerEfficiencyModel as Found

    assert Found is PowerEfficiencyModel
    assert mlsysim.PowerEfficiencyModel is PowerEfficiencyModel
    rec = {r.name: r for r in mlsysim.plugins()}["power_efficiency"]
    assert rec.status == "active" and rec.distribution == "mlsysim-power-efficiency"


def test_mlsysim_plugins_lists_it():
    from click.testing import CliRunner

    from mlsysim_cli import main

    out = CliRunner().invoke(main, ["plugins", "--json"])
    assert out.exit_code == 0, out.output
    row = {d["name"]: d for d in json.loads(out.output)}["power_efficiency"]
    assert row["solvers"] == ["PowerEfficiencyModel"] and row["status"] == "active"
    text = CliRunner().invoke(main, ["plugins"]).output
    assert "mlsysim-power-efficiency" in text and "PowerEfficiencyModel" in text


def test_what_if_variant_with_attrs_evolve():
    capped = attrs.evolve(mlsysim.Hardware.Cloud.H100, tdp="350 W")
    r = PowerEfficiencyModel().solve(capped)
    assert r.flops_per_watt.to("TFLOPs/s/kW").magnitude == pytest.approx(2 * 1413.571, rel=1e-5)


def test_command_and_sweep_from_the_public_cli_api(tmp_path):
    from click.testing import CliRunner

    from mlsysim_cli import main

    run = CliRunner().invoke
    out = run(main, ["power-efficiency", "h100", "--precision", "fp8", "--json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    assert d["inputs"] == {"hardware": "H100", "precision": "fp8", "efficiency": None}
    # 1979 TFLOP/s dense fp8 / 0.7 kW
    assert d["result"]["flops_per_watt"]["value"] == pytest.approx(1979 / 0.7, rel=1e-3)
    out = run(main, ["sweep", "power-efficiency", "--hardware", "A100,H100", "--precision", "fp16,fp8", "--csv", "-"])
    assert out.exit_code == 0, out.output
    rows = out.stdout.splitlines()
    assert len(rows) == 5 and "precision='fp8' is invalid" in rows[2]  # A100 has no fp8
    pytest.importorskip("matplotlib")
    png = tmp_path / "eff.png"
    out = run(main, ["sweep", "power-efficiency", "--hardware", "A100,H100,T4", "--plot", str(png)])
    assert out.exit_code == 0 and png.read_bytes()[:4] == b"\x89PNG"
