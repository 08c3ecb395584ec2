"""What a loaded solve sets up once and reuses (the checked layout, the traffic mix, the replica's engine,
its SLO rate searches): a solve that reuses it answers exactly what a solve from empty memos answers
(whatever rate was offered before), and nothing is reused across arguments that change it."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest
from mlsysim_serving import ServingModel
from mlsysim_serving import disagg as DG
from mlsysim_serving import layout as LY
from mlsysim_serving import setup as SU
from mlsysim_serving import solver as SV
from mlsysim_serving import speculative as SP
from mlsysim_serving import under_load as UL

from mlsysim_core.errors import InfeasibleError, InvalidInputError

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LLAMA8, LLAMA70  # noqa: E402

serving = ServingModel()
BASE = dict(model=LLAMA8, hardware=H100, seq_len=2000, output_len=300, arrival_rate=2.0)
LLAMA70_DISAGG = dict(
    model=LLAMA70,
    hardware=H100,
    seq_len=4000,
    output_len=500,
    arrival_rate=0.5,
    disagg="prefill=H100x8:tp8,decode=H200x8:tp4",
    fabric="IB_NDR",
)


def _disagg_calls() -> int:
    """Disaggregated calls memoized (disagg._Layout.call), over every memoized layout."""
    return sum(len(lay.calls) for _, lay in DG._layouts.values())


def _forget() -> None:
    SU.prepared.__self__._memo.clear()
    UL._mixes._memo.clear()
    UL._last_mix[0] = ((object(),), None)
    UL._last_mix_without_slos[0] = ((object(),), None)
    UL._costs.clear()
    UL._replicas.clear()
    SV._statics.clear()
    SV._plan_statics.clear()
    SV._shared_works.clear()
    SV._plans.clear()
    SV._layout_plans.clear()
    SP.break_even.cache_clear()
    SP._fields.clear()
    SP.check._memo.clear()
    DG._layouts.clear()
    LY._parsed.clear()
    LY._fabrics.clear()


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"length_cv": 0.5, "prefix_cache_hit": 0.3, "slo_ttft": 1.0},
        {"length_samples": [(1000, 200), (3000, 400), (2000, 300)]},
        {"max_num_seqs": 16, "slo_itl": 0.05},
    ],
)
def test_a_solve_that_reuses_its_setup_equals_a_fresh_one(kw):
    serving.solve(**BASE)  # memoized: the plain mix at the same layout and lengths
    serving.solve(**dict(BASE, arrival_rate=1.0), **kw)  # and the SLO rate searched at another offered rate
    warm = serving.solve(**BASE, **kw).to_dict()
    _forget()
    assert serving.solve(**BASE, **kw).to_dict() == warm


@pytest.mark.parametrize(
    "args",
    [
        (LLAMA8, H100, None, 1, None, None, None, None, False, None),
        (LLAMA70, H100, "fp8", 4, "fp8", 0.5, 0.7, None, True, 0.8, None, None, 1, 1, 1, None, None, "3 ms"),
        (LLAMA70, H100, None, 2, None, None, None, None, False, None, None, None, 1, 1, 1, None, None, None, 0, False)
        + (None, None, 0.9, 0.2, 0.5, 0.3),
    ],
)
def test_a_setup_filled_slot_by_slot_is_the_one_its_init_makes(args):
    # prepare fills a Setup through its mutable twin (SU._Filling) instead of Setup(**fields): every field set, each
    # the value the attrs __init__ stores, and the result a frozen Setup like any other
    import attrs

    setup = SU.prepare(*args)
    names = [f.name for f in attrs.fields(SU.Setup)]
    made = SU.Setup(**{name: getattr(setup, name) for name in names})
    assert type(setup) is SU.Setup and setup == made and hash(setup) == hash(made)
    assert [getattr(setup, name) for name in names] == [getattr(made, name) for name in names]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setup.peak = 1.0  # type: ignore[misc]
    assert attrs.evolve(setup, peak=2.0).peak == 2.0 and setup.peak != 2.0


def test_sampled_lengths_are_not_taken_for_a_named_distribution():
    # same layout, lengths and engine arguments: only the samples tell the two mixes apart
    plain = serving.solve(**BASE)
    samples = [(500, 100), (3500, 500)]
    sampled = serving.solve(**BASE, length_samples=samples)
    assert sampled.saturation_rate != plain.saturation_rate
    samples[1] = (1000, 100)  # a list changed in place is read again
    assert serving.solve(**BASE, length_samples=samples).saturation_rate != sampled.saturation_rate


@pytest.mark.parametrize("kw", [{}, {"spec_draft_cost": 0.05, "spec_accept": 0.7}, {"length_cv": 0.5}])
def test_disaggregated_solve_reusing_its_pools_equals_a_fresh_one(kw):
    args = dict(BASE, seq_len=4000, output_len=500, disagg="prefill=H100x2:tp2,decode=H100x2:tp1", fabric="IB_NDR")
    serving.solve(**dict(args, arrival_rate=1.0), slo_ttft=2.0, slo_itl=0.05, **kw)  # every search, at another rate
    assert len(DG._layouts) >= 1  # the pools and aggregated layouts set up once
    warm = serving.solve(**args, slo_ttft=2.0, slo_itl=0.05, **kw).to_dict()
    _forget()
    assert serving.solve(**args, slo_ttft=2.0, slo_itl=0.05, **kw).to_dict() == warm


def test_a_layout_text_is_parsed_once_per_catalog():
    from mlsysim_core import plugins

    text = "prefill=H100x8:tp8,decode=H200x8:tp4"
    first = LY.parse_disagg(text)
    assert LY.parse_disagg(text) is first
    obj = LY.Disagg(first.prefill, first.decode)
    assert LY.parse_disagg(obj) is obj
    old = plugins.host()
    plugins.reset()  # a new catalog (as loading a catalog file makes): its hardware objects are looked up again
    try:
        again = LY.parse_disagg(text)
        assert again is not first and again == LY.parse_disagg(text)
        assert again.prefill.hardware is plugins.catalog().entries["hardware"]["H100"].value
    finally:
        plugins.reset(old)


def test_speculative_solve_reusing_its_draft_and_break_even_equals_a_fresh_one():
    """The draft's Setup, both step costs and the break-even batch are memoized: a solve at another batch
    (same context: the break-even scan reused) answers as one from empty memos."""
    spec = dict(model=LLAMA70, hardware=H100, seq_len=2000, tp_size=4, spec_draft=LLAMA8, spec_accept=0.7)
    serving.solve(**spec, batch_size=4)
    assert SP.break_even.cache_info().currsize >= 1
    warm = serving.solve(**spec, batch_size=64).to_dict()
    assert SP.break_even.cache_info().hits >= 1
    _forget()
    assert serving.solve(**spec, batch_size=64).to_dict() == warm


def test_an_slo_search_solves_each_trial_rate_once_per_engine(monkeypatch):
    """A disaggregated SLO solve's combined search tries rates its prefill-pool search tried, and every
    search's first trials do not depend on the SLOs: each rate is solved once per engine
    (:func:`.under_load.trial`), and the answer is the one from empty memos."""
    from mlsysim_serving import traffic as TR

    args = dict(BASE, seq_len=4000, output_len=500, disagg="prefill=H100x2:tp2,decode=H100x2:tp1", fabric="IB_NDR")
    _forget()
    solved: list[tuple[int, float]] = []
    analytic = TR.analytic

    def spy(cost, load, lam, *rest, **kw):
        solved.append((id(cost), float(lam)))
        return analytic(cost, load, lam, *rest, **kw)

    monkeypatch.setattr(TR, "analytic", spy)
    serving.solve(**args, slo_ttft=2.0, slo_itl=0.05)
    trials = solved[:-2]  # the searches', then the two pools' at the offered rate
    assert len(trials) > 10 and len(set(trials)) == len(trials)  # no trial rate solved twice on one step cost
    solved.clear()
    warm = serving.solve(**args, slo_ttft=2.5, slo_itl=0.05).to_dict()  # a new TTFT SLO: SEED and top trials reused
    assert solved[:-2] and len(set(solved[:-2])) == len(solved[:-2]) and not set(solved[:-2]) & set(trials)
    _forget()
    assert serving.solve(**args, slo_ttft=2.5, slo_itl=0.05).to_dict() == warm


def test_speculative_fields_under_traffic_are_set_up_once():
    """The spec_* fields do not depend on the arrival rate: a loaded speculative solve at another rate reuses
    them (:func:`.speculative.fields`) and its checked draft arguments (:data:`.speculative.check`), and answers
    as one from empty memos."""
    spec = dict(BASE, spec_draft_cost=0.05, spec_accept=0.7, slo_itl=0.05)
    _forget()
    serving.solve(**spec)
    warm = serving.solve(**dict(spec, arrival_rate=3.0)).to_dict()
    assert len(SP._fields) == 1 and len(SP.check._memo) == 1
    _forget()
    assert serving.solve(**dict(spec, arrival_rate=3.0)).to_dict() == warm


def test_an_aggregated_layout_that_cannot_win_is_not_searched():
    """A disaggregated SLO solve compares the aggregated layouts by their goodput per GPU: one that misses the
    SLOs at the rate tying the best found is tried once, not searched, and the answer is the best of every
    layout's own search."""
    args = dict(LLAMA70_DISAGG, slo_ttft=2.0, slo_itl=0.05, spec_draft_cost=0.05, spec_accept=0.7)
    _forget()
    r = serving.solve(**args)
    layout = r.aggregated_layout  # (the comparison is made on the first read of one of its fields)
    plan = next(iter(DG._layouts.values()))[1].plan
    searched = {tp: any(k[0] == "slo" for k in rep.engine().rates) for tp, rep, _ in plan.agg.order()}
    assert searched[4] and not searched[8]  # tp4's goodput per GPU found first; tp8 misses the SLOs at its rate
    goodput = {tp: rep.max_rate(2.0, 0.05) * 500 / tp for tp, rep, _ in plan.agg.order()}
    assert goodput[8] < goodput[4] and layout == f"{H100.name} tp4"
    assert r.si("aggregated_goodput_per_gpu") == goodput[4]


