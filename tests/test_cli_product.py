"""The command line as a finished product (issue 21): each defect reproduced as a new user met it.

Every bad file, bad option or unwritable output ends in exactly one line on standard error, exit 1,
no traceback; a sweep written to a file prints a summary, not its rows.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlsysim_cli import main

ROOT = Path(__file__).resolve().parents[1]
SWEEP = [
    "sweep",
    "serve",
    "--model",
    "Llama3_8B",
    "--hardware",
    "H100,A100",
    "--seq-len",
    "2048",
    "--batch-size",
    "1..64:x2",
]


def run(args: list[str]) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.exit_code, res.stdout, res.stderr


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize(
    ("extra", "flag", "path"),
    [
        (["--csv", "/nonexistent/d/x.csv"], "--csv", "/nonexistent/d/x.csv"),
        (["--json", "/nonexistent/d/x.json"], "--json", "/nonexistent/d/x.json"),
        (["--plot", "/nonexistent/x.png"], "--plot", "/nonexistent/x.png"),
        (["--plot", "out.jpg2"], "--plot", "out.jpg2"),
    ],
)
def test_sweep_output_file_problems_are_one_line_before_any_work(extra, flag, path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(SWEEP + extra)
    line = one_error_line(err)
    assert code == 1 and out == ""  # refused before the table is printed
    assert line.startswith(f"Error: {flag}: cannot write {path}")
    assert list(tmp_path.iterdir()) == []


def test_single_command_plot_to_a_missing_directory_is_one_line():
    code, out, err = run(["roofline", "Llama3_8B", "H100", "--plot", "/nonexistent/r.png"])
    assert code == 1 and out == ""
    assert one_error_line(err).startswith("Error: --plot: cannot write /nonexistent/r.png")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_json_to_a_full_disk_is_one_line_naming_standard_output():
    with open("/dev/full", "w") as full:
        cli = "from mlsysim_cli import main; main()"
        proc = subprocess.run(
            [sys.executable, "-c", cli, "serve", "Llama3_8B", "H100", "--seq-len", "2048", "--json"],
            check=False,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 1
    assert one_error_line(proc.stderr) == "Error: cannot write standard output: No space left on device"


def test_pareto_objective_that_is_no_field_is_refused():
    code, out, err = run(SWEEP + ["--pareto", "nope:min,itl:max"])
    assert code == 1 and out == ""
    line = one_error_line(err)
    assert line.startswith("Error: --pareto: 'nope' is not an input or result field of serve")


def test_pareto_objective_typo_suggests_the_field():
    code, _, err = run(SWEEP + ["--pareto", "ttf:min,throughput:max"])
    assert code == 1 and "did you mean ttft" in one_error_line(err)


def test_sweep_to_a_csv_file_prints_a_summary_not_the_rows(tmp_path):
    path = tmp_path / "x.csv"
    code, out, err = run(SWEEP + ["--csv", str(path)])
    assert code == 0 and out == ""
    assert re.fullmatch(r"14 points, 14 solved, \d+ on the Pareto front \(.*\)\nwrote .*x\.csv\n", err), err
    assert len(path.read_text().splitlines()) == 15  # a header and every point


def test_sweep_to_standard_output_keeps_stdout_for_the_rows():
    code, out, err = run(SWEEP + ["--csv", "-"])
    assert code == 0 and len(out.splitlines()) == 15
    assert err.startswith("14 points, 14 solved")


def test_readme_examples_write_pictures_to_the_working_directory():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    saved = [m for b in blocks for m in re.findall(r"savefig\(\s*['\"]([^'\"]+)['\"]", b)]
    assert saved and all("/" not in p and "\\" not in p for p in saved), saved


def test_messages_name_the_option_not_the_python_keyword():
    import click

    from mlsysim_cli import describe
    from mlsysim_cli.api.command import OPTIONS_KEY
    from mlsysim_core.errors import InvalidInputError

    ctx = click.Context(main)
    ctx.meta[OPTIONS_KEY] = {"kwh_price": "--kwh-price", "datacenter": "--datacenter"}
    exc = InvalidInputError("kwh_price", None, "an electricity price in USD/kWh", "grid 'X' has none; pass kwh_price=")
    assert describe(exc, ctx) == (
        "--kwh-price: kwh_price=None is invalid: expected an electricity price in USD/kWh "
        "(grid 'X' has none; pass --kwh-price)"
    )


def test_serve_of_a_cnn_names_it_in_one_short_line():
    code, out, err = run(["serve", "ResNet50", "H100", "--seq-len", "2048"])
    line = one_error_line(err)
    assert code == 1 and out == "" and len(line) < 300
    assert line.startswith("Error: MODEL: model=CNNWorkload('ResNet-50") and "TransformerWorkload" in line


def test_a_catalog_name_given_to_a_solver_in_python_is_looked_up():
    import mlsysim

    by_name = mlsysim.ServingModel().solve("Llama3_8B", mlsysim.Hardware.H100, seq_len=2048)
    assert by_name == mlsysim.ServingModel().solve(mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, seq_len=2048)


def test_a_huge_sweep_table_shows_its_ends(monkeypatch):
    from mlsysim_cli import sweep

    monkeypatch.setattr(sweep, "_TABLE_ROWS", 10)
    monkeypatch.setattr(sweep, "_TABLE_ENDS", 2)
    code, out, _ = run(SWEEP)
    assert code == 0 and "... 10 more" in out and len(out.splitlines()) == 2 + 2 + 1 + 2


@pytest.fixture(scope="module")
def train_json(tmp_path_factory):
    path = tmp_path_factory.mktemp("chain") / "run.json"
    code, out, err = run(
        ["train", "Llama3_8B", "Research_256", "--tp", "8", "--batch-size", "256", "--tokens", "1e12", "--json"]
    )
    assert code == 0, err
    path.write_text(out, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("command", "solver", "extra"),
    [("cost", "EconomicsModel", {"kwh_price": 0.1}), ("carbon", "SustainabilityModel", {})],
)
def test_cost_and_carbon_price_a_train_result_from_its_json_as_python_does(train_json, command, solver, extra):
    """`mlsysim train ... --json > run.json; mlsysim cost CLUSTER --days 30 --from run.json --nodes 64`:
    the same numbers as solve(..., workload=<the training result>) on the 64-node cluster (the run on 32 of
    its nodes; a fleet smaller than the run is refused: test_chained_results_hold_the_layout_...)."""
    import json

    import mlsysim
    from mlsysim_cli.api import lookup
    from mlsysim_fleet.scale import with_nodes

    args = [
        command,
        "Research_256",
        "--days",
        "30",
        "--datacenter",
        "Quebec",
        "--from",
        str(train_json),
        "--nodes",
        "64",
    ] + [a for k, v in extra.items() for a in (f"--{k.replace('_', '-')}", str(v))]
    code, out, err = run(args + ["--json"])
    assert code == 0, err
    got = json.loads(out)["result"]
    fleet = lookup("cluster", "Research_256", "CLUSTER")[1]
    trained = mlsysim.DistributedModel().solve(mlsysim.Models.Llama3_8B, fleet, batch_size=256, tp_size=8, tokens=1e12)
    want = (
        getattr(mlsysim, solver)()
        .solve(with_nodes(fleet, 64), 30.0, datacenter=lookup("datacenter", "Quebec", "")[1], workload=trained, **extra)
        .to_dict()
    )
    assert got["workload_time"]["value"] == pytest.approx(want["workload_time"]["value"], rel=1e-12)
    for field, v in want.items():
        if isinstance(v, dict) and set(v) == {"value", "unit"} and v["value"] is not None:
            assert got[field]["unit"] == v["unit"] and got[field]["value"] == pytest.approx(v["value"], rel=1e-9), field
        else:
            assert got[field] == v, field


@pytest.mark.parametrize("command", ["cost", "carbon"])
def test_cost_and_carbon_without_days_run_for_the_train_results_time_to_train(train_json, tmp_path, command):
    """`mlsysim carbon CLUSTER --from run.json` (no --days): the cluster runs for the run's time_to_train, as
    solve(fleet, None, workload=<the training result>) does in Python; a run without --tokens (no
    time_to_train) is run for --steps; without both, one line naming --steps; no --from and no --days: one
    line naming --days."""
    import json

    import mlsysim
    from mlsysim_cli.api import lookup

    code, out, err = run([command, "Research_256", "--datacenter", "Quebec", "--from", str(train_json), "--json"])
    assert code == 0, err
    fleet = lookup("cluster", "Research_256", "CLUSTER")[1]
    trained = mlsysim.DistributedModel().solve(mlsysim.Models.Llama3_8B, fleet, batch_size=256, tp_size=8, tokens=1e12)
    got = json.loads(out)["result"]["duration"]
    assert got["value"] == pytest.approx(trained.time_to_train.m_as(got["unit"]), rel=1e-12)
    no_tokens = tmp_path / "no_tokens.json"
    no_tokens.write_text(
        run(["train", "Llama3_8B", "Research_256", "--tp", "8", "--batch-size", "256", "--json"])[1], encoding="utf-8"
    )
    base = [command, "Research_256", "--datacenter", "Quebec"]
    code, out, err = run([*base, "--from", str(no_tokens), "--steps", "1000", "--json"])
    assert code == 0, err
    got = json.loads(out)["result"]["duration"]
    assert got["value"] == pytest.approx(1000 * trained.step_time.m_as(got["unit"]), rel=1e-12)
    code, out, err = run([*base, "--from", str(no_tokens)])
    assert code == 1 and one_error_line(err).startswith("Error: --steps: "), err
    code, out, err = run(base)
    assert code == 1 and one_error_line(err).startswith("Error: --days: "), err


def test_reliability_takes_the_job_hours_from_the_train_result(train_json, tmp_path):
    """`mlsysim reliability CLUSTER --from run.json`: the job's hours are the run's time_to_train, as
    ReliabilityModel().solve(fleet, training=<the training result>) does in Python; without --tokens
    in the run (no time_to_train) and without --hours: one line naming --from."""
    import json

    import mlsysim
    from mlsysim_cli.api import lookup

    code, out, err = run(["reliability", "Research_256", "--from", str(train_json), "--json"])
    assert code == 0, err
    got = json.loads(out)["result"]
    fleet = lookup("cluster", "Research_256", "CLUSTER")[1]
    trained = mlsysim.DistributedModel().solve(mlsysim.Models.Llama3_8B, fleet, batch_size=256, tp_size=8, tokens=1e12)
    want = mlsysim.ReliabilityModel().solve(fleet, training=trained)
    assert want.job_duration.m_as("h") == pytest.approx(trained.time_to_train.m_as("h"), rel=1e-12)
    assert got["job_duration"]["value"] == pytest.approx(want.job_duration.m_as(got["job_duration"]["unit"]))
    assert got["goodput"] == pytest.approx(want.goodput, rel=1e-12)
    stated = run(
        ["reliability", "Research_256", "--from", str(train_json), "--hours", "10", "--storage", "Tectonic_Llama3"]
    )
    assert stated[0] == 0 and "10 h job" in stated[1]  # --hours wins; --from then only sizes the checkpoint
    code, out, err = run(["reliability", "Research_256", "--from", str(train_json), "--hours", "10"])
    assert code == 1 and one_error_line(err).startswith("Error: --storage: ")  # --from would do nothing
    no_tokens = tmp_path / "no_tokens.json"
    no_tokens.write_text(
        run(["train", "Llama3_8B", "Research_256", "--tp", "8", "--batch-size", "256", "--json"])[1], encoding="utf-8"
    )
    code, out, err = run(["reliability", "Research_256", "--from", str(no_tokens)])
    assert code == 1 and "--tokens" in one_error_line(err) and "--from" in err
    code, out, err = run(["reliability", "Research_256"])
    assert code == 1 and one_error_line(err).startswith("Error: --hours: ")


def test_chained_results_hold_the_layout_they_were_solved_on(tmp_path):
    """A run on 4 of Research_256's 32 nodes was assessed by `reliability --from` at the failure rate of all
    32 (fleet MTBF 158.5 h instead of 1268 h), and `sweep reliability --from` passed the file name itself to
    the solver ('training=str'); cost priced a 16-GPU serving replica on an 8-GPU fleet at half its rate. Now
    one line naming --from and what to give (--nodes), the right fleet is assessed, the sweep reads the file."""
    import json

    run4 = tmp_path / "run4.json"
    train4 = ["train", "Llama3_8B", "Research_256", "--nodes", "4", "--tp", "8", "--zero", "3", "--batch-size", "64"]
    run4.write_text(run([*train4, "--tokens", "1e9", "--json"])[1], encoding="utf-8")
    code, out, err = run(["reliability", "Research_256", "--from", str(run4)])
    assert code == 1 and one_error_line(err).startswith("Error: --from: training=") and "--nodes 4" in err
    code, out, err = run(["reliability", "Research_256", "--from", str(run4), "--nodes", "4", "--json"])
    assert code == 0, err
    fleet_mtbf = json.loads(out)["result"]["fleet_mtbf"]
    assert fleet_mtbf["unit"] == "h" and fleet_mtbf["value"] == pytest.approx(5072.760217122988 / 4, rel=1e-9)
    code, out, err = run(["sweep", "reliability", "--cluster", "Research_256", "--nodes", "2,4", "--from", str(run4)])
    assert code == 0 and "2 points, 1 solved" in out + err and "fleet's 2 nodes" in out, out + err
    serve16 = tmp_path / "serve16.json"
    replica = ["serve", "Llama3_70B", "H100", "--seq-len", "2048", "--tp", "8", "--pp", "2", "--fabric", "IB_NDR"]
    serve16.write_text(run([*replica, "--json"])[1], encoding="utf-8")
    for command in ("cost", "carbon"):
        base = [command, "Research_256", "--datacenter", "Quebec", "--days", "1", "--from", str(serve16)]
        code, out, err = run([*base, "--nodes", "1"])
        assert code == 1 and "'a replica of 16 accelerators' is invalid" in one_error_line(err), err
        code, out, err = run([*base, "--nodes", "3", "--json"])  # 24 GPUs: one whole 16-GPU replica, 8 idle
        assert code == 0 and json.loads(out)["result"]["replicas"] == 1, err


def test_an_error_about_a_product_of_degrees_names_each_option():
    """train --pp 3 on 256 GPUs was 'Error: --tp: tp_size*pp_size=3 is invalid' (only the first factor's
    option, one the user did not give); now every factor's option."""
    code, out, err = run(["train", "Llama3_8B", "Research_256", "--batch-size", "256", "--pp", "3"])
    assert code == 1 and one_error_line(err).startswith("Error: --tp/--pp: tp_size*pp_size=3 is invalid"), err


