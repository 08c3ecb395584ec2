"""A minimal continuous-batching serving loop on one GPU, under Poisson and closed-loop load (issues 15, 20).

Run on the device machine (python3 with torch there):

    PYTHONUNBUFFERED=1 python3 bench/device/h200_serve_loop.py --out "$OUT/serve.json"

and on a CPU, end to end with tiny shapes, to check the script before spending device time:

    python bench/device/h200_serve_loop.py --tiny --out /tmp/serve_tiny.json

The engine serves ``h200_measure.Model`` (a catalog model's geometry, random bf16 weights; its decoder layers,
:meth:`h200_measure.Model.blocks`) with:
  - a KV cache of S + 1 slots x L_max tokens per layer, contiguous per slot (the last slot a scratch slot that
    padded batch entries write and read);
  - decode attention that reads only each sequence's own tokens: ``aten._flash_attention_forward`` varlen with
    ``cum_seq_k`` = slot offsets and ``seqused_k`` = lengths (GQA native), checked against SDPA at start; where
    it does not run (a CPU), SDPA over each slot's L_max tokens with a length mask. The JSON says which ran;
  - decode steps replayed from CUDA graphs captured per batch bucket (1, 2, 4, ... max_num_seqs; the padding
    entries write the scratch slot), as vLLM does; prefill eager, packed varlen causal (flash varlen, or SDPA
    per prompt on a CPU);
  - greedy sampling on the GPU; the sampled tokens read to the host after every step (the step's end).
Scheduler: ``ServingModel(..., prefill_steps="separate")`` (vLLM v0.5 ``_schedule_default`` without chunked
prefill; mlsysim_serving.simulate with ``separate``): before each step, if prompts wait and a slot is free, one
prefill step of waiting prompts FCFS (up to max_num_batched_tokens tokens and the free slots) that decodes
nothing, whose end is each of its requests' first token; else one decode step of every running sequence. A
request leaves at its output_len-th token. Open loop: Poisson arrivals drawn in advance (seeded), admitted by
the first scheduling after their time; closed loop: N clients, each sending its next request at the end of the
step that gave its last token (taken by the next scheduling).
Timing: time.perf_counter at each step's end (after the sampled tokens reach the host); CUDA events around each
step's GPU work, so the loop's host time per step (step wall less GPU time) is measured, not assumed.
Each section has a time guard; the JSON is rewritten after every load level, so a killed run leaves its data.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from collections import deque

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h200_measure as H  # noqa: E402 - the first run's model, header and JSON writer

#: what a full run serves (Llama3_8B; vLLM v0.5's max_num_seqs 256, and 2,048 tokens a step: its
#: max(max_model_len, 2048) budget without chunked prefill, max_model_len here L_max)
FULL = dict(model="Llama3_8B", prompt=512, output=128, max_num_seqs=256, max_num_batched_tokens=2048)
TINY = dict(model="tiny", prompt=24, output=8, max_num_seqs=8, max_num_batched_tokens=64)
#: open-loop rates as shares of the measured saturation rate; closed-loop client counts
SHARES = (0.15, 0.35, 0.55, 0.75, 0.9)
CLIENTS = (1, 8, 32)


def quantiles(xs: list[float]) -> dict:
    """mean, p50, p90, p99 (numpy's linear interpolation between order statistics)."""
    if not xs:
        return {}
    s = sorted(xs)

    def q(p: float) -> float:
        h = (len(s) - 1) * p
        lo = math.floor(h)
        return s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (h - lo)

    return {"mean": sum(s) / len(s), "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "n": len(s)}


class Engine:
    """The KV cache, the decode graphs and the two step kinds of one model on one device."""

    def __init__(self, m: H.Model, dev: torch.device, max_seqs: int, l_max: int) -> None:
        g = m.g
        self.m, self.dev, self.S, self.L = m, dev, max_seqs, l_max
        self.hq, self.hk, self.d = g["heads"], g["kv_heads"], g["head_dim"]
        rows = (max_seqs + 1) * l_max
        self.kv = torch.empty((g["layers"], 2, rows, self.hk, self.d), device=dev, dtype=torch.bfloat16)
        self.kv.normal_() if dev.type == "cuda" else self.kv.copy_(torch.randn(self.kv.shape))
        self.emb = H.randn((g["vocab"], g["hidden"]), dev, torch.bfloat16)
        cos, sin = m.rope(0, l_max)
        self.cos, self.sin = cos, sin
        self.scale = 1.0 / math.sqrt(self.d)
        # decode inputs, static for the graphs (one host-to-device copy a step): token, position (= tokens in the
        # cache before it), slot
        n = max_seqs
        self.inp = torch.zeros((3, n), dtype=torch.long, device=dev)
        self.tok, self.pos, self.slot = self.inp[0], self.inp[1], self.inp[2]
        self.slot.fill_(max_seqs)
        self.cum_q = torch.arange(n + 1, dtype=torch.int32, device=dev)
        self.end_k = torch.full((1,), (max_seqs + 1) * l_max, dtype=torch.int32, device=dev)
        self.out = torch.zeros(n, dtype=torch.long, device=dev)
        self.logits: torch.Tensor | None = None  # the last eager decode step's logits, where asked (check_decode)
        self.keep_logits = False
        self.graphs: dict[int, torch.cuda.CUDAGraph] = {}
        self.buckets = [b for b in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512) if b < max_seqs] + [max_seqs]
        self.flash = False
        self.attention = "sdpa with a length mask over each slot's L_max tokens"

    # ------------------------------------------------------------------ attention
    def _flash(self, q, k, v, cum_q, cum_k, max_q, max_k, causal, used=None):
        kw = {"scale": self.scale}
        if used is not None:
            kw["seqused_k"] = used
        return torch.ops.aten._flash_attention_forward(q, k, v, cum_q, cum_k, max_q, max_k, 0.0, causal, False, **kw)[0]

    def probe_flash(self) -> str | None:
        """Use flash varlen where it runs and agrees with SDPA (decode with seqused_k, and causal prefill)."""
        if self.dev.type != "cuda":
            return "no CUDA device"
        try:
            hq, hk, d, dev = self.hq, self.hk, self.d, self.dev
            lens, offs = [5, 37, 130], [0, 300, 600]
            k = H.randn((800, hk, d), dev, torch.bfloat16)
            v = H.randn((800, hk, d), dev, torch.bfloat16)
            q = H.randn((3, hq, d), dev, torch.bfloat16)
            cum_k = torch.tensor(offs + [800], dtype=torch.int32, device=dev)
            cum_q = torch.arange(4, dtype=torch.int32, device=dev)
            used = torch.tensor(lens, dtype=torch.int32, device=dev)
            o = self._flash(q, k, v, cum_q, cum_k, 1, 300, False, used)
            err = 0.0
            for j, (n, s) in enumerate(zip(lens, offs)):
                kk, vv = k[s : s + n].transpose(0, 1)[None], v[s : s + n].transpose(0, 1)[None]
                ref = F.scaled_dot_product_attention(
                    q[j : j + 1, :, None].float(), kk.float(), vv.float(), enable_gqa=True
                )
                err = max(err, ((o[j].float() - ref[0, :, 0]).norm() / ref.norm()).item())
            tot = sum(lens)
            qp = H.randn((tot, hq, d), dev, torch.bfloat16)
            kp, vp = k[:tot].contiguous(), v[:tot].contiguous()
            cum = torch.tensor([0, 5, 42, tot], dtype=torch.int32, device=dev)
            op = self._flash(qp, kp, vp, cum, cum, max(lens), max(lens), True)
            a = 0
            for n in lens:
                sl = slice(a, a + n)
                ref = F.scaled_dot_product_attention(
                    qp[sl].transpose(0, 1)[None].float(),
                    kp[sl].transpose(0, 1)[None].float(),
                    vp[sl].transpose(0, 1)[None].float(),
                    is_causal=True,
                    enable_gqa=True,
                )[0].transpose(0, 1)
                err = max(err, ((op[sl].float() - ref).norm() / ref.norm()).item())
                a += n
            H.RESULT["flash_probe_rel_err"] = err
            if not err < 2e-2:
                return f"flash varlen differs from SDPA: relative error {err:.3g}"
        except Exception as exc:  # noqa: BLE001 - recorded; the SDPA path runs instead
            return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        self.flash = True
        self.attention = "aten._flash_attention_forward varlen (decode: seqused_k = lengths; prefill: causal packed)"
        return None

    # ------------------------------------------------------------------ steps
    def _write(self, i: int, k, v, rows) -> tuple[torch.Tensor, torch.Tensor]:
        kc, vc = self.kv[i, 0], self.kv[i, 1]
        kc.index_copy_(0, rows, k)
        vc.index_copy_(0, rows, v)
        return kc, vc

    def decode_forward(self, b: int) -> None:
        """One decode step of the first ``b`` static entries: their tokens in, the next tokens to ``self.out``."""
        tok, pos, slot = self.tok[:b], self.pos[:b], self.slot[:b]
        rows = slot * self.L + pos
        used = (pos + 1).to(torch.int32)
        cum_k = torch.cat([(slot * self.L).to(torch.int32), self.end_k])
        x = self.emb[tok][None]  # (1, b, hidden): the b tokens as one packed sequence
        cos, sin = self.cos[pos], self.sin[pos]
        if not self.flash:
            mask = (torch.arange(self.L, device=self.dev)[None] <= pos[:, None])[:, None, None, :]

        def attn(q, k, v, i):
            q, k, v = q[0].transpose(0, 1), k[0].transpose(0, 1), v[0].transpose(0, 1)  # (b, heads, d)
            kc, vc = self._write(i, k, v, rows)
            if self.flash:
                o = self._flash(q.contiguous(), kc, vc, self.cum_q[: b + 1], cum_k, 1, self.L, False, used)
            else:
                kk = kc.view(self.S + 1, self.L, self.hk, self.d)[slot].transpose(1, 2)
                vv = vc.view(self.S + 1, self.L, self.hk, self.d)[slot].transpose(1, 2)
                o = F.scaled_dot_product_attention(
                    q[:, :, None], kk, vv, attn_mask=mask, scale=self.scale, enable_gqa=True
                )
                o = o[:, :, 0]
            return o.transpose(0, 1)[None]

        x = self.m.blocks(x, attn, cos, sin)[0]
        logits = self.m.head(self.m.rms(x, self.m.norm))
        if self.keep_logits:
            self.logits = logits.float()
        self.out[:b] = logits.argmax(-1)

    def set_decode(self, seqs: list, bucket: int) -> None:
        """Static inputs of a decode step over ``seqs`` (sorted by slot), padded to ``bucket`` with scratch entries."""
        pad = bucket - len(seqs)
        rows = [
            [r.last for r in seqs] + [0] * pad,
            [r.length for r in seqs] + [0] * pad,
            [r.slot for r in seqs] + [self.S] * pad,
        ]
        self.inp[:, :bucket].copy_(torch.tensor(rows), non_blocking=True)

    def capture(self) -> None:
        """A CUDA graph of the decode step per bucket (on a CPU: none, the step runs eagerly)."""
        if self.dev.type != "cuda":
            return
        pool = None
        for b in reversed(self.buckets):  # largest first: the smaller ones share its memory pool
            self.tok[:b].zero_()
            self.pos[:b].zero_()
            self.slot[:b].fill_(self.S)
            s_ = torch.cuda.Stream()
            s_.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s_):
                for _ in range(2):
                    self.decode_forward(b)
            torch.cuda.current_stream().wait_stream(s_)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g, pool=pool):
                self.decode_forward(b)
            pool = g.pool()
            self.graphs[b] = g
        torch.cuda.synchronize()

    def decode(self, b: int) -> None:
        if b in self.graphs:
            self.graphs[b].replay()
        else:
            self.decode_forward(b)

    def prefill(self, reqs: list, tok: torch.Tensor | None = None, logits: bool = False) -> torch.Tensor:
        """One packed prefill step of ``reqs`` (each a whole prompt into its slot): their first tokens (or, with
        ``logits``, the last positions' logits); the prompts' tokens ``tok`` (packed), random where not given."""
        lens = [r.prompt for r in reqs]
        tot = sum(lens)
        pos = torch.cat([torch.arange(n) for n in lens]).to(self.dev, non_blocking=True)
        base = torch.tensor([r.slot * self.L for r in reqs]).repeat_interleave(torch.tensor(lens))
        rows = base.to(self.dev, non_blocking=True) + pos
        if tok is None:
            tok = torch.randint(0, self.emb.shape[0], (tot,), device=self.dev)
        cum_l = [0]
        for n in lens:
            cum_l.append(cum_l[-1] + n)
        cum = torch.tensor(cum_l, dtype=torch.int32).to(self.dev, non_blocking=True)
        last = torch.tensor(cum_l[1:]).to(self.dev, non_blocking=True) - 1
        x = self.emb[tok][None]
        cos, sin = self.cos[pos], self.sin[pos]

        def attn(q, k, v, i):
            q, k, v = q[0].transpose(0, 1), k[0].transpose(0, 1), v[0].transpose(0, 1)  # (T, heads, d)
            k, v = k.contiguous(), v.contiguous()
            self._write(i, k, v, rows)
            if self.flash:
                o = self._flash(q.contiguous(), k, v, cum, cum, max(lens), max(lens), True)
            else:
                parts = []
                for a, n in zip(cum_l, lens):
                    qq, kk, vv = (t[a : a + n].transpose(0, 1)[None] for t in (q, k, v))
                    parts.append(
                        F.scaled_dot_product_attention(qq, kk, vv, is_causal=True, scale=self.scale, enable_gqa=True)[
                            0
                        ].transpose(0, 1)
                    )
                o = torch.cat(parts)
            return o.transpose(0, 1)[None]

        x = self.m.blocks(x, attn, cos, sin)[0]
        out = self.m.head(self.m.rms(x[last], self.m.norm))
        return out.float() if logits else out.argmax(-1)

    def mixed(self, dec: list, chunks: list, chunk_tokens: list | None = None) -> torch.Tensor:
        """One mixed step: a token of each decoding sequence of ``dec`` (sorted by slot), then ``chunks``
        (request, tokens) of prompts, each at its positions ``filled`` ... ``filled + tokens - 1`` of its slot
        (tokens ``chunk_tokens``, random where not given). Every new K and V is written into the cache first;
        attention reads each item's slot up to its last new token, causal within the item (flash varlen with
        ``seqused_k``, its causal mask aligned to the end of the keys; else SDPA per item). The sampled token at
        each item's last position, in that order."""
        items = [(r.slot, r.length, 1) for r in dec] + [(r.slot, r.filled, c) for r, c in chunks]
        pos = torch.cat([torch.arange(a, a + n) for _, a, n in items])
        base = torch.tensor([sl * self.L for sl, _, _ in items]).repeat_interleave(torch.tensor([n for *_, n in items]))
        rows = (base + pos).to(self.dev, non_blocking=True)
        pos = pos.to(self.dev, non_blocking=True)
        tok = torch.cat(
            [torch.tensor([r.last for r in dec], dtype=torch.long).to(self.dev)]
            + (chunk_tokens or [torch.randint(0, self.emb.shape[0], (c,), device=self.dev) for _, c in chunks])
        )
        cum_l = [0]
        for *_, n in items:
            cum_l.append(cum_l[-1] + n)
        cum_q = torch.tensor(cum_l, dtype=torch.int32).to(self.dev, non_blocking=True)
        cum_k = torch.tensor([sl * self.L for sl, _, _ in items] + [(self.S + 1) * self.L], dtype=torch.int32)
        cum_k = cum_k.to(self.dev, non_blocking=True)
        used = torch.tensor([a + n for _, a, n in items], dtype=torch.int32).to(self.dev, non_blocking=True)
        last = torch.tensor(cum_l[1:]).to(self.dev, non_blocking=True) - 1
        x = self.emb[tok][None]
        cos, sin = self.cos[pos], self.sin[pos]
        max_q = max(n for *_, n in items)

        def attn(q, k, v, i):
            q, k, v = q[0].transpose(0, 1), k[0].transpose(0, 1), v[0].transpose(0, 1)  # (T, heads, d)
            kc, vc = self._write(i, k.contiguous(), v.contiguous(), rows)
            if self.flash:
                o = self._flash(q.contiguous(), kc, vc, cum_q, cum_k, max_q, self.L, True, used)
            else:
                parts = []
                for (sl, a, n), c0 in zip(items, cum_l):
                    qq = q[c0 : c0 + n].transpose(0, 1)[None]
                    kk = kc[sl * self.L : sl * self.L + a + n].transpose(0, 1)[None]
                    vv = vc[sl * self.L : sl * self.L + a + n].transpose(0, 1)[None]
                    mask = torch.arange(a + n, device=self.dev)[None] <= a + torch.arange(n, device=self.dev)[:, None]
                    o1 = F.scaled_dot_product_attention(qq, kk, vv, attn_mask=mask, scale=self.scale, enable_gqa=True)
                    parts.append(o1[0].transpose(0, 1))
                o = torch.cat(parts)
            return o.transpose(0, 1)[None]

        x = self.m.blocks(x, attn, cos, sin)[0]
        out = self.m.head(self.m.rms(x[last], self.m.norm))
        if self.keep_logits:
            self.logits = out.float()
        return out.argmax(-1)

    def check_mixed(self) -> dict:
        """Chunked prefill against one prefill: a prompt prefilled in two mixed steps (its first chunk beside a
        decoding sequence) and the same tokens prefilled at once in another slot; the relative error of the last
        position's logits."""
        n = min(40, self.L - 2)
        toks = torch.randint(0, self.emb.shape[0], (n,), device=self.dev)
        whole = Request(0, n, 2, 0.0)
        whole.slot = 0
        ref = self.prefill([whole], toks, logits=True)
        other = Request(1, 5, 3, 0.0)
        other.slot = 1
        self.prefill([other])
        other.length, other.last = 5, 7
        part = Request(2, n, 2, 0.0)
        part.slot, part.filled = 2, 0
        self.mixed([other], [(part, n // 2)], [toks[: n // 2]])
        part.filled = n // 2
        self.keep_logits = True
        self.mixed([], [(part, n - n // 2)], [toks[n // 2 :]])
        self.keep_logits = False
        return {"chunked_vs_whole_prefill_rel_err": ((self.logits[-1:] - ref).norm() / ref.norm()).item()}

    def check_decode(self) -> dict:
        """The decode path against the prefill path: prompts of n tokens prefilled into slots, then one decode
        step of token x (eager, and from the graphs), against the prefill of the n + 1 tokens in other slots;
        the relative error of the logits, and whether the graphs' greedy tokens equal the eager ones."""
        lens = [min(n, self.L - 2) for n in (7, 33, 2)][: max(1, self.S // 2)]
        reqs = [Request(i, n, 2, 0.0) for i, n in enumerate(lens)]
        for i, r in enumerate(reqs):
            r.slot = i
        toks = [torch.randint(0, self.emb.shape[0], (n + 1,), device=self.dev) for n in lens]
        self.prefill(reqs, torch.cat([t[:-1] for t in toks]))
        for r, t in zip(reqs, toks):
            r.length, r.last = r.prompt, int(t[-1])
        longer = [Request(i, n + 1, 2, 0.0) for i, n in enumerate(lens)]
        for i, r in enumerate(longer):
            r.slot = len(lens) + i
        ref = self.prefill(longer, torch.cat(toks), logits=True)
        bucket = next(b for b in self.buckets if b >= len(reqs))
        self.set_decode(reqs, bucket)
        self.keep_logits = True
        self.decode_forward(bucket)
        self.keep_logits = False
        got = self.logits[: len(reqs)]
        eager = self.out[: len(reqs)].tolist()
        err = ((got - ref).norm() / ref.norm()).item()
        same = None
        if bucket in self.graphs:
            self.set_decode(reqs, bucket)
            self.graphs[bucket].replay()
            same = self.out[: len(reqs)].tolist() == eager
        return {"decode_vs_prefill_rel_err": err, "graph_tokens_equal_eager": same}


class Request:
    __slots__ = ("rid", "prompt", "output", "arrive", "times", "slot", "length", "last", "client", "filled")

    def __init__(self, rid: int, prompt: int, output: int, arrive: float, client: int = -1) -> None:
        self.rid, self.prompt, self.output, self.arrive, self.client = rid, prompt, output, arrive, client
        self.times: list[float] = []  # each token's step end (s, from the level's start)
        self.slot = self.length = self.last = -1
        self.filled = 0  # prompt tokens prefilled (mixed steps: chunked prefill)


class Loop:
    """The scheduler and its timing, one load level at a time: prefill steps of their own, FCFS (``mixed`` False:
    ServingModel's prefill_steps "separate"), or ``mixed`` steps (its default): every running sequence's decode
    token and, in what is left of the step's M tokens, chunks of the admitted prompts FCFS (chunked prefill; a
    step with no prompt to prefill is a decode step from the graphs)."""

    def __init__(self, eng: Engine, budget: int, mixed: bool = False) -> None:
        self.eng, self.M, self.mixed = eng, budget, mixed
        self.cuda = eng.dev.type == "cuda"

    def run(
        self,
        prompt: int,
        output: int,
        arrivals: list[float] | None,
        clients: int,
        duration: float,
        guard: float,
        lengths: list[tuple[int, int]] | None = None,
    ) -> dict:
        """Serve one level: ``arrivals`` (s from the start, open loop; each request's (prompt, output) from
        ``lengths`` where given, else fixed) or ``clients`` (closed loop, sending for ``duration`` s). Stops
        admitting at ``guard`` s (the section's time guard; requests then left out)."""
        eng, M = self.eng, self.M
        free = list(range(eng.S - 1, -1, -1))
        waiting: deque[Request] = deque()
        running: list[Request] = []
        done: list[Request] = []
        steps: list[tuple] = []  # (kind, batch, tokens, wall_s, host_before_s, event pair or gpu s)
        nxt = 0
        rid = 0
        t0 = time.perf_counter()
        open_loop = arrivals is not None
        pending: list[Request] = []
        if open_loop:
            sizes = lengths or [(prompt, output)] * len(arrivals)
            pending = [Request(i, p, o, a) for i, (a, (p, o)) in enumerate(zip(arrivals, sizes))]
            rid = len(pending)
        else:
            for c in range(clients):
                waiting.append(Request(rid, prompt, output, 0.0, c))
                rid += 1
        prev_end = 0.0
        cut = False
        held: list[Request] = []  # a closed loop's requests sent during the last step: taken after the next one
        filling: list[Request] = []  # admitted, prompt partly prefilled (mixed steps)

        def emit(seqs: list[Request], toks: list[int], end: float) -> list[Request]:
            """Each decoding sequence's token at ``end``; those at their last token leave (a closed loop's client
            sends its next request then). Returns those still running."""
            nonlocal rid
            still = []
            for r, tk in zip(seqs, toks):
                r.times.append(end)
                r.length += 1
                r.last = tk
                if len(r.times) >= r.output:
                    free.append(r.slot)
                    done.append(r)
                    if not open_loop and end < duration and not cut:  # the client sends its next request
                        fresh.append(Request(rid, prompt, output, end, r.client))
                        rid += 1
                else:
                    still.append(r)
            return still

        while True:
            now = time.perf_counter() - t0
            if now > guard and not cut:
                cut = True  # time guard: nothing new is admitted; what is running finishes
                pending = pending[:nxt]
            while nxt < len(pending) and pending[nxt].arrive <= now:
                waiting.append(pending[nxt])
                nxt += 1
            if not running and not waiting and held:  # the engine was left idle: it takes them at once
                waiting.extend(held)
                held = []
            if not running and not filling and not (waiting and not cut):
                if nxt < len(pending):
                    target = pending[nxt].arrive
                    while time.perf_counter() - t0 < target:  # idle until the next arrival (spin: no sleep jitter)
                        pass
                    prev_end = time.perf_counter() - t0
                    continue
                break
            start = now if now > prev_end + 1e-3 and not running else prev_end  # an idle engine starts at now
            fresh: list[Request] = []  # closed-loop requests sent at this step's end
            chunks: list[tuple[Request, int]] = []
            if self.mixed:  # admit while slots are free; prompt chunks fill what the decode tokens leave of M
                while waiting and free and not cut:
                    r = waiting.popleft()
                    r.slot, r.filled = free.pop(), 0
                    filling.append(r)
                budget = M - len(running)
                for r in filling:
                    c = min(r.prompt - r.filled, budget)
                    if c <= 0:
                        break
                    chunks.append((r, c))
                    budget -= c
            if chunks:
                running.sort(key=lambda r: r.slot)
                t_launch = time.perf_counter() - t0
                ev = self._events()
                out = eng.mixed(running, chunks)
                self._events_end(ev)
                toks = out.tolist()
                end = time.perf_counter() - t0
                n = len(running)
                running = emit(running, toks[:n], end)
                for (r, c), tk in zip(chunks, toks[n:]):
                    r.filled += c
                    if r.filled >= r.prompt:  # its prefill done: its first token
                        filling.remove(r)
                        r.times.append(end)
                        r.length, r.last = r.prompt, tk
                        running.append(r)
                steps.append(("m", n, n + sum(c for _, c in chunks), end - start, t_launch - start, ev))
            elif not self.mixed and waiting and free and not cut:
                batch, tokens = [], 0
                while waiting and free and tokens + waiting[0].prompt <= M:
                    r = waiting.popleft()
                    r.slot = free.pop()
                    batch.append(r)
                    tokens += r.prompt
                t_launch = time.perf_counter() - t0
                ev = self._events()
                first = eng.prefill(batch)
                self._events_end(ev)
                toks = first.tolist()
                end = time.perf_counter() - t0
                for r, tk in zip(batch, toks):
                    r.times.append(end)
                    r.length, r.last = r.prompt, tk
                    running.append(r)
                steps.append(("p", len(batch), tokens, end - start, t_launch - start, ev))
            else:
                running.sort(key=lambda r: r.slot)
                n = len(running)
                bucket = next(b for b in eng.buckets if b >= n)
                eng.set_decode(running, bucket)
                t_launch = time.perf_counter() - t0
                ev = self._events()
                eng.decode(bucket)
                self._events_end(ev)
                toks = eng.out[:n].tolist()
                end = time.perf_counter() - t0
                running = emit(running, toks, end)
                steps.append(("d", n, n, end - start, t_launch - start, ev))
            waiting.extend(held)  # sent at the end of the step before this one: the next scheduling takes them
            held = fresh
            prev_end = end
            if not open_loop and not running and not waiting and not held and not filling:
                break
        for r in [r for r in running if len(r.times) >= r.output]:
            done.append(r)
        if self.cuda:
            torch.cuda.synchronize()
        gpu = [(s[0], s[1], s[2], s[3], s[4], self._elapsed(s[5])) for s in steps]
        done.sort(key=lambda r: r.rid)
        return {"requests": done, "steps": gpu, "cut": cut, "sent": rid if not open_loop else len(pending)}

    def _events(self):
        if not self.cuda:
            return [time.perf_counter()]
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        return [a, b]

    def _events_end(self, ev) -> None:
        if self.cuda:
            ev[1].record()
        else:
            ev.append(time.perf_counter())

    def _elapsed(self, ev) -> float:
        return ev[0].elapsed_time(ev[1]) / 1e3 if self.cuda else ev[1] - ev[0]


def throughput(res: dict) -> float | None:
    """Requests served per second of the engine's steps (all requests over the sum of the steps' wall times):
    a closed loop at max_num_seqs clients, never idle, gives the loop's saturation rate. (The run of 2026-12-04
    took the 10th-90th percentile of finish times instead, which its clients' bunched finishes overstated: 63.6
    against 40.3 requests/s.)"""
    busy = sum(s[3] for s in res["steps"])
    return len(res["requests"]) / busy if busy > 0 else None


def summary(res: dict, warmup_share: float) -> tuple[dict, list]:
    """Level statistics (the first ``warmup_share`` of the requests, by arrival, left out) and compact rows."""
    reqs = res["requests"]
    w = int(len(reqs) * warmup_share)
    kept = reqs[w:]
    ttft = [r.times[0] - r.arrive for r in kept]
    e2e = [r.times[-1] - r.arrive for r in kept]
    tpot = [(r.times[-1] - r.times[0]) / (len(r.times) - 1) for r in kept if len(r.times) > 1]
    gaps = [b - a for r in kept for a, b in zip(r.times, r.times[1:])]
    span = kept[-1].arrive - kept[0].arrive if len(kept) > 1 else float("nan")
    steps = res["steps"]
    dec = [s for s in steps if s[0] == "d"]
    pre = [s for s in steps if s[0] == "p"]
    t_first = min(r.arrive for r in reqs) if reqs else 0.0
    t_last = max(r.times[-1] for r in reqs) if reqs else 0.0
    busy = sum(s[3] for s in steps)
    out = {
        "requests": len(reqs),
        "kept": len(kept),
        "warmup_left_out": w,
        "requests_per_second": (len(kept) - 1) / span if span > 0 else None,
        "throughput": throughput(res),
        "ttft_s": quantiles(ttft),
        "tpot_s": quantiles(tpot),
        "itl_gap_s": quantiles(gaps),
        "e2e_s": quantiles(e2e),
        "busy_share": busy / (t_last - t_first) if t_last > t_first else None,
        "decode_steps": len(dec),
        "prefill_steps": len(pre),
        "decode_batch_mean": statistics.fmean(s[1] for s in dec) if dec else None,
        "prefill_prompts_mean": statistics.fmean(s[1] for s in pre) if pre else None,
        "decode_wall_s": quantiles([s[3] for s in dec]),
        "decode_gpu_s": quantiles([s[5] for s in dec]),
        "decode_host_s": quantiles([s[3] - s[5] for s in dec]),
        "prefill_wall_s": quantiles([s[3] for s in pre]),
        "prefill_gpu_s": quantiles([s[5] for s in pre]),
        "prefill_host_s": quantiles([s[3] - s[5] for s in pre]),
    }
    rows = [[round(r.arrive, 5), round(r.times[0], 5), round(r.times[-1], 5), len(r.times), r.prompt] for r in reqs]
    return out, rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="JSON file to write (rewritten after every level)")
    ap.add_argument("--tiny", action="store_true", help="tiny shapes on the CPU (a check of the script)")
    ap.add_argument("--budget", type=float, default=300.0, help="seconds the whole run may take")
    ap.add_argument("--level-s", type=float, default=24.0, help="seconds of arrivals in one open-loop level")
    ap.add_argument("--max-requests", type=int, default=700, help="most requests in one open-loop level")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--length-cv", type=float, default=0.5, help="one more open level: lognormal lengths (0: none)")
    ap.add_argument("--cv-share", type=float, default=0.35, help="its rate, a share of the saturation rate")
    ap.add_argument(
        "--scheduler", choices=("separate", "mixed"), default="separate", help="prefill steps of their own, or mixed"
    )
    ap.add_argument("--max-num-batched-tokens", type=int, help="tokens a step (default 2,048; tiny 64)")
    args = ap.parse_args()
    H.OUT_PATH = args.out
    dev = H.begin("bench/device/h200_serve_loop.py", args.tiny)
    cfg = dict(TINY if args.tiny else FULL)
    if args.max_num_batched_tokens:
        cfg["max_num_batched_tokens"] = args.max_num_batched_tokens
    g = H.TINY if args.tiny else H.MODELS[cfg["model"]]
    level_s = 1.5 if args.tiny else args.level_s
    # lengths of the length_cv level: lognormal about the means, at most 3 times each (a prompt at most one step)
    cap_p, cap_o = min(cfg["max_num_batched_tokens"], 3 * cfg["prompt"]), 3 * cfg["output"]
    l_max = cap_p + cap_o if args.length_cv > 0 else cfg["prompt"] + cfg["output"]
    cfg.update(
        l_max=l_max, level_s=level_s, max_requests=args.max_requests, seed=args.seed, shares=SHARES, clients=CLIENTS
    )
    cfg.update(length_cv=args.length_cv, cv_share=args.cv_share, length_caps=[cap_p, cap_o])
    cfg["scheduler"] = args.scheduler
    H.RESULT.update(
        config=cfg,
        levels=[],
        scheduler="prefill steps of their own (ServingModel prefill_steps='separate'), FCFS"
        if args.scheduler == "separate"
        else "mixed steps: decode tokens + prompt chunks FCFS (ServingModel prefill_steps='mixed', chunked prefill)",
    )
    H.nvsmi("before")
    B = args.budget
    with torch.inference_mode():
        m = H.Model(g, dev)
        eng = Engine(m, dev, cfg["max_num_seqs"], l_max)
        why = eng.probe_flash()
        H.RESULT["attention"] = eng.attention
        if why:
            H.RESULT["flash_not_used"] = why
        H.log(f"attention: {eng.attention}{' (' + why + ')' if why else ''}")
        t = time.perf_counter()
        try:
            eng.capture()
        except Exception as exc:  # noqa: BLE001 - recorded; the SDPA path is captured instead, else eager steps
            H.error("capture", exc)
            eng.graphs = {}
            if eng.flash:
                eng.flash = False
                eng.attention = "sdpa with a length mask (flash varlen failed in graph capture)"
                H.RESULT["attention"] = eng.attention
                try:
                    eng.capture()
                except Exception as exc2:  # noqa: BLE001 - eager decode steps then
                    H.error("capture sdpa", exc2)
                    eng.graphs = {}
        H.RESULT["graphs"] = {"buckets": sorted(eng.graphs), "capture_s": round(time.perf_counter() - t, 2)}
        H.log(f"decode graphs {sorted(eng.graphs)} in {time.perf_counter() - t:.1f} s")
        try:
            H.RESULT["check"] = eng.check_decode() | eng.check_mixed()
            H.log(f"check: {H.RESULT['check']}")
        except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
            H.error("check_decode", exc)
        H.save()
        loop = Loop(eng, cfg["max_num_batched_tokens"], mixed=args.scheduler == "mixed")
        rng = random.Random(args.seed)

        def level(name: str, arrivals=None, clients=0, duration=0.0, guard=60.0, keep=True, lengths=None) -> dict:
            H.log(f"level {name}: start")
            res = loop.run(cfg["prompt"], cfg["output"], arrivals, clients, duration, guard, lengths)
            s, rows = summary(res, 0.1)
            s.update(name=name, clients=clients or None, cut_by_guard=res["cut"])
            if arrivals is not None:
                s["arrival_rate"] = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else None
                s["arrivals"] = len(arrivals)
            if keep:
                st = res["steps"]
                s["steps"] = {
                    "kind": "".join(x[0] for x in st),
                    "batch": [x[1] for x in st],
                    "wall_us": [round(x[3] * 1e6) for x in st],
                    "gpu_us": [round(x[5] * 1e6) for x in st],
                }
                s["per_request"] = {"columns": ["arrive_s", "first_s", "finish_s", "tokens", "prompt"], "rows": rows}
                H.RESULT["levels"].append(s)
                H.save()
            tt, tp = s["ttft_s"], s["tpot_s"]
            H.log(
                f"level {name}: {s['requests']} req, {s['requests_per_second'] or 0:.2f} req/s, TTFT mean "
                f"{tt.get('mean', 0) * 1e3:.1f} p90 {tt.get('p90', 0) * 1e3:.1f} ms, "
                f"TPOT mean {tp.get('mean', 0) * 1e3:.2f} ms, "
                f"decode host {s['decode_host_s'].get('p50', 0) * 1e3:.2f} ms"
            )
            return s

        # warm-up (prefill shapes, allocator), not kept; then the saturation probe: max_num_seqs clients
        level("warmup", clients=min(8, cfg["max_num_seqs"]), duration=1.0 if not args.tiny else 0.3, keep=False)
        probe_s = 2.0 if args.tiny else 8.0
        sat = level(f"closed{cfg['max_num_seqs']}", clients=cfg["max_num_seqs"], duration=probe_s, guard=probe_s + 5)
        x_sat = sat["throughput"]
        H.RESULT["saturation_rate"] = x_sat
        for share in SHARES:
            if H.elapsed() > 0.8 * B:
                H.RESULT["skipped"].append(f"open {share}: time guard")
                continue
            rate = share * x_sat
            n = int(min(args.max_requests, rate * level_s)) + 1
            t, arr = 0.0, []
            for _ in range(n):
                t += rng.expovariate(rate)
                arr.append(t)
            level(f"open{share:.2f}", arrivals=arr, guard=min(level_s + 5, max(1.0, 0.85 * B - H.elapsed())))
        if args.length_cv > 0 and H.elapsed() < 0.8 * B:
            rate = args.cv_share * x_sat
            n = int(min(args.max_requests, rate * level_s)) + 1
            t, arr, sizes = 0.0, [], []
            sig = math.sqrt(math.log(1 + args.length_cv**2))
            for _ in range(n):
                t += rng.expovariate(rate)
                arr.append(t)
                p, o = (
                    rng.lognormvariate(math.log(mean) - sig * sig / 2, sig) for mean in (cfg["prompt"], cfg["output"])
                )
                sizes.append((min(cap_p, max(1, round(p))), min(cap_o, max(2, round(o)))))
            name = f"open{args.cv_share:.2f}cv{args.length_cv:g}"
            level(name, arrivals=arr, lengths=sizes, guard=min(level_s + 5, max(1.0, 0.85 * B - H.elapsed())))
        elif args.length_cv > 0:
            H.RESULT["skipped"].append("length_cv level: time guard")
        for c in CLIENTS:
            if H.elapsed() > 0.9 * B:
                H.RESULT["skipped"].append(f"closed {c}: time guard")
                continue
            dur = (level_s if not args.tiny else 1.0) * 0.6
            level(f"closed{c}", clients=c, duration=dur, guard=dur + 5)
    H.nvsmi("after")
    H.save()
    print("\nlevel        req  req/s   ttft_mean  ttft_p90  ttft_p99  tpot_mean  gap_p99  dec_batch", end="")
    print("  dec_gpu  dec_host  pre_gpu  (ms)")
    for s in H.RESULT["levels"]:
        tt, tp, gp = s["ttft_s"], s["tpot_s"], s["itl_gap_s"]
        print(
            f"{s['name']:11s} {s['requests']:4d} {s['requests_per_second'] or 0:6.2f} {tt['mean'] * 1e3:10.2f}"
            f" {tt['p90'] * 1e3:9.2f} {tt['p99'] * 1e3:9.2f} {tp['mean'] * 1e3:10.2f} {gp['p99'] * 1e3:8.2f}"
            f" {s['decode_batch_mean'] or 0:10.1f}"
            f" {s['decode_gpu_s'].get('p50', 0) * 1e3:8.2f} {s['decode_host_s'].get('p50', 0) * 1e3:9.3f}"
            f" {s['prefill_gpu_s'].get('p50', 0) * 1e3:8.2f}"
        )
    print(f"attention: {H.RESULT['attention']}; errors: {len(H.RESULT['errors'])}; ", end="")
    print(f"skipped: {H.RESULT['skipped']}; elapsed {H.elapsed():.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