def test_memo_holds_at_most_its_size():
    """The bounded memo the caches share: full, the next entry empties it first; put returns the value."""
    from mlsysim_serving.memo import Memo

    memo = Memo(3)
    assert [memo.put(k, k * 10) for k in range(3)] == [0, 10, 20] and len(memo) == 3
    assert memo.put(3, 30) == 30 and memo == {3: 30}
    memo.put(3, 31)  # a key already there is replaced; the memo was not full, so nothing else goes
    assert memo == {3: 31}


def test_sized_memo_holds_at_most_its_size():
    """memo.sized: a Memo class of its size, made without arguments; each memo its own, bounded as Memo(size)."""
    from mlsysim_serving.memo import Memo, sized

    Three = sized(3)
    memo, other = Three(), Three()
    assert isinstance(memo, Memo) and memo.size == 3 and memo == {} and memo is not other
    assert [memo.put(k, k * 10) for k in range(3)] == [0, 10, 20] and len(memo) == 3 and other == {}
    assert memo.put(3, 30) == 30 and memo == {3: 30}
    assert UL.Trials().size == UL.TRIALS_KEPT and UL._Rates().size == UL.RATES_KEPT
    assert DG._Calls().size == DG.CALLS_KEPT


def test_same_objects_answers_only_the_very_same_arguments():
    """memo.SameObjects (setup.prepared's memo): keyed by the ids of the varied arguments, an entry answers only
    where every argument is the same object (1, 1.0 and True are three calls; an equal float another object is a new
    call), at most ``bucket`` entries a key; a call that raises stores nothing."""
    from mlsysim_serving.memo import SameObjects

    made = []

    def prepare(x, y):
        if y == "bad":
            raise ValueError(y)
        made.append((x, y))
        return (x, y)

    memo = SameObjects(prepare, lambda args: (id(args[0]),), bucket=2)
    x = object()
    assert memo(x, 1) == (x, 1) and memo(x, 1) == (x, 1) and len(made) == 1
    for y in (1.0, True, float("1.5"), float("1.5")):  # (two float objects of one value)
        memo(x, y)
    assert len(made) == 5 and len(memo._memo[(id(x),)]) <= 2
    with pytest.raises(ValueError):
        memo(x, "bad")
    assert len(made) == 5 and all(entry[0][1] != "bad" for entry in memo._memo[(id(x),)])


