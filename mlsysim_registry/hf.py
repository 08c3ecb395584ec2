"""Hugging Face ``config.json`` -> a catalog ``transformer`` entry, with the parameter count derived
from the geometry (local files only: nothing here touches the network).

Parameter count (``shared/reference/model-architectures.md``, param_formula_decoder and moe_active):

* embedding V*d (+ learned positions P*d for GPT-2/OPT/BERT-style models); LM head V*d unless tied;
* per layer, attention d*(H*hd) + 2*d*(KV*hd) + (H*hd)*d (GQA: KV key/value heads), or MLA
  (DeepSeek-V2/V3): d*r_q + r_q + r_q*H*(hd_nope+hd_rope) + d*(r_kv+hd_rope) + r_kv
  + r_kv*H*(hd_nope+hd_v) + H*hd_v*d; biases where the family has them; QK-norm where present;
* per layer, FFN 3*d*f for gated FFNs (SwiGLU/GeGLU), 2*d*f otherwise (+ biases); a MoE layer has
  E routed experts of 3*d*f_e, shared experts, and a router d*E;
* norms: RMSNorm d, LayerNorm 2*d (weight and bias); two per layer (four for Gemma 2/3) and a final one.

Active parameters of a MoE model = total - (E - k) * routed expert size * MoE layers.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import attrs

from mlsysim_core.errors import InvalidInputError

#: Families whose FFN is gated (three matrices) even when the activation name does not say so.
GATED_TYPES = frozenset(
    {
        "llama",
        "mistral",
        "mixtral",
        "qwen2",
        "qwen2_moe",
        "qwen3",
        "qwen3_moe",
        "gemma",
        "gemma2",
        "gemma3",
        "gemma3_text",
        "phi3",
        "deepseek_v2",
        "deepseek_v3",
        "olmo",
        "olmo2",
        "granite",
        "cohere",
        "internlm2",
        "baichuan",
        "dbrx",
        "yi",
        "exaone",
        "minicpm",
        "glm",
        "llama4_text",
    }
)
#: Families with biases on attention and FFN matrices and LayerNorm (weight + bias).
CLASSIC_TYPES = frozenset(
    {"gpt2", "gpt_neox", "opt", "bloom", "bert", "roberta", "gpt_bigcode", "gpt_neo", "starcoder2", "phi"}
)
#: Families with learned absolute position embeddings (P*d parameters).
LEARNED_POSITIONS = frozenset({"gpt2", "opt", "bert", "roberta", "gpt_neo", "gpt_bigcode"})
_GATED_ACTS = frozenset({"silu", "swish", "swiglu", "geglu", "reglu"})
#: Relative difference beyond which a stated parameter count is reported as a mismatch.
TOLERANCE = 0.02


def _get(cfg: dict, *names: str, default: Any = None) -> Any:
    for n in names:
        v = cfg.get(n)
        if v is not None:
            return v
    return default


def _opt_int(cfg: dict, what: str, *names: str) -> int | None:
    """The first of ``names`` the config gives, a non-negative integer, or None when it gives none."""
    name = next((n for n in names if cfg.get(n) is not None), None)
    if name is None:
        return None
    v = cfg[name]
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise InvalidInputError(f"config.{name}", v, f"a non-negative integer ({what})")  # the key the config gives
    return v


def _int(cfg: dict, what: str, *names: str) -> int:
    """As :func:`_opt_int`, but the config must give one of ``names``."""
    v = _opt_int(cfg, what, *names)
    if v is None:
        raise InvalidInputError(f"config.{names[0]}", None, f"{what} in the config: one of {', '.join(names)}")
    return v


def _int_or(cfg: dict, what: str, default: int, *names: str) -> int:
    """As :func:`_opt_int`, ``default`` when the config gives none of ``names`` (a float or a string is refused,
    never floored: int(2.5) took 2, int("8") raised a traceback)."""
    v = _opt_int(cfg, what, *names)
    return default if v is None else v


@attrs.frozen(kw_only=True)
class HFModel:
    """What :func:`from_config` derived: the catalog fields, the counts and how they add up."""

    fields: dict
    parameters: int
    active_parameters: int
    breakdown: dict
    stated_parameters: int | None = None

    def mismatch(self, expected: int | None = None) -> float | None:
        """Relative difference (derived - expected) / expected, with the config's own count if none given."""
        ref = expected if expected is not None else self.stated_parameters
        return None if not ref else (self.parameters - ref) / ref


