"""Host time of one engine step, by engine version, where a source times it (``engine_overhead``, seconds).

An engine whose loop is synchronous runs its host work between two GPU steps: it moves the sampled tokens to the
host, turns them into Python objects, detokenizes and checks every running sequence, schedules the next step and
prepares its inputs, and the GPU waits for all of it. The step then lasts its GPU time plus this host time
(``setup.step_overhead``), in the analytic step cost and in the simulator alike.

vLLM v0.5.x (v0.5.3, July 2024; v0.5.4 has the same loop: ``AsyncLLMEngine.engine_step`` -> ``step_async``
schedules, executes and processes outputs one step at a time; multi-step scheduling and asynchronous output
processing came after v0.5.4, v0.6.0 has both): vLLM's multi-step RFC (issue #6854, 2024-07-26,
https://github.com/vllm-project/vllm/issues/6854) states "5-13ms of GPU bubble" per decode step for these four host
tasks and shows a PyTorch-profiler trace of Llama-3-8B on one H100 with "about 4ms of GPU bubble" on every decode
step (multi-step 8 leaves one such gap per 8 steps). The vLLM v0.6.0 blog's profile of v0.5.3 on the same GPU and
model agrees in size: GPU execution 38 % of the time, scheduling and input preparation 29 %, the HTTP server 33 %
("Performance Diagnosis", https://blog.vllm.ai/2024/09/05/perf-update.html); at the 13 ms per token it quotes for
light load, 29 % is 3.8 ms of scheduling per step. The trace's 4 ms is taken (below the stated range's 5 ms, which
the RFC does not tie to a batch or model). A part that grows with the running batch (detokenizing and checking every
sequence) is not separated: the RFC's trace states no batch, and vLLM's asynchronous-output RFC (issue #6913), whose
table gives ``_process_model_outputs`` 0.2 ms at batch 1 and 3.4 ms at batch 32 (Llama-3-70B fp8 on 4 x H100), lists
a third row that contradicts the first two (batch 1,024 at 0.2 ms), so it pins no per-sequence time.
"""

from __future__ import annotations

#: Host time of one vLLM v0.5.x step (s): the GPU bubble per decode step of the v0.5.3-era engine, Llama-3-8B
#: on one H100 (vLLM issue #6854's profiler trace, "about 4ms"; stated range 5-13 ms). Replaces the generic
#: ``STEP_OVERHEAD_S`` (1 ms, engines with overlapped or C++ schedulers) for that engine version only.
VLLM_0_5_STEP_S = 4e-3
