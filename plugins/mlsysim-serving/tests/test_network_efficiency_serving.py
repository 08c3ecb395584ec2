"""ServingModel's network_efficiency: the link terms by hand, its checks, CLI option, sweep and band."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mlsysim_serving import ServingModel

import mlsysim
from mlsysim_core.errors import InvalidInputError
from mlsysim_physics import efficiency as E
from mlsysim_uncertainty import banded

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LLAMA70  # noqa: E402

serving = ServingModel()
TP4 = dict(seq_len=1024, batch_size=4, tp_size=4, precision="fp8")
MSG = 4 * 8192 * 2  # decode all-reduce message: B * d * 2 bytes (16-bit activations)
FIXED = 2 * 3 * 0.5e-6 + E.COLLECTIVE_LAUNCH_S  # ring latency 2(n-1)*alpha + launch, per call


def _bandwidth_term(eta):
    """2 all-reduces per layer x 80 layers x the ring's bandwidth term 2(n-1)/n * M / (beta * eta)."""
    return 2 * 80 * 2 * 3 / 4 * MSG / (450e9 * eta)


def test_halving_network_efficiency_doubles_the_allreduce_bandwidth_term():
    full = serving.solve(LLAMA70, H100, **TP4)
    half = serving.solve(LLAMA70, H100, **TP4, network_efficiency=E.NETWORK / 2)
    assert full.network_efficiency == E.NETWORK and half.network_efficiency == E.NETWORK / 2
    assert full.si("decode_communication_time") == pytest.approx(_bandwidth_term(0.8) + 2 * 80 * FIXED, rel=1e-9)
    assert half.si("decode_communication_time") == pytest.approx(_bandwidth_term(0.4) + 2 * 80 * FIXED, rel=1e-9)
    extra = half.si("decode_communication_time") - full.si("decode_communication_time")
    assert extra == pytest.approx(_bandwidth_term(0.8), rel=1e-9)  # the bandwidth term again: doubled
    assert half.si("itl") - full.si("itl") == pytest.approx(extra, rel=1e-9)  # on the critical path
    # compute and memory do not move
    assert half.si("decode_memory_time") == full.si("decode_memory_time")


def test_network_efficiency_moves_expert_all_to_all_and_kv_transfer():
    moe = dict(seq_len=2000, batch_size=64, tp_size=1, dp_attention=8, ep_size=8, precision="fp8")
    model = mlsysim.Models.Language.DeepSeek_V3
    # t = 2 L_moe (bytes / (beta * eta) + alpha + launch) = X / eta + Y: t(0.4) - t(0.8) = 1.25 X and
    # t(0.8) - t(1.0) = 0.25 X, a fifth of it
    one, a, b = (
        serving.solve(model, mlsysim.Hardware.Cloud.H100, **moe, network_efficiency=e).si("decode_all_to_all_time")
        for e in (1.0, 0.8, 0.4)
    )
    assert b - a == pytest.approx(5 * (a - one), rel=1e-9) and b > a > one > 0
    kw = dict(seq_len=4000, output_len=500, arrival_rate=4.0, fabric="IB_NDR")
    kw["disagg"] = "prefill=H100x8:tp8,decode=H200x8:tp4"
    full = serving.solve(LLAMA70, mlsysim.Hardware.Cloud.H100, **kw)
    half = serving.solve(LLAMA70, mlsysim.Hardware.Cloud.H100, **kw, network_efficiency=0.4)
    latency = 5e-6  # IB_NDR's per-hop latency (test_disagg_serving: 8.192 ms + 5 us at 0.8)
    assert half.si("kv_transfer_time") - latency == pytest.approx(2 * (full.si("kv_transfer_time") - latency))


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan"), "fast"])
def test_network_efficiency_out_of_range_is_refused(bad):
    with pytest.raises(InvalidInputError, match="network_efficiency") as err:
        serving.solve(LLAMA70, H100, **TP4, network_efficiency=bad)
    assert err.value.argument == "network_efficiency"
    with pytest.raises(InvalidInputError, match="network_efficiency"):
        serving.solve(
            LLAMA70,
            H100,
            4000,
            output_len=500,
            arrival_rate=4.0,
            fabric="IB_NDR",
            disagg="prefill=H100x8:tp8,decode=H200x8:tp4",
            network_efficiency=bad,
        )


def test_cli_option_and_json():
    import json

    from click.testing import CliRunner

    from mlsysim_cli import main

    args = ["serve", "Llama3_70B", "H100", "--seq-len", "1024", "--tp", "4", "--json"]
    out = CliRunner().invoke(main, [*args, "--network-efficiency", "0.4"])
    assert out.exit_code == 0, out.output
    answer = json.loads(out.output)
    assert answer["inputs"]["network_efficiency"] == answer["result"]["network_efficiency"] == 0.4
    bad = CliRunner().invoke(main, [*args, "--network-efficiency", "2"])
    assert bad.exit_code == 1 and "network_efficiency" in bad.output and "Traceback" not in bad.output
    assert len(bad.output.strip().splitlines()) == 1


def test_sweep_over_network_efficiency_matches_solve():
    etas = [0.4, 0.8, 1.0]
    table = mlsysim.sweep(serving, model=LLAMA70, hardware=H100, **TP4, network_efficiency=etas)
    assert list(table["network_efficiency"]) == etas
    for eta, itl in zip(etas, table["itl"].to("s").magnitude):
        assert itl == pytest.approx(serving.solve(LLAMA70, H100, **TP4, network_efficiency=eta).si("itl"), rel=1e-12)


def test_band_spans_the_network_efficiency_range():
    """With every other band argument given (held), the ITL band is the solves at the ends of NETWORK's
    range, 0.85 (fast) and 0.75 (slow)."""
    held = dict(efficiency=0.5, memory_efficiency=0.87, engine_overhead=1e-3)
    r = banded(serving, LLAMA70, H100, **TP4, **held)
    lo, hi = (q.to("s").magnitude for q in r.bands.ranges["itl"])
    fast = serving.solve(LLAMA70, H100, **TP4, **held, network_efficiency=0.85).si("itl")
    slow = serving.solve(LLAMA70, H100, **TP4, **held, network_efficiency=0.75).si("itl")
    assert (lo, hi) == (pytest.approx(fast, rel=1e-12), pytest.approx(slow, rel=1e-12))
    assert lo < r.si("itl") < hi
    given = banded(serving, LLAMA70, H100, **TP4, **held, network_efficiency=0.8)
    assert "itl" not in given.bands.ranges  # given explicitly: held, nothing moves
