"""The solver's trusted result construction (:class:`.results.Trusted`): a result it builds holds what
``ServingResult(**fields)`` holds, and fields that are not a whole, valid set are refused by name."""

from __future__ import annotations

import sys
from pathlib import Path

import attrs
import pytest
from mlsysim_serving import ServingModel
from mlsysim_serving.results import ServingResult, Trusted, built

from mlsysim_core.results import Result, measure, result

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_serving import H100, LLAMA8, LLAMA70  # noqa: E402

serving = ServingModel()
BASE = dict(model=LLAMA8, hardware=H100, seq_len=2000, output_len=300)


def _checked(r: ServingResult) -> ServingResult:
    """``r`` rebuilt by attrs' __init__ from its fields (each given by its argument name, as stored)."""
    return ServingResult(**{name: r.si(name) for name in r.fields()})


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"batch_size": 8, "beam_width": 2},
        {"arrival_rate": 2.0},
        {"arrival_rate": 2.0, "slo_ttft": 1.0, "slo_itl": 0.05, "length_cv": 0.5},
        {"concurrency": 8, "request_overhead": 0.02},
        {"arrival_rate": 50.0},
        {"arrival_rate": 1.0, "spec_draft_cost": 0.05, "spec_accept": 0.7},
        {"spec_draft": LLAMA8, "spec_accept": 0.6, "model": LLAMA70, "tp_size": 4},
    ],
)
def test_a_solved_result_holds_what_its_fields_checked_by_init_hold(kw):
    r = serving.solve(**dict(BASE, **kw))
    assert vars(r) == vars(_checked(r))
    assert r.to_dict() == _checked(r).to_dict() and r.explain() == _checked(r).explain()


def test_loaded_results_at_two_rates_share_nothing_mutable():
    low, high = serving.solve(**BASE, arrival_rate=1.0), serving.solve(**BASE, arrival_rate=3.0)
    assert vars(low) is not vars(high) and low.ttft_mean < high.ttft_mean
    assert serving.solve(**BASE, arrival_rate=1.0).to_dict() == low.to_dict()  # the memoized part not written into


def test_fields_that_are_not_a_whole_set_are_refused_by_name():
    r = serving.solve(**BASE)
    fields = {name: r.si(name) for name in r.fields()}
    assert vars(built(fields)) == vars(r)
    with pytest.raises(TypeError, match="no field 'ttft_p42'"):
        built(dict(fields, ttft_p42=1.0))
    short = dict(fields)
    del short["itl"], short["model"]
    with pytest.raises(TypeError, match=r"missing the fields \['itl', 'model'\]"):
        built(short)


def test_optional_fields_take_their_defaults_and_converters_run():
    r = serving.solve(**BASE)
    required = {f.alias for f in attrs.fields(ServingResult) if f.default is attrs.NOTHING}
    fields = {name: r.si(name) for name in r.fields() if name in required}
    fields["notes"] = ["a list of notes"]  # a Factory default: given here; as_tuple converts it
    made = built(fields)
    assert made.notes == ("a list of notes",) and made.arrival_rate is None and made.pipeline_bubble == 0.0
    assert vars(made) == vars(ServingResult(**fields))


def test_a_result_class_that_validates_gets_no_trusted_path():
    @result("Test")
    class Checked(Result):
        latency = measure("ms")
        count: int = attrs.field(validator=attrs.validators.instance_of(int))

    with pytest.raises(TypeError, match="validates its fields"):
        Trusted(Checked)


@pytest.mark.parametrize(
    "kw",
    [{}, {"slo_ttft": 2.0, "slo_itl": 0.05}, {"arrival_rate": 100.0}, {"spec_draft_cost": 0.05, "spec_accept": 0.7}],
)
def test_a_disaggregated_result_holds_each_field_by_its_stored_name(kw):
    """A disaggregated solve gives its fields by their stored names (results.Trusted.stored_as and over: no renaming
    step): its result's dict holds each field of DisaggServingResult once, under its stored name, as
    ``DisaggServingResult(**fields)`` holds them (unloaded, with SLOs, overloaded, speculative)."""
    from mlsysim_serving.disagg_result import DisaggServingResult
    from mlsysim_serving.disagg_result import built as disagg_built
    from mlsysim_serving.results import answered

    args = dict(model=LLAMA70, hardware=H100, seq_len=4000, output_len=500, arrival_rate=4.0)
    r = serving.solve(**dict(args, disagg="prefill=H100x8:tp8,decode=H100x8:tp4", fabric="IB_NDR", **kw))
    stored = answered(r)
    assert sorted(stored) == sorted(disagg_built.names.values())
    assert stored == vars(DisaggServingResult(**{name: r.si(name) for name in r.fields()}))


def test_fields_stored_by_their_stored_names_make_the_same_result():
    """Fields a solver stores by their stored names into Trusted.blank (the defaults but the later fields) make, with
    Trusted.made, what __call__ makes of the same fields by their argument names; a field left out is refused."""
    from mlsysim_serving.results import LATER

    r = serving.solve(**BASE)
    fields = {name: r.si(name) for name in r.fields()}
    later = {built.names[name]: value for name, value in fields.items() if built.names[name] in built.later}
    later["busy_fraction"] = None
    assert set(later) == set(built.later)
    answer = lambda name=None: later  # noqa: E731
    made = built.blank()
    assert not set(made) & set(later)
    for name, value in fields.items():
        if built.names[name] not in later:
            made[built.names[name]] = value
    made[LATER] = answer
    assert vars(built.made(dict(made))) == vars(built(fields, later=answer))
    assert built.made(dict(made)).si("ttft") == r.si("ttft") and built.made(dict(made)).busy_fraction is None
    del made["_ttft_mean"]
    with pytest.raises(TypeError, match=r"missing the fields \['ttft_mean'\]"):
        built.made(made)
