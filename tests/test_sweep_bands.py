"""Bands on sweeps (mlsysim_uncertainty.banded_sweep): every point's band is its banded solve()'s."""

from __future__ import annotations

import numpy as np
import pytest

import mlsysim
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.sweep import _Plan
from mlsysim_uncertainty import banded, banded_sweep
from mlsysim_uncertainty.sweep_bands import _blocks

LM, HW = mlsysim.Models.Language, mlsysim.Hardware.Cloud
CLUSTER = mlsysim.Systems.Clusters.Research_256


def _calls(cls, grid):
    """(row, the solve() arguments of that point) of every point of a sweep of ``cls`` over ``grid``."""
    for first, size, args, vec, _ in _blocks(_Plan(cls, grid), 1 << 18, grid):
        for j in range(size):
            yield first + j, {k: args[k] for k in grid if k in args} | {k: v[j].item() for k, v in vec.items()}


def _same_as_banded_solves(cls, grid):
    """Every solved point's bands and out-of-domain lines equal its banded solve()'s (1e-9 relative)."""
    r = banded_sweep(cls, **grid)
    checked = 0
    for i, kw in _calls(cls, grid):
        if not r.valid[i]:
            assert r.bands.point(i) == {} and r.bands.out_of_domain[i] == ()
            continue
        one = banded(cls, **kw)
        assert r.bands.out_of_domain[i] == one.out_of_domain
        point = r.bands.point(i)
        assert set(point) == set(one.bands), (i, kw)
        for name, (lo, hi) in point.items():
            want = tuple(q.to_base_units().magnitude if hasattr(q, "units") else q for q in one.bands[name])
            assert (lo, hi) == pytest.approx(want, rel=1e-9), (i, name)
        checked += 1
    assert checked
    return r


def test_static_serving_sweep_bands_are_each_points_banded_solve():
    grid = dict(
        model=LM.Llama3_8B,
        hardware=[HW.H100, HW.A100],
        seq_len=[512, 2048],
        batch_size=[1, 8, 64, 512],
        precision=["fp16", "fp8"],
        output_len=256,
    )
    r = _same_as_banded_solves(mlsysim.ServingModel, grid)
    # A100 has no fp8: those points are not solved and have no band; an fp16 H100 point is out of domain
    assert (~r.valid).sum() == 8 and np.isnan(r.bands.si("itl")[0][~r.valid]).all()
    low, high = r.bands["itl"]
    assert (low.to("ms").magnitude[r.valid] < r["itl"].to("ms").magnitude[r.valid]).all()
    assert (high.magnitude[r.valid] > r["itl"].magnitude[r.valid]).all()


def test_serving_sweep_under_traffic_bands_are_each_points_banded_solve():
    grid = dict(
        model=LM.Llama3_8B,
        hardware=HW.H100,
        seq_len=1024,
        output_len=256,
        arrival_rate=np.linspace(0.5, 40.0, 12),
        slo_ttft=1.0,
    )
    r = _same_as_banded_solves(mlsysim.ServingModel, grid)
    assert r["overloaded"].any() and not r["overloaded"].all()  # both regimes of requests_per_second's class


def test_roofline_sweep_bands_are_each_points_banded_solve():
    grid = dict(model=mlsysim.Models.ResNet50, hardware=[HW.A100, HW.H100], batch_size=[1, 16, 256])
    _same_as_banded_solves(mlsysim.SingleNodeModel, grid)


def test_training_sweep_bands_are_each_points_banded_solve():
    grid = dict(model=LM.Llama3_70B, fleet=CLUSTER, batch_size=[256, 512], tp_size=8, pp_size=[2, 4], seq_len=4096)
    _same_as_banded_solves(mlsysim.DistributedModel, grid)


def test_fleet_sweep_bands_are_each_points_banded_solve():
    """SustainabilityModel: the node utilization's range and the ranged catalog numbers (band_catalog) of each
    datacenter the sweep loops over, moved per block; and with a banded training run as its workload, whose
    out-of-domain lines each point states ("workload: ...", as its solve() result does)."""
    grid = dict(
        fleet=CLUSTER, duration_days=[7.0, 30.0], datacenter=[mlsysim.Infra.Grids.Quebec, mlsysim.Infra.Grids.US_Avg]
    )
    _same_as_banded_solves(mlsysim.SustainabilityModel, grid)
    run = banded(mlsysim.DistributedModel, LM.Llama3_8B, CLUSTER, 256, tp_size=8, precision="fp16")
    r = _same_as_banded_solves(
        mlsysim.SustainabilityModel, dict(fleet=CLUSTER, workload=run, steps=[100, 1000], datacenter=grid["datacenter"])
    )
    assert "energy" in r.bands
    assert all(r.bands.out_of_domain[i] == tuple(f"workload: {w}" for w in run.out_of_domain) for i in range(len(r)))