def test_part_keyed_answers_the_same_part_and_equal_values():
    """memo.PartKeyed (setup's memos of the precisions and the hardware terms): an entry answers the very same part
    with equal values (names, numbers, None); another part object, even an equal one, is a new call; an unhashable
    value is not kept (the function's own error); a call that raises stores nothing. The precisions of a part resolved
    through it are those resolve() gives."""
    from mlsysim_serving.memo import PartKeyed
    from mlsysim_serving.precisions import resolve
    from mlsysim_serving.setup import _precisions

    made = []

    def fn(part, name, n=None):
        if name == "bad" or isinstance(name, list):
            raise ValueError(name)
        made.append((part, name, n))
        return (part, name, n)

    memo, x, y = PartKeyed(fn), [1], [1]  # (x == y, two parts)
    assert memo(x, "fp8") is memo(x, "".join(["fp", "8"])) and len(made) == 1  # equal names: one call
    memo(y, "fp8")
    memo(x, "fp8", 0.5)
    assert len(made) == 3
    for bad in ("bad", ["fp8"]):  # refused, unhashable: the function's error each time, nothing kept
        for _ in range(2):
            with pytest.raises(ValueError):
                memo(x, bad)
    assert len(made) == 3 and len(memo._memo) == 3
    assert _precisions(H100, "fp8", None, None, None) == resolve(H100, "fp8", None, None, None)


