"""Pages answer through the public API: the same numbers, the same error text, the same Pareto front.

Tests of a page skip when the solver plugin behind it is not installed (CI also installs this
plugin alone with the host).
"""

from __future__ import annotations

import re
import urllib.request
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from mlsysim_ui import render
from mlsysim_ui.answers import number
from mlsysim_ui.app import running
from mlsysim_ui.cli import report
from mlsysim_ui.site import PAGES, page

import mlsysim
from mlsysim_uncertainty import banded


def needs(*names: str) -> None:
    missing = [n for n in names if n not in mlsysim.solvers()]
    if missing:
        pytest.skip(f"solver plugin(s) not installed: {', '.join(missing)}")


def rows(block) -> dict:
    return {r.name: r for r in [*block.rows, *block.more]}


def test_number_keeps_four_significant_figures():
    assert [number(v) for v in (54.9612, 0.26843, 151_123.0, 2.0, 0.0)] == ["54.96", "0.2684", "151,100", "2", "0"]


def test_serving_page_shows_every_field_of_the_solvers_result_with_its_unit():
    needs("ServingModel")
    ans = page("serving").answer({"model": "Llama3_8B", "hardware": "h100", "seq_len": "2048", "batch_size": "8"})
    direct = banded(mlsysim.ServingModel, mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, seq_len=2048, batch_size=8)
    shown = rows(ans.blocks[0])
    assert list(shown) == direct.fields() or set(shown) == set(direct.fields())
    for name in ("ttft", "itl", "tokens_per_second", "kv_cache_size"):
        q = getattr(direct, name)
        assert shown[name].value == q.magnitude and shown[name].unit == f"{q.units:~P}"
    low, high = (b.to("ms").magnitude for b in direct.bands["itl"])  # its band as the CLI shows it
    assert shown["itl"].text == f"{number(direct.itl.to('ms').magnitude)} [{number(low)}, {number(high)}]"
    band = [f"band: {line}" for line in direct.bands.model_error]
    assert ans.blocks[0].why == [*direct.constraint_trace, *band, *(f"note: {n}" for n in direct.notes)]
    assert [p[0] for p in ans.parts] == ["model", "hardware"] and "nvidia" in ans.parts[1][2].lower()
    assert len(ans.charts) == 2  # phases and memory


def test_serving_page_under_traffic_leads_with_the_loaded_answers_as_the_cli():
    # the page showed the static batch's ttft/itl/tokens_per_second first at any arrival rate (its own field list);
    # it now reads the command's key fields for the result (SolverCommand.key_fields_of_result), as mlsysim serve
    needs("ServingModel")
    from mlsysim_cli.api.lazy import solver_commands

    form = {"model": "Llama3_8B", "hardware": "H100", "seq_len": "1024", "output_len": "256", "arrival_rate": "10"}
    block = page("serving").answer(form).blocks[0]
    first = [r.name for r in block.rows]
    direct = mlsysim.ServingModel().solve("Llama3_8B", "H100", seq_len=1024, output_len=256, arrival_rate=10)
    want = [n for n in solver_commands()["ServingModel"].key_fields_of_result(direct) if n in direct.fields()]
    assert first == want and first[1] == "ttft_mean" and "ttft" not in first


def test_a_solvers_invalid_input_error_is_shown_next_to_its_field_in_the_clis_words():
    needs("ServingModel")
    ans = page("serving").answer({"model": "Llama3_8B", "hardware": "H100", "seq_len": "2048", "tp_size": "3"})
    with pytest.raises(mlsysim.InvalidInputError) as e:
        mlsysim.ServingModel().solve(mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, seq_len=2048, tp_size=3)
    assert ans.errors == {"tp_size": " ".join(str(e.value).split())} and not ans.blocks
    bad = page("serving").answer({"model": "Llama3_8B", "hardware": "H100", "seq_len": "lots"})
    assert bad.errors["seq_len"].startswith("seq_len='lots' is invalid: expected an integer")