def test_from_a_file_that_is_no_result_is_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    for path, says in ((bad, "is not a result"), (tmp_path / "missing.json", "cannot read")):
        code, out, err = run(["cost", "Research_256", "--days", "30", "--kwh-price", "0.1", "--from", str(path)])
        assert code == 1 and out == ""
        assert one_error_line(err).startswith("Error: --from: ") and says in err


def test_install_hint_names_this_repository():
    from mlsysim_core.plugins import host

    err = host().not_installed("DistributedModel", "mlsysim-nowhere")
    assert str(err).endswith(
        "install it from this repository: pip install -e plugins/mlsysim-nowhere "
        "(run in the mlsysim repository; not on PyPI yet)"
    )


def test_warnings_of_the_command_line_are_one_categorised_line(tmp_path):
    """A plugin that fails to load warns in one line naming its category; -W selects by category
    (PluginWarning is a UserWarning: -W's category must be importable when Python starts)."""
    pkg = tmp_path / "broken_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[mlsysim]\nbroken = broken_plugin\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    cli = "from mlsysim_cli import main; main()"
    base = [sys.executable, "-c", cli, "serve", "Llama3_8B", "H100", "--seq-len", "2048"]
    shown = subprocess.run(base, capture_output=True, text=True, env=env, timeout=120, check=False)
    lines = [ln for ln in shown.stderr.splitlines() if ln.strip()]
    assert shown.returncode == 0 and lines, shown.stderr
    assert all(ln.startswith("warning: PluginWarning: mlsysim plugin 'broken'") for ln in lines), lines
    quiet = subprocess.run(
        [sys.executable, "-W", "ignore::UserWarning", *base[1:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_notebook_reprs_are_compact_and_rounded_as_the_cli_prints():
    import mlsysim

    fleet = mlsysim.Systems.Clusters.Research_256
    assert (
        repr(fleet)
        == "Fleet('Research Cluster (256 GPUs)', 32 x 'NVIDIA DGX H100 (8x H100 SXM5 80GB)', 256 accelerators)"
    )
    assert all(len(repr(x)) < 120 for x in (fleet.node, fleet.fabric, *fleet.node.components))
    r = mlsysim.ServingModel().solve(mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100, seq_len=2048, batch_size=512)
    assert repr(r).startswith("<ServingResult from ServingModel: ttft=") and len(repr(r)) < 150
    html = r._repr_html_()
    assert f"<td>itl</td><td>{r.itl.to('ms').magnitude:.4g} ms</td>" in html  # 4 significant figures
    assert r.feasible is False and "<p>why:</p>" in html and "Memory Wall" in html
    econ = mlsysim.EconomicsModel().solve(fleet, 30, kwh_price=0.1, pue=1.2)
    line = next(ln for ln in econ.explain().splitlines() if ln.split()[0] == "capex_total")
    assert line.split()[1:] == ["13,120,000", "USD"]  # the CLI's number format, not 1.312×10⁷


def test_sweep_plot_of_24_series_has_24_colours_a_legend_beside_it_and_marks_infeasible(tmp_path):
    pytest.importorskip("matplotlib")
    import mlsysim_plots

    pts = [
        {
            "inputs": {"hardware": f"hw{i}", "batch_size": b},
            "error": None,
            "pareto": False,
            "result": {"latency": {"value": float(b * (i + 1)), "unit": "ms"}, "feasible": b < 64},
        }
        for i in range(24)
        for b in (1, 2, 4, 8, 16, 32, 64, 128)
    ]
    fig, ax = mlsysim_plots.plot_sweep(pts, "batch_size", "latency", series=["hardware"])
    colours = {tuple(line.get_color()) for line in ax.get_lines()}
    assert len(ax.get_lines()) == 24 and len(colours) == 24
    legend = ax.get_legend()
    assert legend is not None and legend.get_bbox_to_anchor().x0 > ax.get_window_extent().x1 - 1
    assert "infeasible" in [t.get_text() for t in legend.get_texts()]
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert {"1", "2", "4"} <= set(ticks) and not any(t.endswith(".0") for t in ticks)  # not 1.0, 2.0
    path = tmp_path / "s.png"
    fig.savefig(path)
    assert path.stat().st_size > 10_000


def test_a_command_imports_no_other_plugins_commands():
    """``mlsysim serve`` imports the serving plugin's declaration and none of the others (each is a
    LazyCommand): the validation harness, the web explorer and the planner cost nothing at start-up."""
    code = (
        "import sys\nfrom mlsysim_cli import main\n"
        "try:\n    main(['serve', 'Llama3_8B', 'H100', '--seq-len', '2048'])\nexcept SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "print(' '.join(sorted(m for m in sys.modules if m.endswith(('.command', '.commands', '.cli'))\n"
        "                      and not m.startswith('mlsysim_cli.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.splitlines()[-1] == "mlsysim_serving.commands", out.stdout[-300:]


def test_a_banded_train_result_keeps_its_band_through_from(tmp_path):
    """`mlsysim train ... --bands --json > run.json; mlsysim carbon|cost|reliability ... --from run.json
    --bands`: the consumer solves at the run's two corner results (``band_corners``), as
    banded(SustainabilityModel, ..., workload=banded(DistributedModel, ...)) does in Python."""
    import json

    import mlsysim
    from mlsysim_cli.api import lookup
    from mlsysim_uncertainty import banded

    path = tmp_path / "run.json"
    train = ["train", "Llama3_8B", "Research_256", "--tp", "8", "--batch-size", "256", "--tokens", "1e12"]
    code, out, err = run([*train, "--bands", "--json"])
    assert code == 0 and len(json.loads(out)["band_corners"]) == 2, err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(json.loads(out), band_corners="fast")), encoding="utf-8")
    code, _, err = run(["carbon", "Research_256", "--days", "30", "--datacenter", "Quebec", "--from", str(bad)])
    assert code == 1 and one_error_line(err).startswith("Error: --from: ") and "band_corners" in err
    path.write_text(out, encoding="utf-8")
    fleet = lookup("cluster", "Research_256", "CLUSTER")[1]
    quebec = lookup("datacenter", "Quebec", "")[1]
    trained = banded(mlsysim.DistributedModel, mlsysim.Models.Llama3_8B, fleet, batch_size=256, tp_size=8, tokens=1e12)
    want = banded(mlsysim.SustainabilityModel, fleet, 30.0, datacenter=quebec, workload=trained)
    code, out, err = run(
        ["carbon", "Research_256", "--days", "30", "--datacenter", "Quebec", "--from", str(path), "--bands", "--json"]
    )
    got = json.loads(out)["result"]["bands"]["workload_carbon"]
    assert code == 0 and (got["low"]["value"], got["high"]["value"]) == pytest.approx(
        tuple(q.m_as(got["low"]["unit"]) for q in want.bands["workload_carbon"]), rel=1e-9
    )
    code, out, err = run(
        ["cost", "Research_256", "--days", "30", "--datacenter", "Quebec", "--from", str(path), "--bands", "--json"]
    )
    assert code == 0 and "workload_cost" in json.loads(out)["result"]["bands"]
    code, out, err = run(["reliability", "Research_256", "--from", str(path), "--bands", "--json"])
    want_job = banded(mlsysim.ReliabilityModel, fleet, training=trained).bands["expected_completion_time"]
    got = json.loads(out)["result"]["bands"]["expected_completion_time"]
    assert code == 0 and got["high"]["value"] == pytest.approx(want_job[1].m_as(got["high"]["unit"]), rel=1e-9)
    plain = run(["carbon", "Research_256", "--days", "30", "--datacenter", "Quebec", "--from", str(path), "--json"])
    assert "bands" not in json.loads(plain[1])["result"]  # bands only when asked for


def test_a_table_with_the_cache_off_writes_no_file(tmp_path, monkeypatch):
    """MLSYSIM_NO_CATALOG_CACHE: the units a table shows are not kept anywhere (no stray file in the working
    directory, as `None.<pid>.tmp` once was)."""
    from mlsysim_cli.api import _out

    monkeypatch.setenv("MLSYSIM_NO_CATALOG_CACHE", "1")
    monkeypatch.setattr(_out, "_units_shown", {})
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["serve", "Llama3_8B", "H100", "--seq-len", "512"])
    assert code == 0, err
    assert "ms" in out and list(tmp_path.iterdir()) == []
