"""Group S's conversions (serving_points): acceptance length -> alpha, and an EAGLE head's cost share."""

from __future__ import annotations

import pytest
from mlsysim_validation.serving_points import alpha_from_acceptance_length, eagle_draft_share

from mlsysim_core.errors import InvalidInputError


@pytest.mark.parametrize(("tau", "k"), [(2.1, 2), (3.54, 7), (5.39, 8), (1.01, 1)])
def test_alpha_reproduces_the_acceptance_length(tau, k):
    a = alpha_from_acceptance_length(tau, k)
    assert 0 < a < 1 and sum(a**i for i in range(k + 1)) == pytest.approx(tau, rel=1e-9)


def test_acceptance_length_outside_the_chain_is_refused():
    for tau, k in ((1.0, 4), (5.0, 4), (0.5, 2)):
        with pytest.raises(InvalidInputError, match="tau"):
            alpha_from_acceptance_length(tau, k)


def test_eagle_head_share_counts_one_layer_fusion_and_head():
    import mlsysim

    m = mlsysim.Models.Language.Llama3_8B  # 8,030,261,248 params, 32 layers, h 4096, V 128,256 (untied)
    layer = (8_030_261_248 - 2 * 128_256 * 4096) / 32
    assert eagle_draft_share(m, 3, 32000) == pytest.approx((layer + 3 * 4096**2 + 32000 * 4096) / 8_030_261_248)
    assert eagle_draft_share(m, 2) > eagle_draft_share(m, 3, 32000)  # EAGLE-1 samples the full vocabulary