def test_roofline_page_places_the_workload_on_the_roofline():
    needs("SingleNodeModel")
    ans = page("roofline").answer(PAGES["roofline"].example)
    direct = mlsysim.SingleNodeModel().solve(mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, batch_size=64)
    fig = ans.charts[0]
    point = fig["data"][-1]
    assert point["x"][0] == pytest.approx(direct.arithmetic_intensity.to("FLOP/B").magnitude)
    assert point["y"][0] == pytest.approx((direct.flops / direct.latency).to("TFLOP/s").magnitude)
    roof = fig["data"][0]
    # the datasheet roof is min(peak, bandwidth x intensity) at every x
    peak, bw = direct.peak_flops.to("TFLOP/s").magnitude, direct.bandwidth.to("TB/s").magnitude
    assert np.allclose(roof["y"], np.minimum(peak, bw * np.asarray(roof["x"])))
    assert any("Roofline: memory-bound" in w for w in ans.blocks[0].why)


def test_training_page_breaks_the_step_down():
    needs("DistributedModel")
    ans = page("training").answer(PAGES["training"].example)
    d = mlsysim.DistributedModel().solve(
        mlsysim.Models.Llama3_70B,
        mlsysim.Systems.Clusters.Research_256,
        batch_size=256,
        tp_size=8,
        pp_size=4,
        microbatch_count=8,
    )
    shown = rows(ans.blocks[0])
    assert shown["mfu"].value == d.mfu and shown["step_time"].value == d.step_time.magnitude
    step = ans.charts[0]["data"]
    assert sum(t["x"][0] for t in step) == pytest.approx(d.step_time.to("ms").magnitude, rel=1e-9)
    assert shown["parallelism"].text == "dp=8 tp=8 pp=4 ep=1 cp=1"


def test_fleet_page_runs_each_fleet_solver_for_the_same_duration():
    needs("EconomicsModel", "SustainabilityModel", "ReliabilityModel")
    ans = page("fleet").answer({"fleet": "Research_256", "days": "30", "datacenter": "Quebec", "kwh_price": "0.05"})
    assert not ans.errors
    c, dc = mlsysim.Systems.Clusters.Research_256, mlsysim.Infra.Grids.Quebec
    expect = {
        "EconomicsModel": mlsysim.EconomicsModel().solve(c, 30, 0.05, datacenter=dc).tco,
        "SustainabilityModel": mlsysim.SustainabilityModel().solve(c, 30, datacenter=dc).carbon_footprint,
        "ReliabilityModel": mlsysim.ReliabilityModel().solve(c, job_duration_hours=720).goodput,
    }
    got = {b.title: b for b in ans.blocks}
    for (solver, q), name in zip(expect.items(), ("tco", "carbon_footprint", "goodput")):
        assert rows(got[solver])[name].value == pytest.approx(getattr(q, "magnitude", q), rel=1e-12)
    cost = next(c for c in ans.charts if c["layout"]["title"]["text"] == "Cost for the period")
    assert sum(t["x"][0] for t in cost["data"]) == pytest.approx(expect["EconomicsModel"].magnitude, rel=1e-9)
    unpriced = next(k for k in mlsysim.Infra.Grids.keys() if mlsysim.Infra.Grids[k].electricity_price is None)
    hours = page("fleet").answer({"fleet": "Research_256", "days": "720 h", "datacenter": unpriced})
    assert rows(hours.blocks[-1])["goodput"].value == pytest.approx(expect["ReliabilityModel"], rel=1e-12)
    # a solver's complaint lands on the argument it names; the other solvers still answer
    assert hours.errors["kwh_price"].startswith("EconomicsModel: kwh_price=None is invalid")
    assert [b.title for b in hours.blocks] == ["SustainabilityModel", "ReliabilityModel"]
    # days=0: every solver refuses it, each in its own words on the days field (only the last one's was kept)
    zero = page("fleet").answer({"fleet": "Research_256", "days": "0", "datacenter": "Quebec"})
    said = zero.errors["days"].split("; ")
    assert [s.split(":")[0] for s in said] == ["EconomicsModel", "SustainabilityModel", "ReliabilityModel"]
    assert not zero.blocks


