"""Ranges of the named defaults (mlsysim_uncertainty.ranges): every efficiency and overhead of
mlsysim_physics.efficiency has one, derived as documented and shown in docs/accuracy.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlsysim_physics import efficiency as E
from mlsysim_uncertainty.ranges import DECODE_DRAW_SHARE, RANGES, UNBANDED, _gptf23_layer_overhead

DOC = (Path(__file__).resolve().parents[1] / "docs" / "accuracy.md").read_text()


def test_every_named_default_has_a_range():
    ranged = ({r.name for r in RANGES.values()} | set(UNBANDED)) & set(E.NAMED_DEFAULTS)
    assert ranged == set(E.NAMED_DEFAULTS)
    for name, r in UNBANDED.items():
        assert r.name == name and r.default == E.NAMED_DEFAULTS[name] and r.low <= r.default <= r.high and r.source


def test_layer_overhead_range_is_its_derivation_at_the_memory_stream_ends():
    # (1/104.9 - 13.32e9 / (eta * 2.039e12)) / 32 by hand: eta 0.76 -> (9.5329 - 8.5956) ms / 32 = 29.3 us,
    # eta 0.93 -> (9.5329 - 7.0243) ms / 32 = 78.4 us, eta 0.87 (the default's derivation) -> 63.3 us
    assert UNBANDED["LAYER_OVERHEAD_S"].low == pytest.approx(29.29e-6, rel=1e-3)
    assert UNBANDED["LAYER_OVERHEAD_S"].high == pytest.approx(78.39e-6, rel=1e-3)
    assert _gptf23_layer_overhead(E.MEMORY_STREAM) == pytest.approx(E.LAYER_OVERHEAD_S, abs=0.5e-6)
    assert UNBANDED["COMPUTE_NARROW"].high == pytest.approx(0.5 * 0.76 / 0.6)


def _shown(value: float, unit: str) -> str:
    return f"{value / {'': 1.0, ' us': 1e-6}[unit]:.3g}"


@pytest.mark.parametrize("name", sorted(UNBANDED))
def test_the_accuracy_table_shows_each_unbanded_range(name):
    r = UNBANDED[name]
    unit = " us" if name.endswith("_S") else ""
    row = re.search(rf"^\| [^|]+ \| `{name}` [^|]+ \| ([^|]+) \| {r.tier} \|", DOC, re.M)
    assert row, name
    assert row.group(1).strip() == f"{_shown(r.low, unit)}-{_shown(r.high, unit)}{unit}"


def _h200_decode_shares(batch: int, shares: tuple[float, float, float]) -> float:
    """Llama-3-8B decode on an H200 (1,024-token context) at ``shares`` (idle, compute, memory), as a share of TDP."""
    import mlsysim
    from mlsysim_physics.equations import step_power

    h200 = mlsysim.Hardware.Cloud.H200
    r = mlsysim.ServingModel().solve(mlsysim.Models.Language.Llama3_8B, h200, 1024, batch, output_len=256)
    t_c, t_m, itl = r.si("decode_compute_time"), r.si("decode_memory_time"), r.si("itl")
    return step_power(1.0, t_c, t_m, itl, *shares)[0]


def test_the_power_band_reaches_the_measured_decode_draw():
    """[MA26]: an H200's decode draws 137-300 W of 700 W (0.20-0.43 of TDP); the power shares' band for an 8B
    decode on that part spans into that span at batch 1 and at 64, and the defaults (the fit) draw as docs say."""
    assert DECODE_DRAW_SHARE == pytest.approx((0.1957, 0.4286), abs=1e-4)
    arguments = ("power_idle", "power_compute", "power_memory")
    low, nominal, high = (tuple(getattr(RANGES[a], end) for a in arguments) for end in ("low", "default", "high"))
    shown = []
    for batch in (1, 64):
        assert _h200_decode_shares(batch, low) < DECODE_DRAW_SHARE[1]
        assert _h200_decode_shares(batch, high) > DECODE_DRAW_SHARE[0]
        shown.append(_h200_decode_shares(batch, nominal))
    assert "[MA26]" in DOC and "0.20-0.43 of TDP" in DOC
    assert "draws {:.2f} of TDP at batch 1, {:.2f} at 64".format(*shown) in DOC
    # by hand at batch 1: u_c ~ 0, u_m = 0.544 (3.36 ms of weights at 0.87 x 4.8 TB/s over a 6.6 ms step):
    # 0.18 + 0.46 x 0.544 = 0.43
    assert shown[0] == pytest.approx(0.18 + 0.46 * 0.544, abs=0.005)


def test_every_sourced_measurement_lies_within_its_range():
    from mlsysim_uncertainty.ranges import MEASURED

    outside = [
        (m.source, m.value, RANGES[m.argument])
        for m in MEASURED
        if not RANGES[m.argument].low <= m.value <= RANGES[m.argument].high
    ]
    assert not outside
    assert {m.argument for m in MEASURED} == {"memory_efficiency", "efficiency", "engine_overhead"}


def test_the_h200_measurements_are_the_raw_files():
    # the project's own H200 figures, read from the device files: read and copy GB/s over the catalog's 4.8 TB/s,
    # and the serving loop's largest mean host time per decode step
    import json

    import mlsysim
    from mlsysim_uncertainty.ranges import MEASURED

    root = Path(__file__).resolve().parents[1] / "bench" / "device"
    peak = mlsysim.Hardware.Cloud.H200.memory.bandwidth.m_as("GB/s")
    found = []
    for suffix in ("", "b"):
        points = json.loads((root / f"h200_2026-12-04{suffix}.json").read_text())["points"]
        found += [p["gb_s"] / peak for p in points if p["kind"] in ("hbm_read_sum", "hbm_copy")]
    held = [m.value for m in MEASURED if m.source.startswith("[H200DEV]") and m.argument == "memory_efficiency"]
    assert sorted(held) == pytest.approx(sorted(found), abs=1e-4)
    assert max(found) == pytest.approx(0.9276, abs=1e-4)  # 4,452.6 GB/s / 4,800: above the 0.90 the range had
    host = max(
        level["decode_host_s"]["mean"]
        for f in sorted(root.glob("h200_serve_*.json"))
        for level in json.loads(f.read_text())["levels"]
    )
    (loop,) = [m.value for m in MEASURED if m.argument == "engine_overhead"]
    assert loop == pytest.approx(host, rel=2e-3)
