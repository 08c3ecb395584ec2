"""docs/accuracy.md's peer cross-check is generated from the live solvers: a physics change that
moves one of our (or a hand) number fails here until ``python bench/peers/table.py --write`` is run.
Reads only the recorded peer results (bench/peers/peer_results.json); the peers are never imported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import mlsysim

PEERS_DIR = Path(__file__).resolve().parents[1] / "bench" / "peers"
sys.path.insert(0, str(PEERS_DIR))
import hand
import table
from peer_configs import CONFIGS, HARDWARE, MODELS

sys.path.remove(str(PEERS_DIR))


@pytest.fixture(scope="module")
def record():
    return table.load_peers()


@pytest.fixture(scope="module")
def rendered(record):
    return table.render(record)


def test_docs_section_is_current(rendered):
    doc = (PEERS_DIR.parents[1] / "docs" / "accuracy.md").read_text()
    assert table.section(doc) == rendered, "docs/accuracy.md is stale: run python bench/peers/table.py --write"


def test_every_disagreement_over_25_percent_is_explained(rendered):
    bad = [line for line in rendered.splitlines() if "UNEXPLAINED" in line]
    assert not bad, (
        "explain each (which side is right, and why) with a rule in bench/peers/table.py NOTES/RULES, "
        f"then run python bench/peers/table.py --write: {bad}"
    )


def test_recorded_peers_ran_on_these_inputs(record):
    assert table.stale_inputs(record) == [], "peer_configs.py changed: re-run bench/peers/run_peers.py"
    for name in table.PEERS:
        peer = record["peers"][name]
        assert peer["version"] and len(peer["commit"]) == 40
        for c in CONFIGS:
            r = peer["results"][c["id"]]
            assert "values" in r or r.get("na"), (name, c["id"], r)  # a value or a stated reason, never an error


def test_peer_geometry_is_our_catalog():
    for key, g in MODELS.items():
        m = getattr(mlsysim.Models.Language, key)
        assert (m.layers, m.hidden_dim, m.heads, m.kv_heads, m.ffn_dim, m.vocab_size) == (
            g["layers"],
            g["hidden"],
            g["heads"],
            g["kv_heads"],
            g["ffn"],
            g["vocab"],
        ), key
        assert (m.experts or 1, m.active_experts or 1) == (g.get("experts", 1), g.get("top_k", 1)), key
        assert bool(m.tied_embeddings) == g["tied"], key
        assert hand.params(g)["total"] == pytest.approx(m.parameters, rel=2e-3), key  # norms/biases left out


def test_hand_decode_is_bytes_over_bandwidth():
    """Llama-3-8B, batch 1, context 2048 on one H100: weights without the input embedding
    (8.030e9 - 128256*4096 params) * 2 B plus KV 2048 * (2*32*8*128) * 2 B, at 0.70 of 3.35 TB/s."""
    c = next(c for c in CONFIGS if c["id"] == "serve-Llama3_8B-H100-tp1-b1")
    read = (8.030e9 - 128256 * 4096) * 2 + 2048 * 2 * 32 * 8 * 128 * 2
    assert hand.serving(c)["itl"] == pytest.approx(read / (0.7 * HARDWARE["H100"]["hbm"]), rel=3e-3)
