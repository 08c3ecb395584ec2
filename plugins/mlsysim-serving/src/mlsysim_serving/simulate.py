"""Iteration-level discrete-event simulation of the continuous-batching scheduler of
:mod:`.traffic` over the same per-step cost (:class:`.traffic.StepCost`): the oracle the analytic
model is tested against.

Plain Python and numpy with a heap of finishing steps (no simulation library): the only events are
engine steps and arrivals, and keeping per-step state in a few running sums makes a step O(1) plus
O(log n) per request, which a process-based library (simpy) would turn into a coroutine switch per
request per token. Seeded (numpy ``default_rng``) and deterministic.
"""

from __future__ import annotations

import heapq
from collections import deque

import numpy as np

from .traffic import StepCost


def draw_lengths(rng, mean, cv, dist, n, top):
    """``n`` integer lengths in [1, top] with ``mean`` and coefficient of variation ``cv``
    (fixed when cv = 0; lognormal or gamma)."""
    if cv == 0.0:
        return np.full(n, round(mean), dtype=np.int64)
    if dist == "lognormal":
        s2 = np.log1p(cv * cv)
        x = rng.lognormal(np.log(mean) - s2 / 2.0, np.sqrt(s2), n)
    else:
        k = 1.0 / (cv * cv)
        x = rng.gamma(k, mean / k, n)
    return np.clip(np.rint(x), 1, top).astype(np.int64)


def interarrivals(rng, rate, cv, n):
    """``n`` gaps between arrivals at ``rate``: exponential (Poisson) when cv = 1, gamma otherwise."""
    if cv == 1.0:
        return rng.exponential(1.0 / rate, n)
    if cv == 0.0:
        return np.full(n, 1.0 / rate)
    k = 1.0 / (cv * cv)
    return rng.gamma(k, 1.0 / (rate * k), n)


