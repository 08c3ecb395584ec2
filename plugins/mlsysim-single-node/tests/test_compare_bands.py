"""``mlsysim compare --bands``: each part's latency and throughput with its band, as ``banded`` gives them, and
every part's out-of-domain lines, with bands or without (issue 20)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import mlsysim
from mlsysim_cli import main
from mlsysim_core.results import shown
from mlsysim_uncertainty import banded

ARGS = ["compare", "H100", "A100", "--model", "Llama3_8B", "--batch-size", "8"]


def test_compare_with_bands_shows_each_parts_band_as_banded_gives_it():
    out = CliRunner().invoke(main, [*ARGS, "--bands"])
    assert out.exit_code == 0, out.output
    for hw in (mlsysim.Hardware.Cloud.H100, mlsysim.Hardware.Cloud.A100):
        r = banded(mlsysim.SingleNodeModel, mlsysim.Models.Language.Llama3_8B, hw, batch_size=8)
        assert "latency" in r.bands and shown(r, "latency") in out.output  # "8.1 ms [6.9, 9.6]"
    assert "out of domain (beyond the calibration set):\n  H100: precision bf16 was never measured" in out.output
    assert "  A100: hardware NVIDIA A100 SXM4 80GB was never measured" in out.output


def test_compare_json_rows_carry_the_bands_and_the_plain_table_states_the_domain():
    rows = json.loads(CliRunner().invoke(main, [*ARGS, "--bands", "--json"]).output)["rows"]
    r = banded(mlsysim.SingleNodeModel, mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100, batch_size=8)
    low, high = (q.to("ms").magnitude for q in r.bands["latency"])
    band = rows[0]["result"]["bands"]["latency"]
    assert (band["low"]["value"], band["high"]["value"]) == pytest.approx((low, high), rel=1e-12)
    plain = CliRunner().invoke(main, ARGS).output
    assert " [" not in plain.split("out of domain")[0] and "A100: hardware NVIDIA A100 SXM4 80GB" in plain
