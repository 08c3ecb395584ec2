"""bench/device/h200_train_step.py (the measured training step on one H200): its geometry is the catalog's, and
with ``--tiny`` it runs end to end on a CPU (where torch is installed: the device scripts need it, the project not)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import mlsysim

DEVICE = Path(__file__).resolve().parents[1] / "bench" / "device"


def _literal(path: Path, name: str):
    """The literal assigned to module-level ``name`` in ``path`` (read without importing torch)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            if isinstance(node.value, ast.Dict):  # dict(layers=..., ...) values
                return {
                    ast.literal_eval(k): {kw.arg: ast.literal_eval(kw.value) for kw in v.keywords}
                    if isinstance(v, ast.Call)
                    else ast.literal_eval(v)
                    for k, v in zip(node.value.keys, node.value.values)
                }
    raise AssertionError(f"{name} not found in {path}")


def test_the_scripts_geometry_and_tied_embeddings_are_the_catalogs():
    models = _literal(DEVICE / "h200_measure.py", "MODELS")
    tied = _literal(DEVICE / "h200_train_step.py", "TIED")
    assert {"Llama3_2_1B", "Phi3_Mini", "Llama3_8B"} <= set(models) and set(tied) == set(models)
    for name, g in models.items():
        m = getattr(mlsysim.Models.Language, name)
        assert (g["layers"], g["hidden"], g["heads"], g["kv_heads"], g["head_dim"], g["ffn"], g["vocab"]) == (
            m.layers,
            m.hidden_dim,
            m.heads,
            m.si.kv_heads,
            m.si.head_dim,
            m.ffn_dim,
            m.vocab_size,
        ), name
        assert tied[name] == m.tied_embeddings, name
        if name == "Qwen3_32B":
            continue  # not trained by the script (its q/k norms, 2 x 128 per layer, are not in this decoder)
        # the training script's parameter count (per layer: QKV + O + gate/up/down + 2 norms; final norm; LM head;
        # the input embedding unless tied) is the catalog's exact count
        h, d, f, V = g["hidden"], g["head_dim"], g["ffn"], g["vocab"]
        layer = h * (g["heads"] + 2 * g["kv_heads"]) * d + g["heads"] * d * h + 3 * h * f + 2 * h
        assert g["layers"] * layer + h + V * h * (1 if tied[name] else 2) == m.parameters, name


def test_tiny_run_end_to_end(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "train.json"
    cmd = [sys.executable, str(DEVICE / "h200_train_step.py"), "--tiny", "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    raw = json.loads(out.read_text())
    steps = [p for p in raw["points"] if p["kind"] == "train_step"]
    assert raw["errors"] == [] and len(steps) == 7
    assert {(p["variant"], p["ckpt"]) for p in steps} == {
        ("bf16-master", "none"),
        ("bf16-master", "full"),
        ("amp", "none"),
    }
    for p in steps:
        assert p["fwd_ms"] > 0 and p["bwd_ms"] > 0 and p["opt_ms"] > 0 and p["iters"] >= 5
        # backward = 2 x forward, plus the forward again with full checkpointing
        assert p["flops_bwd"] == pytest.approx(p["flops_fwd"] * (3 if p["ckpt"] == "full" else 2))
        assert p["tokens"] == p["batch"] * p["seq"]