def simulate(
    cost: StepCost,
    prompts: np.ndarray,
    outputs: np.ndarray,
    hit: float,
    M: int,
    max_seqs: int,
    kv_tokens: float,
    arrivals: np.ndarray | None = None,
    clients: int | None = None,
    lag: int = 0,
    lead: float = 0.0,
    steps: int = 1,
    separate: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Serve ``len(prompts)`` requests; open loop at the given ``arrivals`` times, or closed loop
    with ``clients`` users each sending its next request when the previous one finishes: at the end of the
    step that produced its last token, when the engine has already begun the next step (it schedules one
    step after another; :func:`.traffic.closed_loop_wait`), so the request joins the step after that one,
    or starts at once if the engine was left idle. ``lead`` > 0: the client's request path outside the engine
    (:mod:`.request_path`): its next request reaches the engine ``lead`` seconds after the last token, and is
    taken like an open loop's arrival then (by the first step to begin after it). ``lag`` 1: an overlap
    scheduler (the next step scheduled before the running one's results are processed) puts a request
    received during a busy step one step later still. ``steps`` > 1: multi-step scheduling (vLLM v0.6.0
    ``--num-scheduler-steps``, :func:`.traffic.block_residual`): the scheduler runs only when the block of
    steps it last scheduled ends, so waiting requests are admitted only then; a step that prefills is a block
    of one step, a step that only decodes begins a block of ``steps`` decode steps (an engine left with nothing
    to decode ends its block and takes the next arrival at once). ``separate``: a step that prefills decodes
    nothing and its whole M-token budget prefills (vLLM v0.5/v0.6 ``Scheduler._schedule_default`` without chunked
    prefill, SGLang v0.3 ``ModelTpServer.forward_step``; :func:`.traffic.cycle_step`): the running sequences
    emit no token in it and wait for the next step without prefills.

    Each step: every running decode sequence emits a token; the rest of the M-token budget prefills
    waiting prompts FCFS (the first in line may be partly done: chunked), admitting a request while
    fewer than ``max_seqs`` run and its prompt + output fit in the ``kv_tokens`` free KV tokens.
    A prompt of S tokens needs (1-hit)*S prefill tokens (prefix cache) at positions hit*S..S-1.
    Returns per-request arrays: arrival at the engine, first token and finish times.
    """
    n = len(prompts)
    S = prompts.tolist()
    O = outputs.tolist()
    skip = [int(hit * s) for s in S]
    arrive = np.empty(n) if arrivals is None else np.asarray(arrivals, dtype=float).copy()
    first = np.full(n, np.nan)
    finish = np.full(n, np.nan)
    time_of = cost.time
    waiting: deque[int] = deque()
    nxt = 0
    if clients is not None:
        arrive[:clients] = 0.0
        pending = list(range(min(clients, n)))
        waiting.extend(pending)
        nxt = len(pending)
        arr_list = None
    else:
        arr_list = arrive.tolist()
    t = 0.0
    k = 0  # step index
    d = 0  # decode step index (k less the separate prefill steps): contexts and last tokens count it
    run = 0  # sequences holding a slot (prefilling or decoding)
    kv_used = 0
    n_dec = 0
    base = 0.0  # sum over decoding sequences of (S_i - k0_i): their contexts sum to base + n_dec*k
    done_heap: list[tuple[int, int]] = []  # (last step index, request)
    filled: dict[int, int] = {}  # request -> prefill tokens done (admitted, prefilling)
    pre_order: deque[int] = deque()  # admitted requests still prefilling, FCFS
    fin_k0: dict[int, int] = {}  # request -> step of its first token
    finished = 0
    held: deque[tuple[int, int]] = deque()  # (first step that may take it, request): sent while a step ran
    sent: deque[tuple[float, int]] = deque()  # (time it reaches the engine, request): a closed loop's, lead > 0
    block = 0  # decode steps left in the block in progress (multi-step): no admission before it ends

    def send(at: float, step: int) -> None:
        """A closed loop's client whose last token came at ``at``, during step ``step``, sends its next request."""
        nonlocal nxt
        arrive[nxt] = at + lead
        if lead:
            sent.append((at + lead, nxt))
        else:
            held.append((step + lag, nxt))
        nxt += 1

    while finished < n:
        if arr_list is not None:
            while nxt < n and arr_list[nxt] <= t:
                if lag and (n_dec or pre_order):  # came during the last step; the next one is already scheduled
                    held.append((k + lag, nxt))
                else:
                    waiting.append(nxt)
                nxt += 1
        while sent and sent[0][0] <= t:
            if lag and (n_dec or pre_order):
                held.append((k + lag, sent.popleft()[1]))
            else:
                waiting.append(sent.popleft()[1])
        while held and held[0][0] <= k:
            waiting.append(held.popleft()[1])
        # admission
        while waiting and run < max_seqs and not block:
            r = waiting[0]
            need = S[r] + O[r]
            if kv_used + need > kv_tokens:
                break
            waiting.popleft()
            run += 1
            kv_used += need
            filled[r] = skip[r]
            pre_order.append(r)
        if n_dec == 0 and not pre_order:
            if block:  # nothing left to decode: the block ends, the scheduler runs again
                block = 0
                continue
            if held:  # the engine was left idle: it takes them at once
                waiting.extend(r for _, r in held)
                held.clear()
                continue
            if arr_list is not None and nxt < n:
                t = max(t, arr_list[nxt])
                continue
            if sent:
                t = max(t, sent[0][0])
                continue
            if not waiting:
                break
            raise RuntimeError("a request's prompt + output exceed the KV cache")  # solve() checks this first
        if not pre_order and n_dec:  # decode only until the next arrival or finish: many steps at once
            if steps > 1 and not block:
                block = steps
            limit = done_heap[0][0] - d + 1
            if held:
                limit = min(limit, max(held[0][0] - k, 1))
            if block:  # arrivals wait for the block's end: it runs through them
                limit = min(limit, block)
            coming = arr_list[nxt] if arr_list is not None and nxt < n else sent[0][0] if sent else None
            j, t = _fast_forward(cost, n_dec, base, d, t, limit, None if block else coming)
            k += j
            d += j
            if block:
                block -= j
            while done_heap and done_heap[0][0] < d:
                _, r = heapq.heappop(done_heap)
                finish[r] = t  # the block ends at the first finishing step
                n_dec -= 1
                base -= S[r] - fin_k0[r]
                run -= 1
                kv_used -= S[r] + O[r]
                finished += 1
                if clients is not None and nxt < n:  # sent after step k - 1, during step k
                    send(t, k + 1)
            continue
        # compose the step
        dec = 0 if separate else n_dec  # sequences that decode in it (none in a prefill step of its own)
        budget = M - dec
        p_tok = 0
        attn = base + dec * d if dec else 0.0
        fresh = 0.0  # prefill attention work: the causal positions of the chunk's tokens
        completed = []
        for r in pre_order:
            if budget <= 0:
                break
            a = filled[r]
            c = min(S[r] - a, budget)
            p_tok += c
            fresh += c * a + c * c / 2.0
            budget -= c
            filled[r] = a + c
            if a + c >= S[r]:
                completed.append(r)
        dt = time_of(dec + p_tok, attn, (base + dec * d + dec if dec else 0.0) + p_tok, fresh=fresh)
        t += dt
        # decode tokens out; sequences at their last token leave
        while dec and done_heap and done_heap[0][0] == d:
            _, r = heapq.heappop(done_heap)
            finish[r] = t
            n_dec -= 1
            base -= S[r] - fin_k0[r]
            run -= 1
            kv_used -= S[r] + O[r]
            finished += 1
            if clients is not None and nxt < n:  # sent after step k, during step k + 1
                send(t, k + 2)
        drain = cost.drain(dt, dec + p_tok) if completed else 0.0
        for r in completed:
            pre_order.popleft()
            del filled[r]
            first[r] = t + drain
            if O[r] <= 1:
                finish[r] = t
                run -= 1
                kv_used -= S[r] + O[r]
                finished += 1
                if clients is not None and nxt < n:
                    send(t, k + 2)
            else:
                k0 = d - 1 if separate else d  # its first decode step is k0 + 1 (this one decoded nothing: d again)
                fin_k0[r] = k0
                n_dec += 1
                base += S[r] - k0
                heapq.heappush(done_heap, (k0 + O[r] - 1, r))
        k += 1
        if not separate:
            d += 1
    return arrive, first, finish


def _fast_forward(cost, n_dec, base, k, t, steps, next_arrival):
    """Run up to ``steps`` decode-only steps of ``n_dec`` sequences (contexts base + n_dec*k),
    stopping after the step during which ``next_arrival`` comes; long runs as one numpy block.
    Returns (steps run, t)."""
    if next_arrival is not None:  # step times grow with the context: the first one bounds the count
        ctx = base + n_dec * k
        first = cost.time(n_dec, ctx, ctx + n_dec)
        steps = min(steps, int((next_arrival - t) / first) + 2)
    if steps < 32:
        j = 0
        while j < steps:
            ctx = base + n_dec * (k + j)
            t += cost.time(n_dec, ctx, ctx + n_dec)
            j += 1
            if next_arrival is not None and t >= next_arrival:
                break
        return j, t
    ctx = base + n_dec * np.arange(k, k + steps, dtype=float)
    cum = t + np.cumsum(cost.time(float(n_dec), ctx, ctx + n_dec))
    j = steps if next_arrival is None else min(steps, int(np.searchsorted(cum, next_arrival)) + 1)
    return j, float(cum[j - 1])


def statistics(arrive, first, finish, outputs, warmup):
    """Means and percentiles of a run, the first ``warmup`` requests left out (they find an empty engine).
    Requests per second: the measured requests' arrivals over the time they span, (n - 1) / (last - first
    arrival), the span in which a closed loop's clients are all active (after the last request is sent they
    drain: no steady state); mean concurrency by Little's law, rate x mean e2e."""
    sl = slice(warmup, None)
    ttft = (first - arrive)[sl]
    e2e = (finish - arrive)[sl]
    o = outputs[sl]
    many = o > 1
    tpot = ((finish - first)[sl][many]) / (o[many] - 1)
    rate = (len(ttft) - 1) / (arrive[-1] - arrive[warmup])
    out = {
        "ttft_mean": ttft.mean(),
        "itl_mean": tpot.mean() if tpot.size else np.nan,
        "e2e_mean": e2e.mean(),
        "requests_per_second": rate,
        "concurrency_mean": rate * e2e.mean(),
    }
    for p in (50, 90, 99):
        out[f"ttft_p{p}"] = np.percentile(ttft, p)
        out[f"itl_p{p}"] = np.percentile(tpot, p) if tpot.size else np.nan
        out[f"e2e_p{p}"] = np.percentile(e2e, p)
    return out