def test_a_given_efficiency_is_held_across_the_sweep():
    grid = dict(model=LM.Llama3_8B, hardware=HW.H100, seq_len=1024, batch_size=[1, 32], efficiency=[0.5, 0.7])
    r = _same_as_banded_solves(mlsysim.ServingModel, grid)
    assert "ttft" in r.bands  # the memory efficiency and engine overhead still move


def test_a_solver_without_ranges_has_no_banded_sweep():
    class Plain(mlsysim.SingleNodeModel.__mro__[-2]):  # a Solver declaring nothing
        name = "Plain"

        def solve(self, x: int = 1):
            raise NotImplementedError

    with pytest.raises(InvalidInputError, match="band_arguments"):
        banded_sweep(Plain, x=[1, 2])


def _cli(*args):
    import json

    from click.testing import CliRunner

    from mlsysim_cli import main

    out = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout) if "--json" in args else out.stdout


def test_sweep_json_points_carry_what_the_banded_command_writes():
    """``mlsysim sweep serve --bands --json``: each point's result is ``mlsysim serve --bands --json``'s
    (bands as to_dict() writes them, out-of-domain lines), under traffic too."""
    swept = _cli(
        *"sweep serve --model Llama3_8B --hardware H100,A100 --seq-len 2048 --batch-size 1,16".split(),
        *"--qps 1,20 --output-len 256 --bands --json -".split(),
    )
    assert len(swept["points"]) == 8
    for pt in swept["points"]:
        i = pt["inputs"]
        one = _cli(
            "serve",
            "Llama3_8B",
            i["hardware"],
            "--seq-len",
            "2048",
            "--batch-size",
            str(i["batch_size"]),
            "--qps",
            str(i["arrival_rate"]),
            "--output-len",
            "256",
            "--bands",
            "--json",
        )["result"]
        got = pt["result"]
        assert got["out_of_domain"] == one["out_of_domain"] and set(got["bands"]) == set(one["bands"])
        for name, band in one["bands"].items():
            for end in ("low", "high"):
                assert got["bands"][name][end]["unit"] == band[end]["unit"]
                assert got["bands"][name][end]["value"] == pytest.approx(band[end]["value"], rel=1e-9)


def test_sweep_table_shows_each_points_band():
    text = _cli(*"sweep serve --model Llama3_8B --hardware H100 --seq-len 2048 --batch-size 1,16 --bands".split())
    row = next(line for line in text.splitlines() if line.startswith("H100") or line.split()[:1] == ["1"])
    one = _cli(*"serve Llama3_8B H100 --seq-len 2048 --bands".split())
    itl = next(line.split(None, 1)[1].strip() for line in one.splitlines() if line.startswith("itl "))
    assert itl.endswith("]") and itl in row  # "8.268 ms [6.91, 10.03]", as the one-point command prints it
    plain = _cli(*"sweep serve --model Llama3_8B --hardware H100 --seq-len 2048 --batch-size 1,16".split())
    assert "[" not in plain


def test_sweep_lines_read_from_the_columns_are_the_checks_asked_per_point(monkeypatch):
    """The default check read from the columns (``_by_query``: once per hardware, precision and out-of-span
    batch or context) and the checks asked of the rows (once per distinct value of what they read) give
    each point the lines its solve() result answers."""
    from mlsysim_uncertainty import sweep_domain

    r = mlsysim.SingleNodeModel.sweep(
        model=LM.Llama3_8B,
        hardware=[HW.H100, HW.A100],
        precision=["fp16", "fp8"],
        batch_size=[1, 2, 64, 4096, 8192],
        seq_len=[128, 65536],
    )
    fast = sweep_domain.sweep_lines(r)
    monkeypatch.setattr(sweep_domain, "_by_query", lambda result, rows: None)
    slow = sweep_domain.sweep_lines(r)
    per_point = [fast[0][k] for k in fast[1]]
    assert per_point == [slow[0][k] for k in slow[1]]
    assert len(set(per_point)) > 4  # several kinds of lines
    for i in range(len(r)):
        if r.valid[i]:
            one = mlsysim.SingleNodeModel().solve(
                model=LM.Llama3_8B,
                hardware=HW.H100 if r["hardware"][i] == HW.H100.name else HW.A100,
                precision=r["precision"][i],
                batch_size=int(r["batch_size"][i]),
                seq_len=int(r["seq_len"][i]),
            )
            assert one.out_of_domain == per_point[i]


