"""Mappings of the serving measurements from engines other than NIM (groups L, M; ``points`` holds NIM's).

Registered with :func:`.points.maps` when ``points`` is imported; each calls ``ServingModel`` with its
shipped defaults under the closed loop the source ran (``concurrency`` clients) and returns the mean the
source reports.
"""

from __future__ import annotations

from collections.abc import Callable

from .points import _hw, _lm, _m, _q, maps


def _closed_loop(
    model: str, hw: str, isl: int, osl: int, c: int, field: str, engine: str, **kw: object
) -> Callable[[], float]:
    def fn() -> float:
        r = (
            _m()
            .ServingModel()
            .solve(
                getattr(_lm(), model),
                getattr(_hw(), hw),
                isl,
                output_len=osl,
                concurrency=c,
                engine=engine,  # selects a calibration scoped to the engine where the hardware has one
                **kw,
            )
        )
        return _q(getattr(r, field), "ms")

    return fn


#: GPUStack performance lab, Qwen3-8B on one H100 SXM, ShareGPT (100 prompts, mean 232.6 in / 220.6 out):
#: (engine, precision keywords, concurrencies)
_GPUSTACK_QWEN3_8B: tuple[tuple[str, dict[str, str], tuple[int, ...]], ...] = (
    ("vllm", {"precision": "bf16"}, (1, 2, 4, 8)),
    ("sglang", {"precision": "bf16"}, (4,)),
    ("trtllm", {"precision": "bf16"}, (4,)),
    ("sglang-fp8", {"precision": "fp8", "kv_precision": "bf16"}, (4,)),
)
for _engine, _prec, _cs in _GPUSTACK_QWEN3_8B:
    for _c in _cs:
        for _group, _q_name, _field in (("L", "ttft", "ttft_mean"), ("M", "tpot", "itl_mean")):
            maps(
                f"{_group}-gpustack-qwen3-8b-h100-{_engine}-sharegpt-c{_c}-{_q_name}",
                f"ServingModel(Qwen3_8B, H100, {', '.join(f'{k} {v}' for k, v in _prec.items())}, tp 1, seq_len 233, "
                f"output_len 221, concurrency {_c}).{_field} (analytic)",
                "fixed lengths at the ShareGPT sample's means (the source's totals / 100); closed loop of "
                "`concurrency` clients (vllm bench --max-concurrency); the engine's scheduler as ServingModel's "
                "defaults (chunked prefill, 8192-token budget, 256 sequences); the client-side TTFT also holds "
                "HTTP, chat templating and tokenization, which the model does not",
            )(_closed_loop("Qwen3_8B", "H100", 233, 221, _c, _field, _engine.removesuffix("-fp8"), **_prec))