def test_the_last_traffic_mix_answers_only_the_same_objects():
    """under_load.mix answers the last mix again for the same objects (under_load._last_mix, before the memo of every
    mix): another value, or an equal one that is another object, is checked (or found) as from that memo, alternating
    or not; a bad value is refused after a good one."""
    from mlsysim_core.errors import InvalidInputError

    _forget()
    a = dict(UL.MIX_DEFAULTS)
    first = UL.mix(a)
    assert UL.mix(a) is first and UL.mix(dict(a)) is first
    other = dict(a, arrival_cv=float("2.0"))
    assert UL.mix(other)["arrival_cv"] == 2.0 and UL.mix(a) is first and UL.mix(other) is not first
    assert UL.mix(dict(a, arrival_cv=float("1.0"))) == first  # an equal value, another object: checked anew
    with pytest.raises(InvalidInputError, match="arrival_cv"):
        UL.mix(dict(a, arrival_cv=-1.0))


def test_the_last_mix_without_slos_answers_only_the_same_objects():
    """under_load.mix(slos=False) (a disaggregated layout's mix): the SLOs of the arguments are not read (an SLO that
    would be refused is not checked), the last such mix is answered again for the same objects of the other values,
    and it is the mix the same values give with no SLOs (the memo of every mix's entry)."""
    _forget()
    a = dict(UL.MIX_DEFAULTS, slo_ttft=-1.0, slo_itl="nonsense")
    first = UL.mix(a, slos=False)
    assert first["slo_ttft"] is None and first["slo_itl"] is None
    assert UL.mix(a, slos=False) is first and UL.mix(dict(UL.MIX_DEFAULTS)) is first
    other = dict(a, max_num_seqs=128)
    assert UL.mix(other, slos=False)["max_num_seqs"] == 128 and UL.mix(a, slos=False) is first
    with pytest.raises(InvalidInputError, match="length_cv"):
        UL.mix(dict(a, length_cv=-1.0), slos=False)
    samples = dict(a, length_samples=[(100, 10), (200, 20)])  # (a list: checked each call, not kept)
    assert UL.mix(samples, slos=False) is not UL.mix(samples, slos=False)


@pytest.mark.parametrize("given", [False, True])
def test_same_arguments_answers_only_the_same_objects(given):
    """memo.SameArguments, keeping the values compared (or, ``given``, the arguments' dict itself, read on the first
    call that compares them: disagg._layouts): a call whose every keyed value is the same object is answered, one
    that differs in a value besides the key replaces the entry."""
    from mlsysim_serving.memo import SameArguments

    memo = SameArguments(lambda a: (id(a["x"]), id(a["z"])), ("x", "y"), given=given)
    x, y, other = object(), object(), object()
    made: list = []

    def make(a: dict) -> int:
        made.append(a)
        return len(made)

    assert memo.answer({"x": x, "y": y, "z": None}, make) == 1
    assert memo.answer({"x": x, "y": y, "z": None}, make) == 1 and memo.answer({"x": x, "y": y, "z": None}, make) == 1
    assert memo.answer({"x": x, "y": other, "z": None}, make) == 2
    assert memo.answer({"x": x, "y": y, "z": None}, make) == 3
    assert len(memo) == 1 and memo.answer({"x": x, "y": y, "z": 1}, make) == 4 and len(memo) == 2