def _drawn(command, *args):
    """The figure ``mlsysim sweep COMMAND ARGS --plot`` draws, from the points ``--json`` writes."""
    from mlsysim_distributed.commands import TRAIN
    from mlsysim_serving.commands import SERVE
    from mlsysim_sustainability.commands import CARBON

    from mlsysim_cli.sweep import _draw

    doc = _cli("sweep", command, *args, "--json", "-")
    cmd = {c.name: c for c in (SERVE, TRAIN, CARBON)}[command]
    varied = [k for k, v in doc["sweep"].items() if len(v) > 1]
    objectives = tuple(tuple(o.split(":")) for o in doc["pareto"])
    fig, axes = _draw(cmd, doc["points"], varied, objectives)
    return doc, list(np.atleast_1d(axes))


def _band_of(doc, field):
    return [
        (p["result"]["bands"][field]["low"]["value"], p["result"]["bands"][field]["high"]["value"])
        for p in doc["points"]
    ]


def test_sweep_plots_shade_each_series_band():
    from matplotlib.collections import PolyCollection

    args = "--model Llama3_8B --hardware H100,A100 --seq-len 2048 --batch-size 1,8,64".split()
    doc, axes = _drawn("serve", *args, "--bands")
    for ax, field in zip(axes, ("itl", "tokens_per_second")):
        shades = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(shades) == 2  # one per hardware series
        ys = np.concatenate([s.get_paths()[0].vertices[:, 1] for s in shades])
        ends = np.array(_band_of(doc, field))
        assert ys.min() == pytest.approx(ends.min()) and ys.max() == pytest.approx(ends.max())
    _, plain = _drawn("serve", *args)
    assert not any(isinstance(c, PolyCollection) for ax in plain for c in ax.collections)
    doc, axes = _drawn(
        "serve",
        *"--model Llama3_8B --hardware H100 --seq-len 1024 --output-len 256".split(),
        "--qps",
        "1,5,10",
        "--bands",
    )  # latency against load: the p99 bands
    assert all(any(isinstance(c, PolyCollection) for c in ax.collections) for ax in axes)


def test_pareto_and_carbon_plots_draw_the_bands_as_error_bars():
    from matplotlib.container import ErrorbarContainer

    doc, (ax,) = _drawn(
        "train", *"--model Llama3_8B --cluster Research_256 --batch-size 256,512 --tp 8".split(), "--bands"
    )
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    n = len(doc["points"])
    assert len(bars) == 1 and [len(lines.get_segments()) for lines in bars[0].lines[2]] == [n, n]  # x and y bars
    doc, (ax,) = _drawn("carbon", *"--cluster Research_256 --days 30 --datacenter Quebec,Virginia".split(), "--bands")
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    tops = sorted(seg[:, 1].max() for b in bars for seg in b.lines[2][0].get_segments())
    assert tops == pytest.approx(sorted(high for _, high in _band_of(doc, "carbon_footprint")))