def test_sweep_page_marks_exactly_the_non_dominated_points():
    needs("ServingModel")
    ans = page("sweep").answer(PAGES["sweep"].example)
    assert not ans.errors
    table = ans.blocks[0].table
    r = mlsysim.ServingModel.sweep(
        model=mlsysim.Models.Llama3_70B,
        hardware=[mlsysim.Hardware.H100, mlsysim.Hardware.H200],
        seq_len=2048,
        batch_size=[1, 8, 64],
        tp_size=[4, 8],
    )
    itl, tps = r["itl"].to("ms").magnitude, r["tokens_per_second"].magnitude
    ok = np.asarray(r["valid"]) & np.asarray(r["feasible"])
    front = {
        (x, y)
        for i, (x, y) in enumerate(zip(itl, tps))
        if ok[i]
        and not any(ok[j] and itl[j] <= x and tps[j] >= y and (itl[j] < x or tps[j] > y) for j in range(len(itl)))
    }
    shown = {tuple(v) for v, row in zip(table["values"], table["rows"]) if row[-2] == "*"}
    assert shown == front and len(table["rows"]) == len(r) == 12
    assert ans.charts[0]["data"][1]["name"] == "Pareto front"


def test_sweep_page_names_a_field_that_is_not_an_objective():
    needs("ServingModel")
    ans = page("sweep").answer({**PAGES["sweep"].example, "x": "colour"})
    assert "x='colour' is not a numeric field of ServingModel" in ans.errors["x"] and "itl" in ans.errors["x"]


def test_sweep_page_refuses_an_empty_item_in_a_list():
    """'1,,2' (or '1,2,') in a field is a value meant and lost: refused naming the field, as the CLI's lists are,
    not swept over 1 and 2."""
    needs("ServingModel")
    for text in ("1,,2", "1,2,"):
        ans = page("sweep").answer({**PAGES["sweep"].example, "batch_size": text})
        assert (
            ans.errors["batch_size"]
            == f"batch_size={text!r} has an empty item: expected comma-separated values like a,b,c"
        )
        assert not ans.blocks


def test_the_explorer_bounds_the_simulators_requests_with_the_reason():
    """num_requests=1,000,000 with method=simulate held the serving page ~110 s; the explorer takes at most 100,000
    (documented in docs/ui.md), refused before any solve on the field, on the serving, generic and sweep pages."""
    import time

    from mlsysim_ui.forms import WORK_LIMITS, Field, convert

    needs("ServingModel")
    assert WORK_LIMITS["num_requests"][0] == 100_000
    assert convert(Field("num_requests", "int"), "100000") == 100_000
    traffic = dict(method="simulate", arrival_rate="5", input_len="1024", output_len="256", num_requests="1000000")
    for slug, base in (("serving", PAGES["serving"].example), ("solver/ServingModel", PAGES["serving"].example)):
        start = time.perf_counter()
        ans = page(slug).answer({**base, **traffic})
        assert time.perf_counter() - start < 20 and not ans.blocks
        assert ans.errors == {
            "num_requests": "num_requests=1000000 is invalid: expected at most 100,000 in the explorer (the simulator "
            "serves ~11 k requests a second: 1 M would hold the page ~2 min; more from Python: "
            "mlsysim.ServingModel().solve(..., method='simulate', num_requests=N))"
        }
    ans = page("sweep").answer({**PAGES["sweep"].example, **traffic, "num_requests": "1000,2000000"})
    assert ans.errors["num_requests"].startswith("num_requests=2000000 is invalid: expected at most 100,000")