def test_an_engine_keeps_a_bounded_number_of_searches():
    """A new SLO per call searches anew on the same memoized engine: its searches are bounded (RATES_KEPT)."""
    _forget()
    for i in range(UL.RATES_KEPT + 5):
        serving.solve(**BASE, slo_itl=0.05 + i * 1e-6)
    (entry,) = UL._replicas.values()  # (setup, spec, cost, KV tokens, engine) of BASE's one layout
    assert 0 < len(entry[4].rates) <= UL.RATES_KEPT


def test_ttft_without_the_itl_spread_is_the_same_ttft():
    """traffic.analytic with gaps=False leaves out the ITL spread and the fields that read it (itl_pXX,
    e2e_pXX), and answers every TTFT field bit for bit as with it: they do not read the spread."""
    from mlsysim_serving import traffic as TR

    _forget()
    serving.solve(**BASE)
    (entry,) = UL._replicas.values()
    cost, eng = entry[2], entry[4]
    args = (cost, eng.load, 2.0, 8192.0, eng.B_max, 1.0, eng.saturation)
    full, ttft_only = TR.analytic(*args), TR.analytic(*args, gaps=False)
    assert ttft_only["itl_sd"] is None and full["itl_sd"] > 0.0
    assert {k for k in full if k.startswith(("itl_p", "e2e_p"))} == {f"{f}_p{q}" for f in ("itl", "e2e") for q in TR.Z}
    assert not any(k.startswith(("itl_p", "e2e_p")) for k in ttft_only)
    assert all(ttft_only[k] == full[k] for k in ttft_only if k != "itl_sd")  # ttft_pXX, ttft_mean, e2e_mean, ...


def test_a_trial_with_the_itl_spread_answers_one_without():
    """under_load.trial: a search that tests no ITL SLO solves without the ITL spread (itl_pQ None); a rate
    already tried with it is not solved again for such a search (same TTFT), the other way round it is."""
    from mlsysim_serving import traffic as TR

    _forget()
    serving.solve(**BASE)
    (entry,) = UL._replicas.values()
    cost, eng = entry[2], entry[4]
    solved = []
    kernel = TR.analytic

    def counted(*a, **k):
        solved.append(k.get("gaps", True))
        return kernel(*a, **k)

    UL.TR.analytic = counted
    try:
        with_itl = UL.trial(cost, eng, 2.0, 8192.0, 1.0, 99)
        assert UL.trial(cost, eng, 2.0, 8192.0, 1.0, 99, gaps=False) == with_itl
        without = UL.trial(cost, eng, 3.0, 8192.0, 1.0, 99, gaps=False)
        assert without[2] is None and UL.trial(cost, eng, 3.0, 8192.0, 1.0, 99)[:2] == without[:2]
    finally:
        UL.TR.analytic = kernel
    assert solved == [True, False, True]


def test_a_disaggregated_call_reused_at_another_rate_checks_that_rate():
    """A disaggregated solve's set-up, searches and rate-free fields are memoized by the identity of every argument
    but the arrival rate (disagg._layouts and each layout's calls): a solve that reuses them still checks its rate (a
    Quantity in 1/s taken as requests/s) and answers as one from empty memos; another argument is a new entry."""
    from mlsysim_core.errors import InvalidInputError
    from mlsysim_core.units import ureg

    _forget()
    serving.solve(**LLAMA70_DISAGG)
    assert _disagg_calls() == 1
    for bad in (None, -1.0, 0.0, float("nan"), "fast"):
        with pytest.raises(InvalidInputError, match="arrival_rate"):
            serving.solve(**dict(LLAMA70_DISAGG, arrival_rate=bad))
    warm = serving.solve(**dict(LLAMA70_DISAGG, arrival_rate=ureg.Quantity(180.0, "1/min"))).to_dict()
    assert _disagg_calls() == 1 and warm["arrival_rate"] == {"value": 3.0, "unit": "1/s"}
    serving.solve(**dict(LLAMA70_DISAGG, arrival_rate=3.0, slo_ttft=2.0))
    assert _disagg_calls() == 2
    _forget()
    assert serving.solve(**dict(LLAMA70_DISAGG, arrival_rate=3.0)).to_dict() == warm


