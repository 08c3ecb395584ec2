"""Weight, activation (matmul) and KV-cache precisions of a serving deployment, set apart.

Weight bytes drive the memory each GPU holds and the bytes a decode step streams; the matmul runs at
the activation precision, so the compute peak is the part's dense peak *at that precision*; the KV
cache has its own precision. Common layouts: w4a16 (AWQ/GPTQ: int4 weights, bf16 matmuls), w8a8
(int8 or fp8 weights and activations), fp8 weights with bf16 activations (FP8 Marlin on parts without
an fp8 tensor peak), fp4 on Blackwell (fp4 weights and matmuls).

Weight-only formats: the weights are dequantized to the activation precision inside the GEMM's main
loop, hidden behind weight streaming and tensor-core work: Frantar et al., "MARLIN: Mixed-Precision
Auto-Regressive Parallel Inference on Large Language Models" (PPoPP 2025, arXiv 2408.11743), sec. 5:
near-ideal (close to 4x) speedup of int4 x fp16 GEMMs over fp16 up to batch 16-32 and fp16 speed at
large batch. No dequantization time is added; the result's notes say so.
"""

from __future__ import annotations

import attrs

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.types import PRECISION_BYTES, HardwareNode, precision_bytes

#: Precisions narrower than one byte a part without a matmul peak for them serves weight-only.
_WEIGHT_ONLY_BELOW = 1.0
#: The KV cache of a sub-byte matmul precision stays 16-bit unless kv_precision says otherwise.
_KV_FALLBACK = "fp16"


@attrs.frozen
class Precisions:
    """The three precisions (names) and what the kernels need: bytes per weight ``b``, per KV element
    ``b_kv``, per activation element in memory and on links ``b_act`` (16-bit at least: activations
    quantized for the GEMM are kept and exchanged at 16 bits), the matmul bytes ``b_matmul`` (picks the
    default compute efficiency), the dense ``peak`` FLOP/s of the matmul precision and ``attn_peak`` that of
    the attention matmuls."""

    weights: str
    activations: str
    kv: str
    b: float
    b_kv: float
    b_act: float
    b_matmul: float
    peak: float
    #: dense FLOP/s the attention matmuls run at (:func:`attention_peak`)
    attn_peak: float
    notes: tuple[str, ...]


def _name(argument: str, value: object) -> str:
    precision_bytes(value, argument)  # unknown name -> error listing every precision
    assert isinstance(value, str)
    return value


def _matmul(hardware: HardwareNode, argument: str, value: str) -> str:
    """``value`` if ``hardware`` has a dense peak for it, else an error listing the ones it has."""
    if value not in hardware.compute.si.peaks:
        raise InvalidInputError(
            argument,
            value,
            f"a precision {hardware.name} has a dense peak for: "
            + ", ".join(hardware.compute.si.peaks)
            + " (for weights stored narrower than the matmul, give weight_precision)",
        )
    return value


def resolve(
    hardware: HardwareNode,
    precision: object = None,
    weight_precision: object = None,
    activation_precision: object = None,
    kv_precision: object = None,
) -> Precisions:
    """The three precisions from the arguments (each error names argument, value and valid range).

    ``precision`` alone keeps its meaning: weights, matmuls and KV cache in it (KV 16-bit below one
    byte) when the part has a dense peak for it; a sub-byte format the part cannot multiply in (int4
    on H100) is served weight-only, matmuls at the part's default precision, and the notes say so.
    ``weight_precision`` / ``activation_precision`` / ``kv_precision`` override their share; any not
    given follows ``precision`` (or the part's ``default_precision``)."""
    notes: list[str] = []
    base = None if precision is None else _name("precision", precision)
    w = base if weight_precision is None else _name("weight_precision", weight_precision)
    if activation_precision is not None:
        a = _matmul(hardware, "activation_precision", _name("activation_precision", activation_precision))
    elif base is not None and (base in hardware.compute.si.peaks or PRECISION_BYTES[base] >= _WEIGHT_ONLY_BELOW):
        a = _matmul(hardware, "precision", base)
    else:
        a, note = hardware.precision_or_default(None)
        if base is not None:
            note = f"precision: {base} weights, matmuls in {a} ({hardware.name} has no dense {base} peak)"
        assert note is not None  # precision_or_default(None) always says which default it took
        notes.append(note)
    if w is None:
        w = a
    b_a = PRECISION_BYTES[a]
    if kv_precision is None:
        kv = a if b_a >= _WEIGHT_ONLY_BELOW else _KV_FALLBACK
    else:
        kv = _name("kv_precision", kv_precision)
    b = PRECISION_BYTES[w]
    if b < b_a:
        notes.append(
            f"weight-only quantization: {w} weights dequantized to {a} inside the GEMM, its time hidden "
            "behind weight streaming (Marlin, Frantar et al. 2024, sec. 5)"
        )
    attn_peak, note = attention_peak(hardware, kv, a)
    if note:
        notes.append(note)
    elif attn_peak != hardware.compute.si.peaks[a]:
        notes.append(f"attention: QK^T and AV at the {kv} KV cache's dense peak, the other matmuls at {a}'s")
    return Precisions(
        weights=w,
        activations=a,
        kv=kv,
        b=b,
        b_kv=PRECISION_BYTES[kv],
        b_act=b_a if b_a >= 2.0 else 2.0,
        b_matmul=b_a,
        peak=hardware.compute.si.peaks[a],
        notes=tuple(notes),
        attn_peak=attn_peak,
    )


def attention_peak(hardware: HardwareNode, kv: str, activations: str) -> tuple[float, str | None]:
    """(dense FLOP/s, note) of the attention matmuls QK^T and AV. Their operands are the cached K and V, so
    a 16-bit or fp8 KV cache runs them at its own tensor-core peak (SGLang team, "Deploying DeepSeek on GB200
    NVL72 ... Part II", LMSYS blog 2025-09-25, Methods: BF16 vs FP8 KV cache, FP8 "allows faster Tensor Core
    instructions"); any other KV format (int8/int4/fp4/fp6 caches) is dequantized in the kernel and runs at
    the activation precision's peak, as does a KV precision the part has no dense peak for (the note says so)."""
    peaks = hardware.compute.si.peaks
    if kv in _ATTENTION_NATIVE and kv in peaks:
        return peaks[kv], None
    if kv == activations:
        return peaks[activations], None
    return peaks[activations], f"attention: {kv} KV cache dequantized to {activations} in the attention kernel"


#: KV-cache precisions attention kernels multiply in directly (FlashInfer, FlashAttention-3, TRT-LLM MLA)
_ATTENTION_NATIVE = frozenset({"bf16", "fp16", "fp8"})