def test_a_plain_fleet_result_states_its_workloads_lines():
    """Issue 20 item 4: a fleet solver's plain result carries its input result's out-of-domain lines (on its
    first read, not in solve()), as its banded result does, and its plain sweep's --json points too."""
    run = mlsysim.DistributedModel().solve(LM.Llama3_8B, CLUSTER, 256, tp_size=8, precision="fp16", tokens=1e10)
    assert run.out_of_domain
    want = tuple(f"workload: {w}" for w in run.out_of_domain)
    grid = mlsysim.Infra.Grids.US_Avg
    s = mlsysim.SustainabilityModel().solve(CLUSTER, workload=run, datacenter=grid)
    e = mlsysim.EconomicsModel().solve(CLUSTER, workload=run, datacenter=grid)
    r = mlsysim.ReliabilityModel().solve(CLUSTER, training=run)
    assert "_out_of_domain" not in vars(s)  # solve() asks nothing: the lines come on the first read
    assert s.out_of_domain == e.out_of_domain == want
    assert r.out_of_domain == tuple(f"training: {w}" for w in run.out_of_domain)
    assert s.to_dict()["out_of_domain"] == list(want)
    assert banded(mlsysim.SustainabilityModel, CLUSTER, workload=run, datacenter=grid).out_of_domain == want
    assert mlsysim.SustainabilityModel().solve(CLUSTER, 30, grid).out_of_domain == ()  # no workload: no lines
    inside = mlsysim.DistributedModel().solve(LM.Llama3_8B, CLUSTER, 256, tp_size=8, tokens=1e10)
    assert mlsysim.SustainabilityModel().solve(CLUSTER, workload=inside, datacenter=grid).out_of_domain == tuple(
        f"workload: {w}" for w in inside.out_of_domain
    )
    from mlsysim_uncertainty.sweep_bands import carried
    from mlsysim_uncertainty.sweep_domain import sweep_lines

    swept = dict(fleet=CLUSTER, workload=run, datacenter=[grid, mlsysim.Infra.Grids.Quebec])  # run: its time_to_train
    plain = mlsysim.SustainabilityModel.sweep(**swept)
    distinct, which = sweep_lines(plain, carried(mlsysim.SustainabilityModel, swept))
    assert [distinct[k] for k in which] == [want, want]
    assert sweep_lines(plain)[0] == [()]  # the columns alone hold no workload


def test_a_plain_fleet_sweep_json_states_its_workloads_lines(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from mlsysim_cli import main

    monkeypatch.chdir(tmp_path)
    train = "train Llama3_8B Research_256 --batch-size 256 --tp 8 --precision fp16 --tokens 1e10 --json".split()
    run = CliRunner().invoke(main, train, catch_exceptions=False)
    (tmp_path / "run.json").write_text(run.stdout)
    lines = json.loads(run.stdout)["result"]["out_of_domain"]
    assert lines
    doc = _cli(*"sweep carbon --cluster Research_256 --from run.json --datacenter Quebec,US_Avg --json -".split())
    assert [p["result"]["out_of_domain"] for p in doc["points"]] == [[f"workload: {w}" for w in lines]] * 2


def test_reliability_sweep_bands_keep_goodput_under_1_and_the_job_as_floor():
    """model_error.FLOORS on arrays (sweep_bands._hull): each point's band is its banded solve()'s, the goodput's
    below 1 and the completion time's above the failure-free job's hours."""
    r = _same_as_banded_solves(mlsysim.ReliabilityModel, dict(fleet=CLUSTER, job_duration_hours=[1.0, 100.0, 2000.0]))
    for i, hours in enumerate((1.0, 100.0, 2000.0)):
        point = r.bands.point(i)
        assert point["goodput"][1] < 1.0 and point["expected_completion_time"][0] > hours * 3600


def test_a_banded_sweep_writes_its_rows_a_chunk_at_a_time_and_caps_by_its_memory(monkeypatch, tmp_path):
    """``sweep --bands --csv`` held every row's band dicts at once (~31 kB a point; the 20 M-point cap assumed
    300 B): its rows are now made _BANDED_CHUNK at a time in two passes (columns, rows), the file the same
    whatever the chunk, and the banded cap is MEMORY_CAP / POINT_BYTES[True] (bench/sweep_memory.py), said."""
    from click.testing import CliRunner

    import mlsysim_cli.sweep as S
    from mlsysim_cli import main

    args = (
        "sweep serve --model Llama3_8B --hardware H100,H200 --seq-len 2048 --batch-size 1,16,64 --bands --csv".split()
    )
    whole, small = tmp_path / "whole.csv", tmp_path / "small.csv"
    assert CliRunner().invoke(main, [*args, str(whole)]).exit_code == 0
    monkeypatch.setattr(S, "_BANDED_CHUNK", 4)  # 6 points: two chunks, the second short
    assert CliRunner().invoke(main, [*args, str(small)]).exit_code == 0
    text = whole.read_text()
    assert text == small.read_text() and text.count("\n") == 7 and "result.bands.ttft.low [ms]" in text
    assert S.MAX_POINTS == 20_000_000 and int(S.MEMORY_CAP // S.POINT_BYTES[True]) == 14_285_714
    out = CliRunner().invoke(
        main, "sweep roofline --model Llama3_8B --hardware A100,H100 --batch-size 1..8000000 --bands".split()
    )
    assert out.exit_code == 1 and out.output == (
        "Error: sweep: 16000000 points is more than 14285714 with --bands (~1,400 B a point, 20 GB in all); "
        "narrow the lists\n"
    )
