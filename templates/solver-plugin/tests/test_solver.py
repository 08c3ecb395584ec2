"""Tests of the template solver: numbers derived by hand, an invariant, error paths, discovery."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlsysim_arithmetic_intensity import ArithmeticIntensityModel

import mlsysim
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import ComputeCore, HardwareNode, MemoryHierarchy
from mlsysim_core.units import Q_

# A made-up part with round numbers, so the expected values are easy to check by hand:
# 100 TFLOP/s (fp16), 200 TFLOP/s (fp8), 1 TB/s -> ridge point 100 FLOP/B at fp16.
CHIP = HardwareNode(
    name="Round chip",
    source="test",
    compute=ComputeCore(precision_flops={"fp16": "100 TFLOP/s", "fp8": "200 TFLOP/s"}, default_precision="fp16"),
    memory=MemoryHierarchy(capacity="16 GB", bandwidth="1 TB/s"),
)


def test_memory_bound_by_hand():
    # 1 GFLOP over 100 MB: I = 10 FLOP/B < 100 -> memory bound; attainable 10 * 1 TB/s = 10 TFLOP/s;
    # time = max(1e9 / 1e14, 1e8 / 1e12) = 1e-4 s = 0.1 ms
    r = ArithmeticIntensityModel().solve(CHIP, flops=Q_(1, "GFLOP"), bytes_moved=Q_(100, "MB"))
    assert r.intensity.to("FLOP/B").magnitude == pytest.approx(10)
    assert r.ridge_point.to("FLOP/B").magnitude == pytest.approx(100)
    assert r.attainable_flops.to("TFLOP/s").magnitude == pytest.approx(10)
    assert r.latency.to("ms").magnitude == pytest.approx(0.1)
    assert r.bottleneck == "Memory" and r.precision == "fp16" and r["device"] == "Round chip"


def test_compute_bound_by_hand_and_precision():
    # 1 TFLOP over 1 GB: I = 1000 FLOP/B; fp8 ridge = 200 FLOP/B -> compute bound, 200 TFLOP/s, 5 ms
    r = ArithmeticIntensityModel().solve(CHIP, flops=Q_(1, "TFLOP"), bytes_moved=Q_(1, "GB"), precision="fp8")
    assert r.ridge_point.to("FLOP/B").magnitude == pytest.approx(200)
    assert r.attainable_flops.to("TFLOP/s").magnitude == pytest.approx(200)
    assert r.latency.to("ms").magnitude == pytest.approx(5)
    assert r.bottleneck == "Compute"


def test_catalog_h100_square_gemm():
    # 4096^3 GEMM in bf16: 2*4096^3 FLOP over 3 * 4096^2 * 2 B -> I = 4096/3 = 1365.3 FLOP/B;
    # H100 ridge = 989.5e12 / 3.35e12 = 295.4 FLOP/B -> compute bound
    n = 4096
    r = ArithmeticIntensityModel().solve(
        mlsysim.Hardware.Cloud.H100, flops=Q_(2 * n**3, "FLOP"), bytes_moved=Q_(3 * n * n * 2, "B")
    )
    assert r.intensity.magnitude == pytest.approx(n / 3)
    assert r.ridge_point.magnitude == pytest.approx(989.5 / 3.35, rel=1e-6)
    assert r.bottleneck == "Compute"


@given(flops=st.floats(1e3, 1e18), nbytes=st.floats(1e3, 1e15))
def test_attainable_never_exceeds_either_roof(flops, nbytes):
    r = ArithmeticIntensityModel().solve(CHIP, flops=Q_(flops, "FLOP"), bytes_moved=Q_(nbytes, "B"))
    attainable = r.attainable_flops.to("FLOP/s").magnitude
    assert attainable <= 1e14 * (1 + 1e-12)
    assert attainable <= flops / nbytes * 1e12 * (1 + 1e-12)
    assert r.latency.to("s").magnitude >= max(flops / 1e14, nbytes / 1e12) * (1 - 1e-12)


def test_bad_inputs_name_the_argument():
    solve = ArithmeticIntensityModel().solve
    with pytest.raises(InvalidInputError, match="flops"):
        solve(CHIP, flops=1e9, bytes_moved=Q_(1, "GB"))  # a bare number: unit unknown
    with pytest.raises(InvalidInputError, match="bytes_moved"):
        solve(CHIP, flops=Q_(1, "GFLOP"), bytes_moved=Q_(1, "s"))  # wrong dimension
    with pytest.raises(InvalidInputError, match="bytes_moved"):
        solve(CHIP, flops=Q_(1, "GFLOP"), bytes_moved=Q_(0, "B"))  # zero
    with pytest.raises(InvalidInputError, match="precision='fp4'"):
        solve(CHIP, flops=Q_(1, "GFLOP"), bytes_moved=Q_(1, "GB"), precision="fp4")
    with pytest.raises(InvalidInputError, match="hardware='H1000'.*did you mean H100"):  # names are looked up
        solve("H1000", flops=Q_(1, "GFLOP"), bytes_moved=Q_(1, "GB"))


def test_found_through_its_entry_point():
    rec = {r.name: r for r in mlsysim.plugins()}.get("arithmetic_intensity")
    assert rec is not None and rec.status == "active", "pip install -e . first"
    from mlsysim import ArithmeticIntensityModel as Found

    assert Found is ArithmeticIntensityModel


def test_discovery_does_not_import_the_solver():
    """The host imports plugin.py at discovery; the solver (numpy, pint) loads on first use only."""
    import subprocess
    import sys

    code = (
        "import sys, mlsysim_arithmetic_intensity.plugin as p; "
        "print('mlsysim_arithmetic_intensity.solver' in sys.modules, p.mlsysim_solvers()[0].name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "ArithmeticIntensityModel"]


def test_command_and_sweep_through_the_public_cli_api():
    import json

    from click.testing import CliRunner

    from mlsysim_cli import main

    run = CliRunner().invoke
    # 1 GFLOP over 100 MB on H100: I = 10 FLOP/B < ridge 295 -> memory bound, 10 x 3.35 TB/s = 33.5 TFLOP/s
    out = run(main, ["arithmetic-intensity", "H100", "--flops", "1e9", "--bytes", "1e8", "--json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    assert d["solver"] == "ArithmeticIntensityModel" and d["inputs"]["hardware"] == "H100"
    assert d["result"]["bottleneck"] == "Memory"
    assert d["result"]["attainable_flops"] == {"value": pytest.approx(33.5), "unit": "TFLOP/s"}
    out = run(
        main,
        ["sweep", "arithmetic-intensity", "--hardware", "H100", "--flops", "1e9,1e12", "--bytes", "1e8", "--json", "-"],
    )
    assert out.exit_code == 0, out.output
    points = json.loads(out.stdout)["points"]
    assert [p["result"]["bottleneck"] for p in points] == ["Memory", "Compute"]
    assert points[0]["result"] == d["result"]
    bad = run(main, ["arithmetic-intensity", "H100", "--flops", "0", "--bytes", "1e8"])
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: --flops: ")