def test_report_writes_offline_what_the_explorer_bounds(tmp_path, monkeypatch):
    """The explorer's bound on simulated requests holds its server (one page must not hold it ~2 min); `mlsysim report`
    writes one page offline and took the same bound: it takes the value, as Python and `mlsysim serve` do. (The bound
    is lowered to 100 here so that the simulation beyond it stays short.)"""
    from mlsysim_ui import forms

    needs("ServingModel")
    monkeypatch.setitem(forms.WORK_LIMITS, "num_requests", (100, "a reason"))
    traffic = dict(method="simulate", arrival_rate="5", output_len="64", num_requests="150")
    query = {**PAGES["serving"].example, **traffic}
    ans = page("serving").answer(query)
    refusal = "num_requests=150 is invalid: expected at most 100 in the explorer (a reason)"
    assert ans.errors == {"num_requests": refusal}
    out = tmp_path / "simulated.html"
    res = CliRunner().invoke(report, ["serving", *(f"{k}={v}" for k, v in query.items()), "--html", str(out)])
    assert res.exit_code == 0, res.output
    assert "simulate" in out.read_text()
    assert page("serving").answer(query).errors  # the bound holds again after it
    with forms.unbounded():
        assert forms.convert(forms.Field("num_requests", "int"), "150") == 150
    assert forms._bounded.get() is True


def test_a_query_value_that_is_no_field_of_the_page_is_named_not_dropped():
    """/p/serving?...&batchsize=64 answered batch 1 (the default) without a word; `mlsysim report` refused it. Now
    the page refuses it too, in report's words, and answers nothing."""
    needs("ServingModel")
    for slug in ("serving", "sweep", "fleet"):
        p = page(slug)
        ctx = render.context(p, {**p.example, "batchsize": "64"})
        assert not ctx["answer"].blocks and ctx["errors"][""].startswith(
            "batchsize='64' is invalid: expected a field of the page: "
        )
    assert (
        "batch_size" in render.context(page("serving"), {**PAGES["serving"].example, "batchsize": "64"})["errors"][""]
    )
    assert render.context(page("serving"), dict(PAGES["serving"].example))["answer"].blocks


def test_sweep_page_gives_the_solvers_reason_when_no_point_is_valid():
    """A value the solver refuses at every point ('abc' or '1-8' for batch_size) is named under its field in the
    solver's words, as solve() says it; before, the page blamed the objective x=batch_size ('not a numeric field')."""
    needs("ServingModel")
    for text in ("abc", "1-8"):
        ans = page("sweep").answer({**PAGES["sweep"].example, "batch_size": text, "x": "batch_size", "y": "itl"})
        with pytest.raises(mlsysim.InvalidInputError) as e:
            mlsysim.ServingModel().solve(
                mlsysim.Models.Llama3_70B, mlsysim.Hardware.H100, seq_len=2048, batch_size=text
            )
        assert ans.errors == {"batch_size": str(e.value)} and not ans.blocks


def test_serving_page_answers_a_disaggregated_layout_without_bands_and_says_why():
    """Bands refuse a disaggregated layout (each pool runs at its own efficiencies), so the page answered nothing;
    it now answers as solve() does, with a warning line saying why there are no bands. A layout solve() refuses
    too is that error, under its field."""
    needs("ServingModel")
    form = {"model": "Llama3_8B", "hardware": "H100", "seq_len": "2048", "arrival_rate": "3", "output_len": "100"}
    layout = "prefill=H100x8:tp8,decode=H100x8:tp8"
    ans = page("serving").answer({**form, "disagg": layout, "fabric": "InfiniBand_NDR"})
    direct = mlsysim.ServingModel().solve(
        "Llama3_8B", "H100", 2048, arrival_rate=3, output_len=100, disagg=layout, fabric="InfiniBand_NDR"
    )
    assert not ans.errors and rows(ans.blocks[0])["ttft"].value == direct.ttft.magnitude
    assert [w for w in ans.blocks[0].why if "bands" in w] == [
        f"warning: no bands: disagg={layout!r} is invalid: expected an aggregated layout when bands are asked: each "
        "pool of a disaggregated layout runs at its own efficiencies, which its result does not carry (band the "
        "pools one at a time, without --disagg)"
    ]
    bad = page("serving").answer({**form, "disagg": "1:1", "fabric": "InfiniBand_NDR"})
    assert bad.errors["disagg"].startswith("disagg='1:1' is invalid: expected prefill=HWxGPUS:tpN,decode=")


