"""Energy per output token at the served rate (:mod:`mlsysim_serving.loaded_energy`): the busy/idle split of the
steady state, hand-derived at two rates, its fields in the result, JSON and a sweep, and a result that answers them
lazily keeps them through pickle, copy and equality."""

from __future__ import annotations

import copy
import json
import math
import pickle
import sys
from pathlib import Path

import pytest
from mlsysim_serving import ServingModel

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LLAMA8  # noqa: E402

M = ServingModel()
KW = dict(seq_len=1000, output_len=500)


def solve(rate, **extra):
    return M.solve(LLAMA8, H100, arrival_rate=rate, **KW, **extra)


@pytest.mark.parametrize("rate", [0.5, 3.0])
def test_busy_share_is_the_chance_the_engine_holds_a_request(rate):
    """b = 1 - exp(-rate x time in the engine), the time in the engine = e2e_mean less the request path outside it
    (M/G/inf: Takacs 1962)."""
    r = solve(rate)
    inside = r.e2e_mean.to("s").magnitude - r.request_overhead.to("s").magnitude
    assert r.busy_fraction == pytest.approx(1.0 - math.exp(-rate * inside), rel=1e-12)
    assert 0.0 < r.busy_fraction < 1.0


@pytest.mark.parametrize(("rate", "joules"), [(0.5, 0.504), (3.0, 0.084)])
def test_with_no_dynamic_draw_every_second_costs_the_idle_power(rate, joules):
    """Busy shares of TDP ~0 (1e-9): busy and idle draw are both 0.18 x 700 W = 126 W, so the energy per output token
    is 126 W / (rate x 500 tokens): 0.504 J at 0.5 req/s, 0.084 J at 3 req/s, whatever the busy share."""
    r = solve(rate, power_compute=1e-9, power_memory=1e-9)
    assert r.loaded_power.to("W").magnitude == pytest.approx(126.0, rel=1e-8)
    assert r.loaded_energy_per_token.to("J/token").magnitude == pytest.approx(joules, rel=1e-8)


@pytest.mark.parametrize("tp", [1, 2])
def test_energy_per_token_is_the_replicas_power_over_its_output_tokens(tp):
    for rate in (0.5, 3.0):
        r = solve(rate, tp_size=tp)
        want = tp * r.loaded_power.to("W").magnitude / r.output_tokens_per_second.to("1/s").magnitude
        assert r.loaded_energy_per_token.to("J/token").magnitude == pytest.approx(want, rel=1e-12)


def test_power_lies_between_idle_and_tdp_and_the_energy_per_token_falls_with_the_rate():
    rs = [solve(rate) for rate in (0.1, 0.5, 1.0, 3.0)]
    powers = [r.loaded_power.to("W").magnitude for r in rs]
    energies = [r.loaded_energy_per_token.to("J/token").magnitude for r in rs]
    assert all(0.18 * 700 <= p <= 700 for p in powers)
    assert powers == sorted(powers) and energies == sorted(energies, reverse=True)
    # at a low rate the idle draw dominates: above the static batch-1 decode's energy per token
    assert energies[0] > rs[0].energy_per_token.to("J").magnitude


def test_none_without_traffic_or_beyond_saturation():
    static = M.solve(LLAMA8, H100, seq_len=1000, batch_size=4)
    assert static.busy_fraction is None and static.loaded_power is None and static.loaded_energy_per_token is None
    over = solve(1e4)
    assert over.overloaded and over.loaded_energy_per_token is None and over.busy_fraction is None


def test_the_lazy_fields_survive_pickle_copy_equality_and_json():
    r = solve(3.0)
    fresh = solve(3.0)  # not read yet: answered on the first read of one, by pickle, copy or ==
    assert pickle.loads(pickle.dumps(fresh)).loaded_power == r.loaded_power
    assert copy.copy(solve(3.0)) == r and copy.deepcopy(solve(3.0)).busy_fraction == r.busy_fraction
    d = json.loads(json.dumps(solve(3.0).to_dict()))
    assert d["loaded_energy_per_token"]["unit"] == "J/token"
    assert d["loaded_energy_per_token"]["value"] == pytest.approx(r.loaded_energy_per_token.magnitude, rel=1e-12)


def test_a_sweep_of_rates_answers_what_each_solve_does():
    sw = ServingModel.sweep(model=LLAMA8, hardware=H100, arrival_rate=[0.5, 3.0, 1e4], **KW)
    got = list(sw.si("loaded_energy_per_token"))
    want = [solve(rate).si("loaded_energy_per_token") for rate in (0.5, 3.0)]
    assert got[:2] == pytest.approx(want, rel=1e-9)
    assert math.isnan(got[2])  # overloaded: no steady state served


def _disagg(rate=2.0, **extra):
    from mlsysim_serving import ServingModel as SM

    import mlsysim

    return SM().solve(
        mlsysim.Models.Language.Llama3_70B,
        mlsysim.Hardware.Cloud.H100,
        seq_len=2000,
        output_len=500,
        arrival_rate=rate,
        disagg="prefill=H100x8:tp8,decode=H200x8:tp4",
        fabric="IB_NDR",
        **extra,
    )


def test_a_disaggregated_layouts_energy_is_both_pools_power_over_its_output_tokens():
    """Busy shares ~0 (1e-9): every GPU of both pools draws 0.18 x 700 W = 126 W, so 16 GPUs over 2 req/s x 500 tokens
    is 16 x 126 / 1,000 = 2.016 J a token; with the fitted shares the prefill pool (busy a quarter of the time at
    2 req/s) draws less a GPU than the decode pool, each between idle and TDP."""
    idle = _disagg(power_compute=1e-9, power_memory=1e-9)
    assert idle.loaded_energy_per_token.to("J/token").magnitude == pytest.approx(2.016, rel=1e-8)
    r = _disagg()
    p, d = (x.to("W").magnitude for x in (r.prefill_loaded_power, r.decode_loaded_power))
    assert 126.0 < p < d < 700.0 and r.power_idle == 0.18
    want = (r.prefill_gpus * p + r.decode_gpus * d) / r.output_tokens_per_second.to("1/s").magnitude
    assert r.loaded_energy_per_token.to("J/token").magnitude == pytest.approx(want, rel=1e-12)
    assert "_aggregated_goodput_per_gpu" not in vars(r)  # read apart from the aggregated comparison
    assert _disagg(200.0).loaded_energy_per_token is None  # overloaded: no steady state served
    fresh = _disagg()
    assert pickle.loads(pickle.dumps(fresh)) == r and fresh.disagg_gain == r.disagg_gain


def test_the_draft_steps_work_counts_under_speculation(monkeypatch):
    """With a draft model (Llama-3.2-1B, k = 4) each verify step runs four draft steps beside it: their compute and
    memory seconds raise the busy draw over the same engine's with them left out."""
    from mlsysim_serving import loaded_energy as LE

    import mlsysim

    spec = dict(spec_draft=mlsysim.Models.Language.Llama3_1B, spec_k=4, spec_accept=0.7)
    with_draft = solve(2.0, **spec).loaded_power.to("W").magnitude
    monkeypatch.setattr(LE, "draft_parts", lambda *a: (0.0, 0.0))
    without = solve(2.0, **spec).loaded_power.to("W").magnitude
    assert 0.18 * 700 < without < with_draft <= 700