def from_config(cfg: dict) -> HFModel:
    """Derive a ``TransformerWorkload``'s catalog fields and parameter count from a config dict."""
    if not isinstance(cfg, dict):
        raise InvalidInputError("config", type(cfg).__name__, "a JSON object (a Hugging Face config.json)")
    if isinstance(cfg.get("text_config"), dict):  # multimodal wrappers (Llama 4, Gemma 3): the language model
        cfg = {**cfg["text_config"], "model_type": cfg["text_config"].get("model_type", cfg.get("model_type"))}
    mtype = str(cfg.get("model_type", "")).lower()
    d = _int(cfg, "hidden size", "hidden_size", "n_embd", "d_model", "dim")
    L = _int(cfg, "layer count", "num_hidden_layers", "n_layer", "num_layers", "n_layers")
    H = _int(cfg, "attention heads", "num_attention_heads", "n_head", "num_heads", "n_heads")
    if min(d, L, H) < 1:
        raise InvalidInputError(
            "config", {"hidden_size": d, "layers": L, "heads": H}, "positive hidden size, layers and heads"
        )
    kv = _opt_int(cfg, "KV heads", "num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num")
    if kv is None:
        kv = 1 if cfg.get("multi_query") else H
    hd = _opt_int(cfg, "head dim", "head_dim")
    if hd is None and d % H:  # transformers derives hidden_size // heads and needs it whole (LlamaAttention)
        raise InvalidInputError(
            "config.num_attention_heads", H, f"a divisor of hidden_size={d}, or a head_dim in the config"
        )
    hd = hd or d // H
    V = _int(cfg, "vocabulary", "vocab_size", "padded_vocab_size")
    f = _opt_int(cfg, "FFN width", "intermediate_size", "n_inner", "ffn_dim", "d_ff", "ffn_hidden_size") or 4 * d
    max_seq = _opt_int(cfg, "context", "max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "n_ctx")
    tied = bool(cfg.get("tie_word_embeddings", True))  # transformers' PretrainedConfig default is True
    act = str(_get(cfg, "hidden_act", "activation_function", "hidden_activation", default="")).lower()
    gated = mtype in GATED_TYPES or act in _GATED_ACTS or "glu" in act
    classic = mtype in CLASSIC_TYPES
    ln = 2 * d if classic or mtype == "gptj" else d  # LayerNorm (weight + bias) vs RMSNorm

    # --- attention
    r_kv = cfg.get("kv_lora_rank")
    if r_kv:  # MLA
        r_q = cfg.get("q_lora_rank")
        nope, rope = (
            _int_or(cfg, "MLA head dim", hd, "qk_nope_head_dim"),
            _int_or(cfg, "RoPE dim", 0, "qk_rope_head_dim"),
        )
        hv = _int_or(cfg, "MLA value head dim", hd, "v_head_dim")
        q = (d * r_q + r_q + r_q * H * (nope + rope)) if r_q else d * H * (nope + rope)
        attn = q + d * (r_kv + rope) + r_kv + r_kv * H * (nope + hv) + H * hv * d
        hd_catalog = nope + rope
        mla = {"kv_lora_rank": int(r_kv), "qk_rope_head_dim": rope}  # catalog fields of the latent attention
    else:
        attn = d * H * hd + 2 * d * kv * hd + H * hd * d
        bias = cfg.get("attention_bias", cfg.get("bias", cfg.get("use_bias", cfg.get("enable_bias"))))
        if classic and bias is not False:
            attn += H * hd + 2 * kv * hd + d
        elif bias or mtype in ("qwen2", "qwen2_moe"):
            attn += H * hd + 2 * kv * hd + (d if bias else 0)  # Qwen2: q/k/v biases only
        if mtype in ("qwen3", "qwen3_moe", "olmo2", "gemma3", "gemma3_text"):
            attn += 2 * hd  # QK-norm
        hd_catalog = hd
        mla = {}

    # --- FFN
    mats = 3 if gated else 2
    ffn_bias = (f + d) if (classic or mtype == "gptj") and cfg.get("bias", True) is not False else 0
    dense_ffn = mats * d * f + ffn_bias
    E = _opt_int(cfg, "experts", "num_local_experts", "n_routed_experts", "num_experts", "moe_num_experts")
    k = _opt_int(cfg, "experts per token", "num_experts_per_tok", "moe_top_k", "num_selected_experts", "top_k")
    moe_layers, expert = 0, 0
    per_moe_layer = 0
    if E and E > 1:
        if not k:
            raise InvalidInputError(
                "config.num_experts_per_tok", k, f"experts per token >= 1 for a MoE config of {E} experts"
            )
        fe = _int_or(cfg, "expert FFN width", f, "moe_intermediate_size", "expert_intermediate_size")
        expert = mats * d * fe
        shared = _int_or(cfg, "shared experts", 0, "n_shared_experts") * expert
        shared_f = _int_or(cfg, "shared expert FFN width", 0, "shared_expert_intermediate_size")
        if shared_f:
            shared = mats * d * shared_f + d  # + its sigmoid gate
        router = d * E + (E if cfg.get("topk_method") == "noaux_tc" else 0)
        per_moe_layer = E * expert + shared + router
        first_dense = _int_or(cfg, "leading dense layers", 0, "first_k_dense_replace")
        freq = _int_or(cfg, "MoE layer frequency", 1, "moe_layer_freq", "decoder_sparse_step")
        if freq == 0:  # every freq-th layer is MoE: 0 was taken as 1 without a word (transformers divides by it)
            key = "moe_layer_freq" if cfg.get("moe_layer_freq") is not None else "decoder_sparse_step"
            raise InvalidInputError(f"config.{key}", 0, "a positive integer (every n-th layer is a MoE layer)")
        only_dense = set(cfg.get("mlp_only_layers", []) or [])
        # DeepSeek's layer i is MoE where i % moe_layer_freq == 0 (DeepseekV3DecoderLayer); Qwen-MoE's where
        # (i + 1) % decoder_sparse_step == 0 (Qwen2MoeDecoderLayer): the same count only at a frequency of 1
        shift = 0 if cfg.get("moe_layer_freq") is not None else 1
        moe_layers = sum(1 for i in range(L) if i >= first_dense and (i + shift) % freq == 0 and i not in only_dense)
    dense_layers = L - moe_layers
    norms_per_layer = 4 if mtype in ("gemma2", "gemma3", "gemma3_text") else (1 if mtype == "gptj" else 2)
    embed = V * d
    pos = 0
    if mtype in LEARNED_POSITIONS and max_seq:
        pos = (max_seq + (2 if mtype == "opt" else 0)) * d
        if mtype in ("bert", "roberta"):
            pos += _int_or(cfg, "token types", 2, "type_vocab_size") * d
    head = 0 if tied else V * d + (V if mtype == "gptj" else 0)
    parts = {
        "embedding": embed + pos,
        "attention": L * attn,
        "ffn_dense": dense_layers * dense_ffn,
        "ffn_moe": moe_layers * per_moe_layer,
        "norms": L * norms_per_layer * ln + ln,  # MLA latent norms are in attention
        "lm_head": head,
    }
    total = sum(parts.values())
    active = total - (moe_layers * ((E or 0) - (k or 0)) * expert if moe_layers else 0)  # E, k given when MoE

    fields: dict[str, Any] = {
        "kind": "transformer",
        "parameters": total,
        "layers": L,
        "hidden_dim": d,
        "heads": H,
        "kv_heads": H if r_kv else kv,
        "head_dim": hd_catalog,
        "ffn_dim": _int_or(cfg, "expert FFN width", f, "moe_intermediate_size") if moe_layers else f,
        "mlp": ("geglu" if "gelu" in act else "swiglu") if gated else "relu" if "relu" in act else "gelu",
        "vocab_size": V,
    }
    if max_seq:
        fields["max_seq_len"] = max_seq
    fields["tied_embeddings"] = tied
    if moe_layers:
        fields.update(experts=E, active_experts=k, active_parameters=active, moe_layers=moe_layers)
    fields.update(mla)
    stated = cfg.get("num_parameters", cfg.get("n_parameters"))
    stated = stated if isinstance(stated, int) and not isinstance(stated, bool) and stated > 0 else None
    return HFModel(fields=fields, parameters=total, active_parameters=active, breakdown=parts, stated_parameters=stated)


def read_config(path: str | Path) -> dict:
    """Load a local config.json (a path; URLs and hub ids are refused: no network)."""
    p = Path(path)
    if re.match(r"^[a-z]+://", str(path)):
        raise InvalidInputError(
            "config", str(path), "a local config.json file (download it first; mlsysim does not use the network)"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError("config", str(path), "a readable UTF-8 config.json file", type(exc).__name__) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError("config", str(path), "valid JSON", f"line {exc.lineno}: {exc.msg}") from None


def suggest_key(cfg: dict, path: str | Path) -> str:
    """A catalog key from the config's name or the file's folder (ASCII identifier)."""
    p = Path(path).resolve()
    raw = str(cfg.get("_name_or_path") or (p.stem if p.stem != "config" else p.parent.name) or "HFModel").split("/")[-1]
    key = re.sub(r"\W+", "_", raw.encode("ascii", "ignore").decode()).strip("_") or "HFModel"
    return key if not key[0].isdigit() else "M_" + key


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else "0"
    return json.dumps(str(v), ensure_ascii=False)  # a TOML basic string is JSON-compatible


def to_toml(key: str, fields: dict, *, sectioned: bool = True) -> str:
    """One catalog entry as TOML: ``[models.KEY]`` (any catalog file) or ``[KEY]`` (a models.toml)."""
    head = f"[models.{key}]" if sectioned else f"[{key}]"
    return "\n".join([head, *(f"{k} = {_toml_value(v)}" for k, v in fields.items())]) + "\n"