def test_pages_show_first_the_key_fields_and_sweep_the_objectives_each_solvers_command_declares():
    """One declaration (the plugin's SolverCommand) serves the CLI table and the explorer: the roofline page and a
    generic page show its key_fields first, the sweep page starts from its pareto objectives (the training sweep
    keeps its own: MFU rather than memory per GPU)."""
    needs("SingleNodeModel", "EconomicsModel", "DistributedModel")
    from mlsysim_cli.api.lazy import solver_commands

    commands = solver_commands()
    roofline = page("roofline").answer(PAGES["roofline"].example).blocks[0]
    assert tuple(r.name for r in roofline.rows) == commands["SingleNodeModel"].key_fields and roofline.more
    form = {"fleet": "Research_256", "duration_days": "30", "datacenter": "Hyperscale_Typical"}
    economics = page("solver/EconomicsModel").answer(form).blocks[0]
    assert tuple(r.name for r in economics.rows) == commands["EconomicsModel"].key_fields and economics.more
    sweep = {f.name: f.default for f in page("sweep").fields({"solver": "SingleNodeModel"})}
    assert (sweep["x"], sweep["x_goal"], sweep["y"], sweep["y_goal"]) == ("latency", "min", "throughput", "max")
    assert commands["SingleNodeModel"].pareto == (("latency", "min"), ("throughput", "max"))
    training = {f.name: f.default for f in page("sweep").fields({"solver": "DistributedModel"})}
    assert (training["y"], training["y_goal"]) == ("mfu", "max") != commands["DistributedModel"].pareto[1]


def test_every_installed_solver_has_a_generic_page_built_from_its_signature():
    import inspect

    for name in mlsysim.solvers():
        p = page(f"solver/{name}")
        params = [
            n
            for n, q in inspect.signature(getattr(mlsysim, name).solve).parameters.items()
            if n not in ("self", "cls") and q.kind not in (q.VAR_KEYWORD, q.VAR_POSITIONAL)
        ]
        assert [f.name for f in p.fields({})] == params
        assert "<form" in render.page_html(p, {})


def test_generic_page_answers_a_third_party_solver():
    needs("PowerEfficiencyModel")
    ans = page("solver/PowerEfficiencyModel").answer({"hardware": "B200"})
    direct = mlsysim.PowerEfficiencyModel().solve(mlsysim.Hardware.B200)
    assert rows(ans.blocks[0])["flops_per_watt"].value == direct.flops_per_watt.magnitude


def test_report_writes_one_self_contained_page_with_the_same_numbers(tmp_path):
    needs("ServingModel")
    out = tmp_path / "serving.html"
    res = CliRunner().invoke(
        report, ["serving", "model=Llama3_8B", "hardware=H100", "seq_len=2048", "--html", str(out)]
    )
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html)  # nothing to fetch
    assert "Plotly.newPlot" in html and "plotly.js" in html
    r = banded(mlsysim.ServingModel, mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, seq_len=2048)
    itl, (low, high) = r.itl, (b.to("ms").magnitude for b in r.bands["itl"])
    assert f'data-field="itl" data-value="{itl.magnitude!r}"' in html
    assert f">{number(itl.magnitude)} [{number(low)}, {number(high)}]<" in html