def test_a_disaggregated_call_answers_only_its_own_arguments():
    """The memo of disaggregated layouts is keyed by the arguments a sweep varies most (disagg._layouts); an entry
    answers only a call whose every other argument is the same object: calls that differ in another argument
    (the arrival cv, kv_layerwise given as 1, a bad scheduler_overlap) are solved (or refused) as from empty memos,
    alternating or not."""
    _forget()
    one = serving.solve(**LLAMA70_DISAGG).to_dict()
    two = serving.solve(**dict(LLAMA70_DISAGG, arrival_cv=2.0)).to_dict()
    assert two != one and serving.solve(**LLAMA70_DISAGG).to_dict() == one
    assert _disagg_calls() == 1  # one key: the entry replaced at each change
    with pytest.raises(InvalidInputError, match="kv_layerwise"):
        serving.solve(**dict(LLAMA70_DISAGG, kv_layerwise=1))
    with pytest.raises(InvalidInputError, match="scheduler_overlap"):
        serving.solve(**dict(LLAMA70_DISAGG, scheduler_overlap=0))
    _forget()
    assert serving.solve(**dict(LLAMA70_DISAGG, arrival_cv=2.0)).to_dict() == two


def test_a_loaded_call_answers_only_its_own_arguments():
    """The memo of loaded calls' layouts and plans is keyed by the arguments a sweep varies most (solver._VARIED); an
    entry answers only a call whose every other argument is the same object: calls that differ in another argument
    (the arrival cv, max_num_seqs, an equal efficiency given as another object, a bad scheduler_steps) are solved (or
    refused) as from empty memos, alternating or not."""
    _forget()
    one = serving.solve(**BASE).to_dict()
    two = serving.solve(**dict(BASE, arrival_cv=2.0)).to_dict()
    three = serving.solve(**dict(BASE, max_num_seqs=8)).to_dict()
    assert two != one and three != one and serving.solve(**BASE).to_dict() == one
    assert len(SV._layout_plans) == 1  # one key: the entry replaced at each change
    assert (
        serving.solve(**dict(BASE, efficiency=float("0.6"))).to_dict()
        == serving.solve(**BASE, efficiency=0.6).to_dict()
    )
    with pytest.raises(InvalidInputError, match="scheduler_steps"):
        serving.solve(**dict(BASE, scheduler_steps=0))
    for kw, fields in (({"arrival_cv": 2.0}, two), ({"max_num_seqs": 8}, three)):
        _forget()
        assert serving.solve(**dict(BASE, **kw)).to_dict() == fields


def test_a_loaded_plan_serves_every_rate_and_checks_each_call():
    """A loaded solve's plan (solver._plan: everything but the arrival rate) is made once per layout and
    arguments and reused at any rate, which each call still checks; a call that raises stores no plan."""
    _forget()
    low = serving.solve(**dict(BASE, arrival_rate=1.0))
    high = serving.solve(**dict(BASE, arrival_rate=3.0))
    assert len(SV._layout_plans) == 1 and high.ttft_mean > low.ttft_mean and high.saturation_rate == low.saturation_rate
    with pytest.raises(InvalidInputError, match="arrival_rate"):
        serving.solve(**dict(BASE, arrival_rate=-1.0))
    closed = dict(BASE, arrival_rate=None, concurrency=8)
    serving.solve(**closed)
    with pytest.raises(InvalidInputError, match="concurrency"):  # the plan of the closed loop is not asked the rate
        serving.solve(**dict(closed, arrival_rate=2.0))
    plans = len(SV._layout_plans)
    with pytest.raises(InfeasibleError):  # Llama 3 70B's 16-bit weights on one 80 GB GPU: raised, not stored
        serving.solve(**dict(BASE, model=LLAMA70, raise_errors=True))
    assert len(SV._layout_plans) == plans
    _forget()
    assert serving.solve(**dict(BASE, arrival_rate=3.0)).to_dict() == high.to_dict()


