"""The bands' coverage of the calibration set (docs/accuracy.md, Bands; mlsysim validate --bands)."""

from __future__ import annotations

from mlsysim_validation import coverage


def test_bands_contain_most_measurements_and_their_predictions():
    rows = coverage.bands()
    assert {b.group for b in rows} == {"A", "B"} and len(rows) >= 10
    assert all(b.low <= b.predicted <= b.high for b in rows)
    assert sum(b.covered for b in rows) / len(rows) >= 0.8  # issue 20: at least 80 %
    serving = [b for b in rows if b.group == "B"]
    assert sum(b.covered for b in serving) / len(serving) >= 0.8
    # points no banded solver moves get no band (SingleNodeModel: ResNet-50, SDXL)
    assert not any("resnet50" in b.id or "diffusion" in b.id for b in rows)


def test_calibration_runs_name_records_of_their_hardware():
    for hw, runs in coverage.CALIBRATION_RUNS.items():
        rows = coverage._rows_for(hw)
        assert len(rows) == len(runs) >= 3 and all(r["hardware"] == hw and r["value"] > 0 for r in rows)