def test_report_bad_input_is_one_line_and_exit_1(tmp_path):
    needs("ServingModel")
    res = CliRunner().invoke(
        report,
        ["serving", "model=Llama3_8B", "hardware=H100", "seq_len=0", "--html", str(tmp_path / "x.html")],
        standalone_mode=True,
    )
    assert res.exit_code == 1 and res.output.count("\n") == 1 and "seq_len=0 is invalid" in res.output
    res = CliRunner().invoke(report, ["nosuch", "--html", str(tmp_path / "x.html")])
    assert isinstance(res.exception, mlsysim.InvalidInputError) and "PAGE='nosuch'" in str(res.exception)
    # a misspelt page or solver gets its close matches (solver/NAME against the installed solvers' names)
    for slug, hint in (("servng", "; did you mean serving?"), ("solver/ServingMdel", "mean solver/ServingModel")):
        res = CliRunner().invoke(report, [slug, "--html", str(tmp_path / "x.html")])
        assert hint in str(res.exception), res.exception
    res = CliRunner().invoke(report, ["solver/NoSuch", "--html", str(tmp_path / "x.html")])
    assert str(res.exception).endswith("solver/NAME")  # nothing close: no guess
    res = CliRunner().invoke(report, ["serving", "colour=red", "--html", str(tmp_path / "x.html")])
    assert "colour='red' is invalid: expected a field of the page" in str(res.exception)
    # a field given twice answered the last, the first dropped without a word
    res = CliRunner().invoke(report, ["serving", "seq_len=1024", "seq_len=2048", "--html", str(tmp_path / "x.html")])
    assert "seq_len='2048' is invalid: expected one value of seq_len (it is also given as '1024')" in str(res.exception)
    assert not (tmp_path / "x.html").exists()


def get(url: str) -> tuple[int, Any, str]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.headers, r.read().decode()


def test_the_server_serves_pages_partials_assets_and_exports():
    with running() as base:
        status, _, home = get(base + "/")
        assert status == 200 and all(f'data-solver="{n}"' in home for n in mlsysim.solvers())
        for slug in PAGES:
            assert get(f"{base}/p/{slug}")[0] == 200
        for asset in ("htmx.min.js", "plotly.min.js", "app.js", "app.css"):
            status, headers, body = get(f"{base}/static/{asset}")
            assert status == 200 and len(body) > 500
        _, _, sugg = get(base + "/suggest?field=hardware&sections=hardware&hardware=h10")
        assert 'data-key="H100"' in sugg and "title=" in sugg
        _, _, rows_ = get(base + "/catalog/rows?q=quebec")
        assert "Quebec" in rows_
        if "ServingModel" in mlsysim.solvers():
            _, headers, part = get(base + "/a/serving?model=Llama3_8B&hardware=H100&seq_len=abc")
            assert headers["HX-Push-Url"].startswith("/p/serving?model=Llama3_8B")
            assert 'id="err-seq_len" hx-swap-oob="true">seq_len=&#39;abc&#39; is invalid' in part
            _, headers, html = get(base + "/export/serving?model=Llama3_8B&hardware=H100&seq_len=2048")
            assert "attachment" in headers["Content-Disposition"] and "Plotly.newPlot" in html
        with pytest.raises(urllib.error.HTTPError) as e:
            get(base + "/p/nosuch")
        e.value.close()
        assert e.value.code == 404


def test_a_page_says_where_its_inputs_lie_outside_the_calibration_set():
    needs("ServingModel")
    ans = page("serving").answer({"model": "Llama3_8B", "hardware": "MI300X", "seq_len": "2048"})
    direct = mlsysim.ServingModel().solve(mlsysim.Models.Llama3_8B, mlsysim.Hardware.MI300X, seq_len=2048)
    assert direct.out_of_domain and [f"out of domain: {line}" for line in direct.out_of_domain] == [
        w for w in ans.blocks[0].why if w.startswith("out of domain: ")
    ]
