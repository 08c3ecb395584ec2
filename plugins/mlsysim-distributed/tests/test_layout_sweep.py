"""A sweep over many layouts at once (tp, pp, cp, ep, v_stages and zero_stage are vector arguments: one
block holds many layouts, mlsysim_distributed.layouts) answers exactly what solve() answers at every point."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import mlsysim
from mlsysim_core.errors import InvalidInputError

M, C = mlsysim.Models.Language, mlsysim.Systems.Clusters


def _same(got, want):
    if hasattr(want, "magnitude"):
        want = want.magnitude
    if isinstance(want, float) or isinstance(got, (float, np.floating)):
        return (want is None and np.isnan(got)) or np.isclose(got, want, rtol=1e-12, atol=0)
    return got == want or getattr(want, "name", None) == got


@pytest.mark.parametrize(
    "model, fixed",
    [
        (M.Llama3_70B, dict(schedule=None, activation_recomputation="none", tokens=1e12, ep_size=[1, 2])),
        (M.Llama3_70B, dict(schedule="zb-v", cp_variant="all-gather", sequence_parallel=False)),
        (M.Llama3_8B, dict(schedule="dualpipe", overlap_comm=True, tp_overlap=True)),
        (M.Mixtral_8x7B, dict(schedule="gpipe", activation_recomputation="full", ep_size=[1, 2])),
        # node-limited routing: the all-to-all forwards where the expert group spans nodes (tp x pp x ep > 8)
        (M.DeepSeek_V3, dict(schedule="1f1b", ep_size=[1, 8, 16])),
    ],
)
def test_layout_sweep_equals_solve(model, fixed):
    """Every point of a grid that mixes valid and invalid layouts, fractional micro-batches and
    memory-infeasible points: the same fields, errors, notes and reasons as solve()."""
    axes = dict(
        **{k: v for k, v in fixed.items() if isinstance(v, list)},
        fleet=[C.Research_256],
        batch_size=[256, 3],
        tp_size=[1, 8, 3],
        pp_size=[1, 2, 4],
        cp_size=[1, 2],
        v_stages=[1, 2],
        zero_stage=[0, 3],
        microbatch_count=[1, 64],
    )
    solver = mlsysim.DistributedModel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        swept = solver.sweep(model=model, **{**fixed, **axes})
        units = {name: swept.unit(name) for name in swept.fields()}
        for i, values in enumerate(itertools.product(*axes.values())):
            kw = {**fixed, **dict(zip(axes, values))}
            try:
                r = solver().solve(model=model, **kw)
            except InvalidInputError as exc:
                assert not swept.valid[i] and swept.error[i] == str(exc), (kw, swept.error[i])
                continue
            assert swept.valid[i], (kw, swept.error[i])
            assert set(r.fields()) <= set(swept.fields())
            for name in r.fields():
                want = getattr(r, name)
                want = want.to(units[name]) if want is not None and units[name] is not None else want
                assert _same(swept.magnitude(name, i), want), (kw, name, swept.magnitude(name, i), want)