def test_a_loaded_plan_serves_every_slo_and_checks_each_call():
    """The plan does not read the SLOs: calls under other SLOs (or none) reuse it, each SLO checked on its call (the
    error a solve from empty memos raises, before any other argument's: the plan's were checked when it was made), and
    each answer equals a solve from empty memos."""
    _forget()
    none = serving.solve(**BASE).to_dict()
    answers = {slos: serving.solve(**BASE, slo_ttft=slos[0], slo_itl=slos[1]).to_dict() for slos in SLO_PAIRS}
    assert len(SV._layout_plans) == 1
    assert serving.solve(**BASE).to_dict() == none and none["slo_attainment"] is None
    for bad, other in itertools.product((-1.0, "fast", 0.0), ({}, {"slo_percentile": 98})):
        messages = []
        for memos in ("the plan's", "empty"):
            if memos == "empty":
                _forget()
            with pytest.raises(InvalidInputError, match="slo_ttft") as raised:
                serving.solve(**BASE, slo_ttft=bad, **other)
            messages.append(str(raised.value))
            serving.solve(**BASE)
        assert messages[0] == messages[1]
    for slos, answer in answers.items():
        _forget()
        assert serving.solve(**BASE, slo_ttft=slos[0], slo_itl=slos[1]).to_dict() == answer


def test_layouts_that_differ_in_efficiencies_share_their_works():
    """The FLOPs, bytes, messages and memory of a static solve (solver._works) do not read the efficiencies or the
    overheads: layouts that differ only in those compute them once, and each answer equals a solve from empty memos;
    another precision (other bytes per weight) computes its own."""
    _forget()
    moved = ({"efficiency": 0.5}, {"efficiency": 0.7, "engine_overhead": 0.002}, {"memory_efficiency": 0.8})
    answers = [serving.solve(**BASE, **kw).to_dict() for kw in moved]
    assert len(SV._statics) == 3 and len(SV._shared_works) == 1
    assert serving.solve(**BASE, precision="fp8").ttft > 0.0  # a loaded answer's static fields, on their first read
    assert len(SV._shared_works) == 2
    for kw, answer in zip(moved, answers):
        _forget()
        assert serving.solve(**BASE, **kw).to_dict() == answer


def test_a_loaded_plan_makes_its_static_fields_once():
    """solver._plan_statics: a loaded plan's static batch fields are made on the first read of one, once per plan (the
    same plan at another rate reads them again), and a banded call's nominal starts from the plan's base with them
    stored (made once, from the same entry); each equals the static solve's."""
    _forget()
    low, high = serving.solve(**dict(BASE, arrival_rate=1.0)), serving.solve(**dict(BASE, arrival_rate=3.0))
    assert len(SV._plan_statics) == 0
    assert low.ttft == high.ttft and low.decode_power == high.decode_power
    (entry,) = SV._plan_statics.values()
    assert len(SV._statics) == 1 and entry[2] is None
    nominal = serving.solve_corners(lambda n: None, **BASE)[0]
    full = entry[2]
    assert full is not None and list(SV._plan_statics.values()) == [entry]
    assert serving.solve_corners(lambda n: None, **BASE)[0].ttft == nominal.ttft and entry[2] is full
    static = serving.solve(**{k: v for k, v in BASE.items() if k != "arrival_rate"})
    assert "_ttft" in vars(nominal) and nominal.ttft == static.ttft == low.ttft and nominal.itl == static.itl


#: (slo_ttft, slo_itl) pairs: one SLO or both, numbers and time texts
SLO_PAIRS = ((0.5, None), (None, 0.04), (0.8, 0.05), ("300 ms", "50ms"))


