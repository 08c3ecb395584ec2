"""Every picture the command line draws (defect 9 of issue 21), rendered to PNG and checked not empty.

"Not empty": the PNG is written and every panel of the saved figure shows data (line vertices,
markers or bars inside its axes, legends not counted). A sweep with nothing solved draws no picture:
one error line instead.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mlsysim_cli import main

pytest.importorskip("matplotlib")

PLOTS = {
    name: line.split()
    for name, line in {
        "roofline": "roofline Llama3_8B H100 --batch-size 8",
        "serve": "serve Llama3_8B H100 --seq-len 1024",
        "train": "train Llama3_70B Research_256 --tp 8 --pp 4 --microbatches 8 --batch-size 256",
        "compare": "compare A100 H100 --model Llama3_8B",
        "sweep roofline": "sweep roofline --model Llama3_8B,Llama3_70B --hardware A100,H100 --batch-size 1,8,64 "
        "--precision fp16,fp8",
        "sweep serve": "sweep serve --model Llama3_8B --hardware H100,A100 --seq-len 2048 --batch-size 1..64:x4 "
        "--tp 1,2",
        "sweep serve under load": "sweep serve --model Llama3_8B --hardware H100 --seq-len 2048 --batch-size 8 "
        "--qps 1..8:+1 --output-len 200 --slo-ttft 1s",
        "sweep train scaling": "sweep train --model Llama3_8B --cluster Research_256 --nodes 1,2,4 --tp 8 "
        "--batch-size 512",
        "sweep train Pareto": "sweep train --model Llama3_70B --cluster Research_256 --tp 8 --pp 2,4 "
        "--batch-size 256 --microbatches 1,8",
        "sweep carbon": "sweep carbon --cluster Research_256 --days 30 --datacenter Quebec,Virginia",
        "sweep reliability Pareto": "sweep reliability --cluster Research_256,Frontier_8K --hours 720 "
        "--checkpoint-s 10,60",
        "validate": "validate --group c",
    }.items()
}


def drawn(ax) -> int:
    """Data items of ``ax`` inside its view: line vertices, scatter offsets, bars (legends not counted)."""
    import numpy as np

    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())

    def inside(xs, ys) -> int:
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        return int(((xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)).sum())

    n = sum(inside(line.get_xdata(), line.get_ydata()) for line in ax.get_lines())
    n += sum(inside(*np.asarray(c.get_offsets()).reshape(-1, 2).T) for c in ax.collections)
    return n + sum(1 for p in ax.patches if p.get_width() > 0 and p.get_height() > 0)


@pytest.mark.parametrize("name", list(PLOTS))
def test_each_plot_renders_with_data(name, tmp_path, monkeypatch):
    """The command writes a PNG, and every panel of the figure it saved shows data inside its axes."""
    from matplotlib.figure import Figure

    saved = []
    original = Figure.savefig

    def keep(fig, *args, **kwargs):
        saved.append(fig)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, PLOTS[name] + ["--plot", "p.png"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and len(saved) == 1
    panels = [ax for ax in saved[0].axes if ax.get_visible()]
    assert panels and all(drawn(ax) > 0 for ax in panels), [(ax.get_title(), drawn(ax)) for ax in panels]


def test_empty_axes_count_as_empty():
    from mlsysim_plots import figure

    fig, ax = figure()
    ax.plot([], [], "o-", color="C0", label="points")
    ax.legend()
    assert drawn(ax) == 0
    ax.plot([1.0, 2.0], [1.0, 2.0])
    ax.relim()
    ax.autoscale_view()
    assert drawn(ax) == 2


def test_training_breakdown_legend_is_whole_and_inside_the_figure():
    """Every non-zero term of the step is in the legend (which sits inside the figure) and the bars add
    up to the step time."""
    from mlsysim_distributed.plots import plot_step_breakdown

    import mlsysim

    r = mlsysim.DistributedModel().solve(
        mlsysim.Models.Llama3_70B, mlsysim.Systems.Clusters.Research_256, batch_size=256, tp_size=8, pp_size=4,
        microbatch_count=8,
    )  # fmt: skip
    fig, ax = plot_step_breakdown(r)
    fig.canvas.draw()
    legend = fig.legends[0]
    texts = [t.get_text() for t in legend.get_texts()]
    assert len(texts) == len(ax.patches) >= 4 and any(t.startswith("pipeline bubble") for t in texts)
    box, frame = legend.get_window_extent(), fig.bbox
    assert box.x0 >= frame.x0 and box.y0 >= frame.y0 and box.x1 <= frame.x1 and box.y1 <= frame.y1
    width = sum(p.get_width() for p in ax.patches)
    assert width == pytest.approx(r.step_time.m_as("ms"), rel=1e-9)
    from mlsysim_uncertainty import banded

    b = banded(
        mlsysim.DistributedModel, mlsysim.Models.Llama3_70B, mlsysim.Systems.Clusters.Research_256, batch_size=256,
        tp_size=8, pp_size=4, microbatch_count=8,
    )  # fmt: skip
    from matplotlib.container import ErrorbarContainer

    fig, ax = plot_step_breakdown(b)
    (bar,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]  # the step time's band
    low, high = (q.m_as("ms") for q in b.bands["step_time"])
    ((x0, _), (x1, _)) = bar.lines[2][0].get_segments()[0]
    assert (x0, x1) == (pytest.approx(low), pytest.approx(high))
    assert any(t.get_text().startswith("band [") for t in fig.legends[0].get_texts())
    assert not [c for c in plot_step_breakdown(r)[1].containers if isinstance(c, ErrorbarContainer)]


def test_sweep_plot_rings_the_pareto_front_and_crosses_infeasible_points():
    import json

    import mlsysim_plots

    res = CliRunner().invoke(main, PLOTS["sweep roofline"] + ["--json", "-"])
    doc = json.loads(res.stdout)
    fig, axes = mlsysim_plots.plot_sweep(doc, "batch_size", ["latency", "throughput"], series=["model", "hardware"])
    labels = [t.get_text() for t in axes[-1].get_legend().get_texts()]
    assert "Pareto front" in labels and "infeasible" in labels and axes[0].get_legend() is None
    front = sum(1 for p in doc["points"] if p["pareto"])
    assert front and len(axes[0].collections[-1].get_offsets()) == front


def test_default_train_pareto_plot_varies_on_both_axes(tmp_path):
    import json

    from mlsysim_plots import plot_pareto

    res = CliRunner().invoke(main, PLOTS["sweep train Pareto"] + ["--json", "-"])
    doc = json.loads(res.stdout)
    x, y = (o.split(":")[0] for o in doc["pareto"])
    fig, ax = plot_pareto(doc, x, y)
    ys = {round(v[1], 9) for c in ax.collections for v in c.get_offsets()}
    assert len(ys) > 1, (x, y)


def test_a_sweep_with_nothing_solved_draws_no_picture(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(
        main, ["sweep", "cost", "--cluster", "Frontier_8K", "--days", "30,365", "--kwh-price", "0.1", "--plot", "c.png"]
    )
    assert res.exit_code == 1 and "--plot: nothing to draw" in res.stderr and not (tmp_path / "c.png").exists()


def test_roofline_and_serving_plots_show_a_banded_results_rate_band():
    """A banded serve (``--bands --plot``) puts an error bar on its decode and prefill points: FLOPs over
    the ITL's and TTFT's bands; a banded roofline point likewise (FLOPs over the latency's band)."""
    from matplotlib.container import ErrorbarContainer
    from mlsysim_serving.plots import plot_serving
    from mlsysim_single_node.plots import plot_roofline

    import mlsysim
    from mlsysim_uncertainty import banded

    H100, LM = mlsysim.Hardware.H100, mlsysim.Models.Language

    def bars(ax):
        return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]

    r = banded(mlsysim.ServingModel, LM.Llama3_8B, H100, 1024, 16, output_len=256)
    decode, prefill = bars(plot_serving(H100, r)[1])
    flops = r.decode_flops.to_base_units().magnitude
    (((_, y0), (_, y1)),) = decode.lines[2][0].get_segments()
    fast, slow = (q.to("s").magnitude for q in r.bands["itl"])  # the shortest ITL: the highest rate
    assert (y0, y1) == (pytest.approx(flops / slow / 1e12), pytest.approx(flops / fast / 1e12))
    assert prefill and not bars(plot_serving(H100, mlsysim.ServingModel().solve(LM.Llama3_8B, H100, 1024, 16))[1])
    point = banded(mlsysim.SingleNodeModel, LM.Llama3_8B, H100, batch_size=8)
    assert len(bars(plot_roofline(H100, [point])[1])) == 1
