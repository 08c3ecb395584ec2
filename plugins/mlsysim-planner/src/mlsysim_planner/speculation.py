"""Speculative decoding as a plan_serving dimension (``speculative=[...]``): every engine is searched without
speculation ("off") and with each setup given, ranked together; the winner's finding says whether
speculation helped and why.

ServingModel's speculative decoding under traffic (:mod:`mlsysim_serving.speculative`, Leviathan et al.
ICML 2023): a verify step of k + 1 tokens per sequence yields E = 1 + alpha + ... + alpha^k tokens; while
decode is memory-bound (a batch below ``spec_break_even_batch``) the k + 1 tokens cost about one step, so
ITL falls by about E; at or above the break-even batch the verify pass is compute-bound and costs more
than the tokens it yields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from mlsysim_serving import speculative as SPEC

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.format import number as fmt

#: the ServingModel keywords a speculative setup may give (spec_accept is required)
KEYS = ("spec_draft", "spec_draft_cost", "spec_k", "spec_accept")


def setups(speculative: Any) -> list[dict[str, Any]]:
    """The setups to search: {} ("off") first, then each of ``speculative`` (None: off only), keys checked;
    the values themselves are checked by ServingModel (errors name the argument)."""
    if speculative is None:
        return [{}]
    given = [speculative] if isinstance(speculative, dict) else speculative
    if not isinstance(given, (list, tuple)) or not given:
        raise InvalidInputError("speculative", speculative, "a non-empty list of dicts of " + ", ".join(KEYS))
    out: list[dict[str, Any]] = [{}]
    for i, s in enumerate(given):
        drafts = [k for k in ("spec_draft", "spec_draft_cost") if s.get(k) is not None] if isinstance(s, dict) else []
        if not isinstance(s, dict) or set(s) - set(KEYS) or s.get("spec_accept") is None or len(drafts) != 1:
            raise InvalidInputError(
                f"speculative[{i}]",
                s,
                "a dict with spec_accept and one of spec_draft or spec_draft_cost (spec_k optional)",
            )
        # the values whose range does not depend on the engine, checked once: each point of the search failed
        # alike (spec_k=0 left every speculative candidate invalid and the plan said speculation does not help)
        SPEC.checked_values(s.get("spec_k", 4), s["spec_accept"])
        if s.get("spec_draft_cost") is not None:
            SPEC.checked_cost(s["spec_draft_cost"])
        out.append(dict(s))
    return out


def label(setup: dict[str, Any]) -> str:
    """The table's name of a setup: "off", or the draft (or heads@cost share), k and alpha."""
    if not setup:
        return "off"
    draft = setup.get("spec_draft")
    who = f"heads@{setup.get('spec_draft_cost')}" if draft is None else getattr(draft, "name", str(draft))
    return f"{who} k={setup.get('spec_k', 4)} a={setup['spec_accept']}"


def finding(c: dict[str, np.ndarray], ranked: np.ndarray, column: str, p: int, missed: Callable[[int], str]) -> str:
    """Whether speculation helped the winner ``ranked[0]`` and why, in words. ``c``: the plan's candidate
    columns with ``speculative`` (the setup's label), ``concurrency`` (mean requests per replica) and
    ``break_even`` (the setup's break-even batch; inf: none up to 4096); ``ranked``: the candidates meeting
    every constraint, best first; ``missed(i)``: the constraints candidate ``i`` misses, in words."""
    itl = c[f"itl_p{p}"]

    def name(i: int) -> str:
        return f"{c['layout'][i]} x{c['replicas'][i]} ({column} {fmt(c[column][i])}, p{p} ITL {fmt(itl[i])} ms)"

    win = int(ranked[0])
    on = c["speculative"][win] != "off"
    other = (c["speculative"] != "off") != on
    kind = "without" if on else "with"
    rival = next((int(i) for i in ranked if other[i]), None)
    if rival is None:  # nothing of the other kind meets every constraint: the one with the lowest ITL
        pool = np.flatnonzero(other)
        rival = int(pool[np.argmin(np.where(np.isnan(itl[pool]), np.inf, itl[pool]))])
        versus = f"nothing {kind} it meets every constraint (lowest ITL: {name(rival)}: {missed(rival)})"
    else:
        versus = f"the best {kind} it is {name(rival)}"
    spec = win if on else rival
    n, even = c["concurrency"][spec], c["break_even"][spec]
    below = f"a mean {fmt(n)} requests per replica, below the break-even batch {fmt(even)}"
    if not on and itl[rival] < itl[win]:
        why = f"speculation lowers ITL there, but the ITL SLO does not bind: the plain plan meets it at less {column}"
    elif n >= even:
        why = (
            f"at a mean {fmt(n)} requests per replica, at or above the break-even batch {fmt(even)}, the verify pass "
            "is compute-bound and costs more than the tokens it yields"
        )
    elif on:
        why = f"at {below}, decode is memory-bound: a verify pass of k + 1 tokens costs about one step"
    else:
        why = f"at {below}, the draft's k steps and its pass over each prompt cost more than the verify pass saves"
    verdict = "speculation helps" if on else "speculation does not help"
    return f"{verdict}: the winner is {name(win)}; {versus}; {why}"