def test_a_trial_near_solved_rates_starts_from_their_steady_steps(monkeypatch):
    """under_load.nearby_start: the steady step of a trial near three solved rates starts where their quadratic puts it
    (exact for a quadratic T(lam)), not where they disagree with their line by more than NEARBY_RTOL; the trials a
    search solves so (its last ones, grid steps apart) answer what a trial from traffic's own start answers, within
    1e-9, with fewer evaluations of the mean step."""
    from mlsysim_serving import traffic as TR

    quadratic = {x: (1.0 + 2.0 * x + 3.0 * x * x, -0.5) for x in (1.0, 1.00001, 1.00002, 2.0)}
    T, slope = UL.nearby_start(quadratic, 1.000015)
    assert T == pytest.approx(1.0 + 2.0 * 1.000015 + 3.0 * 1.000015**2, rel=1e-14) and slope == -0.5
    assert UL.nearby_start(quadratic, 1.5) is None and UL.nearby_start(dict(list(quadratic.items())[:2]), 1.0) is None
    _forget()
    starts: list = []
    analytic = TR.analytic

    def spy(*a, **k):
        starts.append(k.get("start"))
        return analytic(*a, **k)

    monkeypatch.setattr(TR, "analytic", spy)
    serving.solve(**BASE, slo_ttft=0.5, slo_itl=0.05)
    (entry,) = UL._replicas.values()
    cost, eng = entry[2], entry[4]
    monkeypatch.setattr(TR, "analytic", analytic)
    warm = [s for s in starts if s is not None]
    assert warm  # the search's last trials start near the earlier ones
    memo = eng.rates[("trials", 8192.0, 1.0, 99, 0.0, 1, True)]
    for lam, answer in memo.items():
        out = analytic(cost, eng.load, lam, 8192.0, eng.B_max, 1.0, eng.saturation, percentiles=(99,))
        assert answer == pytest.approx((out["ttft_mean"], out["ttft_p99"], out["itl_p99"]), rel=1e-9, abs=0.0)
    calls = []
    mix = TR._mix
    monkeypatch.setattr(TR, "_mix", lambda *a: calls.append(1) or mix(*a))
    lam = max(memo)
    near = dict(eng.rates[("steady", 8192.0)])
    n0 = len(calls)
    analytic(cost, eng.load, lam * (1 + 3e-6), 8192.0, eng.B_max, 1.0, eng.saturation, percentiles=(99,))
    own = len(calls) - n0
    start = UL.nearby_start(near, lam * (1 + 3e-6))
    assert start is not None
    analytic(cost, eng.load, lam * (1 + 3e-6), 8192.0, eng.B_max, 1.0, eng.saturation, percentiles=(99,), start=start)
    assert len(calls) - n0 - own < own


def test_a_loaded_answer_computes_its_static_fields_on_the_first_read_of_one():
    """A solve under traffic leaves its static batch fields (results.LOADED_STATIC: solver._static's at batch_size,
    the speculative ones) to the first read of one: none computed before, then the static solve's values; reading
    them first or last, or another group first, answers the same; ``feasible`` stays False where the KV cache left
    after a 65,536-token step's workspace holds no request though one batch fits (the loaded fields' value)."""
    _forget()
    r = serving.solve(**BASE)
    assert len(SV._statics) == 0 and "_ttft" not in vars(r)
    static = serving.solve(**{k: v for k, v in BASE.items() if k != "arrival_rate"})
    assert r.ttft == static.ttft and r.itl == static.itl and r.feasible is True
    assert r.decode_power == static.decode_power and r.spec_itl is None
    first, other = serving.solve(**BASE, efficiency=0.59), serving.solve(**BASE, efficiency=0.59)
    assert first.itl > 0.0 and other.busy_fraction > 0.0  # a static field read first, a power field first
    assert first.to_dict() == other.to_dict()
    spec = dict(BASE, spec_draft_cost=0.1, spec_accept=0.6)
    drafted = serving.solve(**spec)
    assert drafted.spec_itl == serving.solve(**{k: v for k, v in spec.items() if k != "arrival_rate"}).spec_itl
    big = dict(model=LLAMA70, hardware=H100, seq_len=2000, output_len=300, tp_size=2)
    held = serving.solve(**big, arrival_rate=2.0, max_num_batched_tokens=65_536, max_num_seqs=1024)
    assert serving.solve(**big).feasible is True and held.feasible is False
    assert held.total_memory_required == serving.solve(**big).total_memory_required


def test_a_loaded_answers_fields_are_stored_as_trusted_stores_them():
    """results.Trusted.stored_over stores a loaded answer's fields over the plan's base by their stored names found
    once per order of names: the dict Trusted.stored makes; None where a field is a later one (feasible:
    Trusted.stored drops it for the result's later to answer) or no field; another order of the same names, the same
    dict."""
    from mlsysim_serving.results import built

    built._renamed.clear()
    base = built.blank()
    f = {"ttft_mean": 0.25, "arrival_rate": 2.0, "utilization": 0.5, "notes": ("a",)}
    assert built.stored_over(base, f) == built.stored(f, built.blank()) and len(built._renamed) == 1
    assert built.stored_over(base, dict(reversed(f.items()))) == built.stored(f, built.blank())
    assert built.stored_over(base, f)["_ttft_mean"] == 0.25 and base["_ttft_mean"] is None  # a copy
    assert built.stored_over(base, dict(f, feasible=False)) is None
    assert built.stored_over(base, dict(f, no_such_field=1.0)) is None
