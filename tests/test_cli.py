"""The ``mlsysim`` command line, run as users run it: the installed console script in a subprocess.

--json answers are compared with the Python API, bad input must exit 1 with one line naming the
argument, ``--strict`` infeasible configurations exit 2, and pictures are checked through the
figure objects of ``mlsysim.plot_*`` (skipped without matplotlib).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mlsysim

REPO = Path(__file__).resolve().parents[1]
HF = REPO / "tests" / "data" / "hf"
EXE = Path(sys.executable).parent / ("mlsysim.exe" if os.name == "nt" else "mlsysim")

pytestmark = pytest.mark.skipif(not EXE.exists(), reason=f"console script not installed next to {sys.executable}")


def run(
    *args: str, code: int | None = 0, env: dict | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k not in ("MLSYSIM_DISABLE_PLUGINS", "MLSYSIM_CATALOG_PRIORITY")}
    e.update(env or {})
    out = subprocess.run([str(EXE), *args], capture_output=True, text=True, env=e, cwd=cwd, timeout=120)
    if code is not None:
        assert out.returncode == code, f"exit {out.returncode}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}"
    return out


def invoke(*args: str) -> subprocess.CompletedProcess:
    """``mlsysim ARGS`` run in this process by click's CliRunner, for loops over many points (``run`` starts
    the real console script; a process per point would cost ~0.4 s each)."""
    from click.testing import CliRunner

    from mlsysim_cli import main

    r = CliRunner().invoke(main, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exc_info
    return subprocess.CompletedProcess(list(args), r.exit_code, r.stdout, r.stderr)


def js(*args: str) -> dict:
    return json.loads(run(*args, "--json").stdout)


def q(d: dict, unit: str | None = None) -> float:
    """Value of a {"value", "unit"} pair (asserting the unit)."""
    if unit is not None:
        assert d["unit"] == unit
    return d["value"]


def one_line_error(out: subprocess.CompletedProcess, *needles: str) -> str:
    assert out.returncode == 1, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), out.stderr
    assert "Traceback" not in out.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


M, HW = mlsysim.Models, mlsysim.Hardware
C = mlsysim.Systems.Clusters


# --------------------------------------------------------------------------- the README command


def test_readme_first_command_gives_a_real_answer():
    readme = (REPO / "README.md").read_text()
    assert ".venv/bin/mlsysim serve Llama3_8B H100 --seq-len 2048" in readme
    out = run("serve", "Llama3_8B", "H100", "--seq-len", "2048").stdout
    r = mlsysim.ServingModel().solve(M.Llama3_8B, HW.H100, seq_len=2048)
    assert "ttft" in out and "itl" in out and "feasible" in out
    assert f"{r.ttft.to('ms').magnitude:.4g} ms" in out
    assert "Memory Wall: Passed" in out


# --------------------------------------------------------------------------- one command per solver


def test_serve_json_matches_the_python_api():
    d = js("serve", "llama3_8b", "h100", "--seq-len", "2048", "--batch-size", "4", "--tp", "2", "--kv-precision", "fp8")
    assert d["solver"] == "ServingModel"
    assert d["inputs"] == {
        "model": "Llama3_8B",
        "hardware": "H100",
        "seq_len": 2048,
        "batch_size": 4,
        "tp_size": 2,
        "gpus_per_node": None,
        "precision": None,
        "kv_precision": "fp8",
        "output_len": None,
        "beam_width": None,
        "efficiency": None,
        "network_efficiency": None,
        "engine": None,
        **dict.fromkeys(
            (
                "arrival_rate",
                "concurrency",
                "request_overhead",
                "engine_overhead",
                "scheduler_overlap",
                "scheduler_steps",
                "prefill_steps",
                "slo_ttft",
                "slo_itl",
                "slo_percentile",
                "method",
                "length_cv",
                "length_samples",
                "max_num_batched_tokens",
                "max_num_seqs",
                "prefix_cache_hit",
                "disagg",
                "fabric",
                "kv_layerwise",
                "spec_draft",
                "spec_draft_cost",
                "spec_k",
                "spec_accept",
            )
        ),
        **dict.fromkeys(
            (
                "weight_precision",
                "activation_precision",
                "pp_size",
                "ep_size",
                "dp_attention",
                "redundant_experts",
                "ep_overlap",
                "expert_imbalance",
            )
        ),
    }
    assert d["result"]["precision"] == "bf16"  # no --precision: the H100's own default_precision, said in notes
    assert any("default_precision" in n for n in d["result"]["notes"])
    r = mlsysim.ServingModel().solve(M.Llama3_8B, HW.H100, seq_len=2048, batch_size=4, tp_size=2, kv_precision="fp8")
    assert d["result"] == json.loads(json.dumps(r.to_dict()))
    assert q(d["result"]["itl"], "ms") == pytest.approx(r.itl.to("ms").magnitude, rel=1e-12)


def test_roofline_json_matches_the_python_api():
    d = js("roofline", "Llama3_8B", "H100", "--batch-size", "8", "--precision", "fp8", "--efficiency", "0.5")
    r = mlsysim.SingleNodeModel().solve(M.Llama3_8B, HW.H100, batch_size=8, precision="fp8", efficiency=0.5)
    assert d["solver"] == "SingleNodeModel" and d["inputs"]["precision"] == "fp8"
    assert q(d["result"]["latency"], "ms") == pytest.approx(r.latency.to("ms").magnitude, rel=1e-12)
    assert d["result"]["bottleneck"] == r.bottleneck


def test_train_json_matches_the_python_api_and_nodes_override():
    d = js(
        "train",
        "Llama3_70B",
        "Research_256",
        "--tp",
        "8",
        "--pp",
        "4",
        "--microbatches",
        "8",
        "--batch-size",
        "256",
        "--zero",
        "1",
        "--seq-len",
        "4096",
    )
    r = mlsysim.DistributedModel().solve(
        M.Llama3_70B,
        C.Research_256,
        batch_size=256,
        tp_size=8,
        pp_size=4,
        microbatch_count=8,
        zero_stage=1,
        seq_len=4096,
    )
    assert q(d["result"]["step_time"], "ms") == pytest.approx(r.step_time.to("ms").magnitude, rel=1e-12)
    assert d["result"]["parallelism"] == {"dp": 8, "tp": 8, "pp": 4, "ep": 1, "cp": 1}
    half = js("train", "Llama3_70B", "Research_256", "--tp", "8", "--pp", "4", "--batch-size", "128", "--nodes", "16")
    assert half["inputs"]["nodes"] == 16 and half["result"]["total_accelerators"] == 128


def test_cost_carbon_reliability_json_match_the_python_api():
    d = js("cost", "Research_256", "--days", "30", "--datacenter", "hyperscale_typical", "--kwh-price", "0.1")
    r = mlsysim.EconomicsModel().solve(
        C.Research_256, 30.0, kwh_price=0.1, datacenter=mlsysim.Infra.Datacenters.Hyperscale_Typical
    )
    assert q(d["result"]["tco"], "USD") == pytest.approx(r.tco.to("USD").magnitude, rel=1e-12)
    assert d["inputs"]["datacenter"] == "Hyperscale_Typical"

    d = js("carbon", "Research_256", "--days", "30", "--datacenter", "Quebec", "--utilization", "0.5")
    r = mlsysim.SustainabilityModel().solve(
        C.Research_256, 30.0, datacenter=mlsysim.Infra.Grids.Quebec, utilization=0.5
    )
    assert q(d["result"]["carbon_footprint"], "kg") == pytest.approx(r.carbon_footprint.to("kg").magnitude, rel=1e-12)
    assert d["inputs"]["datacenter"] == "Quebec"  # a grid key: a typical datacenter on that grid

    d = js("reliability", "Research_256", "--hours", "720", "--checkpoint-s", "60", "--restart-s", "120")
    r = mlsysim.ReliabilityModel().solve(C.Research_256, 720.0, 60.0, restart_time_s=120.0)
    assert d["result"]["goodput"] == pytest.approx(r.goodput, rel=1e-12)
    assert q(d["result"]["fleet_mtbf"], "h") == pytest.approx(r.fleet_mtbf.to("h").magnitude, rel=1e-12)


def test_csv_is_one_row_with_units_in_the_header():
    out = run("serve", "Llama3_8B", "H100", "--seq-len", "512", "--csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 1
    r = mlsysim.ServingModel().solve(M.Llama3_8B, HW.H100, seq_len=512)
    assert float(rows[0]["result.ttft [ms]"]) == pytest.approx(r.ttft.to("ms").magnitude, rel=1e-12)
    assert rows[0]["inputs.hardware"] == "H100"


# --------------------------------------------------------------------------- errors and exit codes


def test_unknown_name_suggests_close_matches():
    line = one_line_error(run("serve", "Llama3_8B", "H10", "--seq-len", "2048", code=None), "HARDWARE", "H100")
    assert "did you mean" in line
    one_line_error(run("train", "Lama3_70B", "Research_256", "--batch-size", "8", code=None), "MODEL", "Llama3_70B")
    one_line_error(
        run("cost", "Research_256", "--days", "1", "--datacenter", "Quebek", code=None), "--datacenter", "Quebec"
    )


def test_bad_values_name_the_option():
    one_line_error(run("serve", "Llama3_8B", "H100", "--seq-len", "2048", "--tp", "3", code=None), "--tp", "tp_size=3")
    one_line_error(run("roofline", "ResNet50", "A100", "--batch-size", "0", code=None), "--batch-size")
    one_line_error(run("carbon", "Research_256", "--days", "-1", "--datacenter", "Quebec", code=None), "--days")
    one_line_error(
        run("reliability", "Research_256", "--hours", "720", "--checkpoint-s", "0", code=None), "--checkpoint-s"
    )
    one_line_error(run("cost", "Research_256", "--days", "30", code=None), "--datacenter")  # no datacenter anywhere
    one_line_error(run("serve", "Llama3_8B", "H100", code=None), "--seq-len")  # click usage errors: one line, exit 1
    one_line_error(run("serve", "Llama3_8B", "H100", "--seq-len", "x", code=None), "--seq-len")


def test_strict_infeasible_exits_2_and_plain_run_reports_it():
    out = run("serve", "Llama3_70B", "H100", "--seq-len", "2048", "--strict", code=2)
    assert out.stderr.startswith("Infeasible: ") and "GB" in out.stderr and out.stdout == ""
    d = js("serve", "Llama3_70B", "H100", "--seq-len", "2048")
    assert d["result"]["feasible"] is False
    run("roofline", "GPT3", "H100", "--strict", code=2)
    run("roofline", "ResNet50", "H100", "--strict", code=0)


def test_a_disabled_plugin_takes_its_commands_along():
    env = {"MLSYSIM_DISABLE_PLUGINS": "serving"}
    assert "serve " not in run("--help", env=env).stdout and "serve " not in run("sweep", "--help", env=env).stdout
    out = run("serve", "Llama3_8B", "H100", "--seq-len", "128", code=None, env=env)
    one_line_error(out, "No such command 'serve'", "mlsysim plugins", "mlsysim-serving", "MLSYSIM_DISABLE_PLUGINS")


def test_help_of_every_command_has_an_example():
    """In process (help text only: no environment, no exit path to check; ~20 processes less)."""
    from click.testing import CliRunner

    from mlsysim_cli import main

    def help_of(*cmd: str) -> str:
        r = CliRunner().invoke(main, [*cmd, "--help"])
        assert r.exit_code == 0, (cmd, r.output)
        return r.stdout

    top = help_of()
    for name in (
        "roofline",
        "serve",
        "train",
        "cost",
        "carbon",
        "reliability",
        "sweep",
        "compare",
        "catalog",
        "plugins",
        "power-efficiency",
    ):
        assert name in top
    for cmd in (
        ["roofline"],
        ["serve"],
        ["train"],
        ["cost"],
        ["carbon"],
        ["reliability"],
        ["compare"],
        ["sweep"],
        ["sweep", "roofline"],
        ["sweep", "train"],
        ["catalog"],
        ["catalog", "import-hf"],
        ["plugins"],
        ["power-efficiency"],
        ["sweep", "power-efficiency"],
    ):
        out = help_of(*cmd)
        assert "Example" in out and "mlsysim " in out.split("Example", 1)[1], cmd


# --------------------------------------------------------------------------- sweep and compare


def test_sweep_writes_every_point_marks_pareto_and_keeps_errors(tmp_path):
    out_csv = tmp_path / "out.csv"
    res = run(
        "sweep",
        "roofline",
        "--model",
        "Llama3_8B",
        "--hardware",
        "A100,H100,B200",
        "--batch-size",
        "1,8,64,256",
        "--precision",
        "fp16,fp8",
        "--csv",
        str(out_csv),
        "--json",
        "-",
    )
    doc = json.loads(res.stdout)
    pts = doc["points"]
    assert len(pts) == 3 * 4 * 2 and doc["pareto"] == ["latency:min", "throughput:max"]
    bad = [p for p in pts if p["error"]]
    assert bad and all(p["inputs"]["hardware"] == "A100" and p["inputs"]["precision"] == "fp8" for p in bad)
    assert all("precision" in p["error"] for p in bad) and not any(p["pareto"] for p in bad)
    p = next(
        p
        for p in pts
        if p["inputs"]
        == {
            "model": "Llama3_8B",
            "hardware": "H100",
            "batch_size": 64,
            "precision": "fp16",
            "efficiency": None,
            "seq_len": None,
            "phase": None,
        }
    )
    r = mlsysim.SingleNodeModel().solve(M.Llama3_8B, HW.H100, batch_size=64, precision="fp16")
    assert q(p["result"]["latency"], "ms") == pytest.approx(r.latency.to("ms").magnitude, rel=1e-12)
    # the front: no solved point is better in both latency and throughput than a front point
    ok = [p for p in pts if not p["error"]]
    front = [p for p in ok if p["pareto"]]
    assert front
    lat = lambda p: p["result"]["latency"]["value"]  # noqa: E731
    thr = lambda p: p["result"]["throughput"]["value"]  # noqa: E731
    for f in front:
        assert not any(lat(o) <= lat(f) and thr(o) >= thr(f) and (lat(o), thr(o)) != (lat(f), thr(f)) for o in ok)
    for o in ok:
        if not o["pareto"]:
            assert any(lat(f) <= lat(o) and thr(f) >= thr(o) for f in front)
    with out_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(pts) and {"pareto", "error", "result.latency [ms]"} <= set(rows[0])
    assert sum(r["pareto"] == "True" for r in rows) == len(front)


def test_sweep_json_is_written_a_point_at_a_time_with_the_same_bytes(tmp_path):
    """`sweep ... --json FILE` built the whole document in memory (63 kB a point: 6.3 GB for 100,000 ServingModel
    points, 0.99 GB now); write_json streams it and writes what dumps() of the whole document wrote, for no,
    one or several points, NaN, nesting and an escaped newline in a string."""
    from mlsysim_cli.api import dumps
    from mlsysim_cli.sweep import write_json

    head = {"solver": "X", "sweep": {"a": [1, 2]}, "pareto": ["a:min", "b:max"]}
    pts = [
        {"inputs": {"a": 1}, "result": {"x": {"value": math.nan, "unit": "ms"}, "l": [1, {"q": "a\nb"}]}, "pareto": 1},
        {"inputs": {"a": 2}, "result": None, "error": "bad", "pareto": False},
    ]
    for some in (pts, pts[:1], []):
        write_json(str(tmp_path / "w.json"), head, iter(some))
        assert (tmp_path / "w.json").read_text(encoding="utf-8") == dumps(head | {"points": some}) + "\n"
    res = run("sweep", "roofline", "--model", "Llama3_8B", "--hardware", "A100,H100", "--batch-size", "1,8", "--json=-")
    doc = json.loads(res.stdout)
    assert len(doc["points"]) == 4 and res.stdout == dumps(doc) + "\n"


def test_sweep_ranges_and_per_point_invalid_input():
    doc = json.loads(
        run(
            "sweep",
            "serve",
            "--model",
            "Llama3_70B",
            "--hardware",
            "H100",
            "--seq-len",
            "2048",
            "--batch-size",
            "1..16:x2",
            "--tp",
            "3,8",
            "--json",
            "-",
        ).stdout
    )
    assert doc["sweep"]["batch_size"] == [1, 2, 4, 8, 16] and doc["sweep"]["tp_size"] == [3, 8]
    for p in doc["points"]:
        if p["inputs"]["tp_size"] == 3:
            assert p["result"] is None and "tp_size=3" in p["error"]
        else:
            assert p["error"] is None and p["result"]["feasible"] is True
    one_line_error(
        run("sweep", "roofline", "--model", "Llama3_8B", "--hardware", "H100,Q9", code=None), "--hardware", "Q9"
    )
    one_line_error(
        run("sweep", "roofline", "--model", "Llama3_8B", "--hardware", "H100", "--batch-size", "8..1", code=None),
        "--batch-size",
    )
    # an empty item was dropped: 1,,2 swept 1 and 2 with no word (fuzz17's finding)
    for text in ("1,,2", "1,2,"):
        empty = invoke("sweep", "roofline", "--model", "Llama3_8B", "--hardware", "H100", "--batch-size", text)
        one_line_error(empty, "--batch-size", f"{text!r} has an empty item")
    pareto = "latency:min,,throughput:max"
    empty = invoke("sweep", "roofline", "--model", "Llama3_8B", "--hardware", "H100", "--pareto", pareto)
    one_line_error(empty, "--pareto", f"{pareto!r} has an empty item")
    # a fractional step of an integer range was truncated: 1..10:+2.5 swept 1, 3, 5, 7, 9
    bad_step = invoke("sweep", "roofline", "--model", "Llama3_8B", "--hardware", "H100", "--batch-size", "1..10:+2.5")
    one_line_error(bad_step, "--batch-size", "'1..10:+2.5' is invalid: the step of an integer range must be an integer")


def test_vectorized_sweep_matches_solve_and_scales(tmp_path):
    from mlsysim_cli.api import dumps

    # roofline and serve sweeps run as one vectorized call: each point's JSON is solve()'s to_dict()
    doc = json.loads(
        run(
            "sweep",
            "serve",
            "--model",
            "Llama3_70B,Llama3_8B",
            "--hardware",
            "H100,A100",
            "--seq-len",
            "512,4096",
            "--batch-size",
            "1..64:x4",
            "--tp",
            "3,8",
            "--output-len",
            "128",
            "--json",
            "-",
        ).stdout
    )
    assert len(doc["points"]) == 2 * 2 * 2 * 4 * 2
    for p in doc["points"][::5]:
        i = p["inputs"]
        kw = {k: i[k] for k in ("seq_len", "batch_size", "tp_size", "precision", "output_len")}
        try:
            want = json.loads(
                dumps(mlsysim.ServingModel().solve(M.get(i["model"]), HW.get(i["hardware"]), **kw).to_dict())
            )
        except mlsysim.InvalidInputError as exc:
            assert p["result"] is None and p["error"] == " ".join(str(exc).split())
        else:
            assert p["error"] is None and p["result"] == want
    # a 120k-point roofline sweep to CSV (beyond the 100k points the per-point loop stops at)
    out_csv = tmp_path / "big.csv"
    res = run(
        "sweep",
        "roofline",
        "--model",
        "Llama3_8B",
        "--hardware",
        "H100,A100",
        "--precision",
        "fp16,fp8",
        "--batch-size",
        "1..30000",
        "--csv",
        str(out_csv),
    )
    assert "120000 points, 90000 solved" in res.stderr and res.stdout == ""  # rows to the file, a summary here
    with out_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 120_000
    row = rows[2 * 12345]  # (H100, batch 12346, fp16)
    r = mlsysim.SingleNodeModel().solve(M.Llama3_8B, HW.H100, batch_size=12346, precision="fp16")
    assert (row["inputs.hardware"], row["inputs.batch_size"], row["inputs.precision"]) == ("H100", "12346", "fp16")
    assert float(row["result.latency [ms]"]) == r.latency.to("ms").magnitude
    one_line_error(
        run(
            "sweep",
            "roofline",
            "--model",
            "Llama3_8B",
            "--hardware",
            "A100,H100,B200,H200,T4",
            "--batch-size",
            "1..5000000",
            code=None,
        ),
        "25000000 points is more than 20000000",
    )


def test_parse_list_and_pareto_front_in_process():
    import numpy as np

    from mlsysim_cli.api import Param
    from mlsysim_cli.sweep import front, parse_list

    bs = Param("batch_size", "--batch-size", "int")
    assert [v for v, _ in parse_list(bs, "1..256:x2", "--batch-size")] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert [v for v, _ in parse_list(bs, "1..10:+3,4,100", "--batch-size")] == [1, 4, 7, 10, 100]
    # (latency min, throughput max) as two minimized columns; NaN (an error, an infeasible point) is never on it
    lat = np.array([1, 2, 2, 3, 4, 5, np.nan, 0.5])
    thr = np.array([1, 3, 2, 3, 5, 4, 9, np.nan])
    assert front(lat, -thr).tolist() == [True, True, False, False, True, False, False, False]


def test_compare_gives_ratio_and_wall():
    d = json.loads(run("compare", "A100", "h100", "B200", "--model", "Llama3_8B", "--batch-size", "8", "--json").stdout)
    assert [r["hardware"] for r in d["rows"]] == ["A100", "H100", "B200"] and d["baseline"] == "A100"
    a = mlsysim.SingleNodeModel().solve(M.Llama3_8B, HW.A100, batch_size=8)
    b = mlsysim.SingleNodeModel().solve(M.Llama3_8B, HW.B200, batch_size=8)
    assert d["rows"][0]["speedup_vs_baseline"] == pytest.approx(1.0)
    assert d["rows"][2]["speedup_vs_baseline"] == pytest.approx(
        a.latency.to("s").magnitude / b.latency.to("s").magnitude
    )
    assert all(r["wall"] == "memory" and "ridge" in r["reason"] for r in d["rows"])
    big = json.loads(run("compare", "H100", "H200", "--model", "Llama3_70B", "--json").stdout)
    assert big["rows"][0]["wall"] == "capacity" and "usable" in big["rows"][0]["reason"]
    text = run("compare", "A100", "H100", "--model", "Llama3_8B").stdout
    assert "speedup" in text and "memory" in text


# --------------------------------------------------------------------------- catalog


def test_catalog_listing_kept_and_sections_are_subcommands():
    assert "H100" in run("catalog").stdout
    rows = json.loads(run("catalog", "hardware", "--json").stdout)
    assert rows and {r["section"] for r in rows} == {"hardware"}
    assert {r["section"] for r in json.loads(run("catalog", "--json").stdout)} >= {"hardware", "models", "clusters"}
    assert "catalog OK" in run("catalog", "--check").stdout


@pytest.mark.parametrize(
    "fname,key,rel",
    [
        ("llama3_8b.json", "Llama3_8B", 0),
        ("mixtral_8x7b.json", "Mixtral_8x7B", 0),
        ("gpt2_xl.json", "GPT2", 0),
        ("deepseek_v3.json", "DeepSeek_V3", 1e-6),
    ],
)
def test_hf_parameter_count_matches_the_catalog(fname, key, rel):
    """Exact for Llama/Mixtral/GPT-2; DeepSeek-V3 differs by its 58 x 256 expert-score biases
    (e_score_correction_bias, in the checkpoint, left out of the catalog's count)."""
    from mlsysim_registry import hf

    m = hf.from_config(hf.read_config(HF / fname))
    ref = M.get(key)
    assert m.parameters == pytest.approx(ref.parameters, rel=rel, abs=0)
    if ref.active_parameters:
        assert m.active_parameters == pytest.approx(ref.active_parameters, rel=rel, abs=0)
    for f in (
        "layers",
        "hidden_dim",
        "heads",
        "head_dim",
        "vocab_size",
        "tied_embeddings",
        "experts",
        "active_experts",
        "kv_lora_rank",
        "qk_rope_head_dim",
    ):
        if getattr(ref, f) is not None and f in m.fields:
            assert m.fields[f] == getattr(ref, f), f


def test_import_hf_writes_a_loadable_entry_and_checks_counts(tmp_path):
    out = tmp_path / "lab.toml"
    res = run(
        "catalog",
        "import-hf",
        str(HF / "llama3_8b.json"),
        "--name",
        "MyLlama",
        "-o",
        str(out),
        "--expect-params",
        "8.03e9",
    )
    assert "8,030,261,248" in res.stderr and "within 2%" in res.stderr
    assert "[models.MyLlama]" in out.read_text()
    d = json.loads(run("--catalog", str(out), "serve", "myllama", "H100", "--seq-len", "2048", "--json").stdout)
    r = mlsysim.ServingModel().solve(M.Llama3_8B, HW.H100, seq_len=2048)
    assert d["inputs"]["model"] == "MyLlama"
    assert q(d["result"]["itl"], "ms") == pytest.approx(r.itl.to("ms").magnitude, rel=1e-12)
    warn = run("catalog", "import-hf", str(HF / "mixtral_8x7b.json"), "--expect-params", "56e9")
    assert "warning:" in warn.stderr and "-16.60%" in warn.stderr and "[models.mixtral_8x7b]" in warn.stdout
    one_line_error(run("catalog", "import-hf", str(HF / "llama3_8b.json"), "--name", "bad-key", code=None), "--name")
    one_line_error(run("catalog", "import-hf", str(tmp_path / "missing.json"), code=None), "config")


def test_import_hf_refuses_an_entry_that_would_not_load(tmp_path):
    """hidden_size 4096 over 30 heads without a head_dim was floored to head_dim 136 (30 x 136 = 4080: a geometry
    transformers refuses); 7 KV heads of 32 were printed (and with --json) as an entry the catalog then refused,
    checked only with -o. Now one line naming the config, nothing printed or written."""
    cfg = json.loads((HF / "llama3_8b.json").read_text(encoding="utf-8"))
    for change, says in (
        ({"num_attention_heads": 30}, "config.num_attention_heads=30 is invalid: expected a divisor of hidden_size"),
        ({"num_key_value_heads": 7}, "kv_heads=7 is invalid: expected a divisor of heads=32; nothing was written"),
    ):
        path = tmp_path / "config.json"
        path.write_text(json.dumps(cfg | change), encoding="utf-8")
        for extra in ((), ("--json",), ("-o", str(tmp_path / "lab.toml"))):
            res = invoke("catalog", "import-hf", str(path), "--name", "X", *extra)
            assert res.stdout == "" and says in one_line_error(res), res.stderr
        assert not (tmp_path / "lab.toml").exists()


# --------------------------------------------------------------------------- plugins and import cost


def test_plugin_command_from_the_hook():
    d = json.loads(run("power-efficiency", "h100", "--json").stdout)
    assert d["solver"] == "PowerEfficiencyModel" and d["inputs"] == {
        "hardware": "H100",
        "precision": None,
        "efficiency": None,
    }
    r = mlsysim.PowerEfficiencyModel().solve(HW.H100)
    assert d["result"]["flops_per_watt"]["value"] == pytest.approx(r.flops_per_watt.magnitude, rel=1e-12)


def test_import_mlsysim_loads_neither_click_nor_matplotlib():
    code = (
        "import sys, mlsysim; print(sorted(m for m in ('click', 'matplotlib', 'mlsysim_cli.api', 'mlsysim_plots')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- pictures


def test_plots_have_the_expected_axes_and_write_png(tmp_path):
    pytest.importorskip("matplotlib")
    import mlsysim_plots

    r = mlsysim.SingleNodeModel().solve(M.Llama3_8B, HW.H100, batch_size=8)
    fig, ax = mlsysim.plot_roofline(HW.H100, [r])
    assert ax.get_xlabel() == "Arithmetic intensity (FLOP/byte)" and ax.get_ylabel() == "Performance (TFLOP/s)"
    assert ax.get_xscale() == "log" and any("ridge" in t.get_text() for t in ax.texts)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("989.5 TFLOP/s" in t for t in labels) and any("Llama-3.1-8B" in t for t in labels)
    png = tmp_path / "r.png"
    mlsysim_plots.save(fig, str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000

    pts = [
        mlsysim.SingleNodeModel().solve(M.Llama3_8B, HW.get(h), batch_size=b)
        for h in ("A100", "H100")
        for b in (1, 8, 64)
    ]
    fig, axes = mlsysim.plot_sweep(pts, "batch_size", ["latency", "throughput"], series=["hardware"])
    assert axes[0].get_xlabel() == "batch size" and axes[0].get_ylabel() == "latency (ms)"
    assert axes[1].get_ylabel() == "throughput (1/s)" and len(axes[0].lines) == 2


def test_plot_options_write_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    files = {
        "roof.png": ("roofline", "Llama3_8B", "H100", "--batch-size", "8"),
        "serve.png": ("serve", "Llama3_8B", "H100", "--seq-len", "1024"),
        "cmp.png": ("compare", "A100", "H100", "--model", "Llama3_8B"),
        "sweep.png": (
            "sweep",
            "train",
            "--model",
            "Llama3_8B",
            "--cluster",
            "Research_256",
            "--nodes",
            "2..32:x2",
            "--tp",
            "8",
            "--batch-size",
            "512",
        ),
    }
    for name, args in files.items():
        run(*args, "--plot", str(tmp_path / name))
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000, name


def test_scaling_and_carbon_plots_from_sweep_json(tmp_path):
    pytest.importorskip("matplotlib")
    doc = json.loads(
        run(
            "sweep",
            "train",
            "--model",
            "Llama3_8B",
            "--cluster",
            "Research_256",
            "--nodes",
            "2,4,8",
            "--tp",
            "8",
            "--batch-size",
            "512",
            "--json",
            "-",
        ).stdout
    )
    fig, axes = mlsysim.plot_scaling(doc)
    assert axes[0].get_xlabel() == "total accelerators" and axes[0].get_ylabel() == "scaling efficiency"
    doc = json.loads(
        run(
            "sweep",
            "carbon",
            "--cluster",
            "Research_256",
            "--days",
            "30",
            "--datacenter",
            "Quebec,Poland,Virginia",
            "--json",
            "-",
        ).stdout
    )
    fig, ax = mlsysim.plot_carbon(doc)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Quebec", "Poland", "Virginia"]
    assert ax.get_ylabel() == "carbon (kg CO2e)"
    fig, ax = mlsysim.plot_pareto(doc, "carbon_footprint", "water_usage", label=["datacenter"])
    assert ax.get_xlabel() == "carbon footprint (kg)"


def test_without_matplotlib_a_clear_message(tmp_path):
    # a sitecustomize that hides matplotlib from this one process
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\nclass _Block:\n    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'matplotlib' or name.startswith('matplotlib.'):\n            raise ImportError(name)\n"
        "sys.meta_path.insert(0, _Block())\n"
    )
    out = run(
        "roofline", "Llama3_8B", "H100", "--plot", str(tmp_path / "x.png"), code=None, env={"PYTHONPATH": str(tmp_path)}
    )
    one_line_error(out, 'pip install "mlsysim-core[plot]"')
    assert not (tmp_path / "x.png").exists()


def test_compare_uses_each_parts_own_precision():
    out = run("compare", "H100", "TPUv5p", "Gaudi3", "--model", "Llama3_8B").stdout
    assert "each part at its default precision" in out and "TPUv5p" in out and "Gaudi3" in out
    err = run("compare", "H100", "TPUv5p", "--model", "Llama3_8B", "--precision", "fp16", code=1).stderr
    assert "Google TPU v5p has a dense peak for: bf16, fp8" in err


def test_serve_tensor_parallel_limit_is_the_scale_up_domain():
    err = run("serve", "Llama3_70B", "H100", "--seq-len", "2048", "--tp", "16", code=1).stderr
    assert "[1, 8]" in err and "NVLink 4" in err
    assert js("serve", "Llama3_70B", "GB200", "--seq-len", "2048", "--tp", "64")["result"]["tp_size"] == 64
    d = js("serve", "Llama3_70B", "H100", "--seq-len", "2048", "--tp", "16", "--gpus-per-node", "16")
    assert d["result"]["tp_size"] == 16 and d["inputs"]["gpus_per_node"] == 16


SWEEPS = {  # one sweep per built-in command, with an invalid point where one is easy to make
    "train": (
        "--model",
        "Llama3_8B",
        "--cluster",
        "Research_256",
        "--nodes",
        "1,4",
        "--tp",
        "8,3",
        "--batch-size",
        "512",
    ),
    "cost": (
        "--cluster",
        "Research_256,Production_2K",
        "--days",
        "30,0",  # 0 days: an error point
        "--datacenter",
        "Hyperscale_Typical,Virginia",
        "--cloud-rate",
        "2.5",
    ),
    "carbon": ("--cluster", "Research_256", "--days", "30", "--datacenter", "Quebec,Poland", "--utilization", "0.5,0"),
    "reliability": ("--cluster", "Research_256,Frontier_8K", "--hours", "720", "--checkpoint-s", "0,60"),
    "roofline": (
        "--model",
        "Llama3_8B,ResNet50",
        "--hardware",
        "A100,H100",
        "--batch-size",
        "1,64",
        "--precision",
        "fp16,fp8",
    ),
    "serve": ("--model", "Llama3_70B", "--hardware", "H100", "--seq-len", "2048", "--tp", "3,8", "--output-len", "64"),
}


@pytest.mark.parametrize("command", sorted(SWEEPS))
def test_every_sweep_point_equals_the_single_command(command):
    """`mlsysim sweep <cmd>` (the sweep engine) gives, point by point, what `mlsysim <cmd> --json` (solve()) gives."""
    doc = json.loads(run("sweep", command, *SWEEPS[command], "--json", "-").stdout)
    positional = {"model": "MODEL", "hardware": "HARDWARE", "fleet": "CLUSTER"}
    flags = {p.name: p for p in _declaration(command).params}
    assert any(p["error"] for p in doc["points"]) or command in ("carbon", "serve")
    for p in doc["points"]:
        args = [str(p["inputs"][k]) for k in positional if k in p["inputs"] and p["inputs"][k] is not None]
        for k, v in p["inputs"].items():
            if v is not None and k not in positional:
                args += [flags[k].flag, str(v)]
        # the first point as users run it (a process of its own), the rest in this process
        one = run(command, *args, "--json", code=None) if p is doc["points"][0] else invoke(command, *args, "--json")
        if p["error"]:
            assert one.returncode == 1 and p["result"] is None
            said = " ".join(p["error"].split())
            for k, param in flags.items():  # the command line names its option where Python says "pass k="
                said = re.sub(rf"\b{k}=(?=$|[\s).,;])", param.flag, said)
            assert said in one.stderr
        else:
            assert json.loads(one.stdout)["result"] == p["result"], (command, p["inputs"])


def _declaration(command):
    from mlsysim_cli.api.lazy import declared, load

    return next(load(plugin, item) for plugin, item in declared() if item.name == command)


def test_a_first_answer_imports_no_pint_and_prints_what_pint_would():
    """With the catalog cache warm, ``mlsysim serve`` answers without importing pint or numpy (issue 21): the
    table prints measured fields from SI floats, each unit's factor and symbol read from the cache
    folder; every cell reads as mlsysim_core.results.shown (pint's Quantity) prints it."""
    from mlsysim_cli.api import _out
    from mlsysim_core.results import shown

    r = mlsysim.ServingModel().solve("Llama3_8B", "H100", seq_len=2048, output_len=128)
    _out._units_shown.clear()
    assert [_out.cell(r, n) for n in r.fields()] == [shown(r, n) for n in r.fields()]
    _out._units_shown.clear()
    assert _out.cell(r, "itl") == shown(r, "itl")  # read back from the file
    code = "import sys; before = set(sys.modules); from mlsysim_cli import main\ntry: main()\nexcept SystemExit: pass\n"
    code += "new = set(sys.modules) - before\n"
    code += "print('pint' in new, 'numpy' in new, sorted({'pathlib', 'hashlib'} & new))"
    args = ["serve", "Llama3_8B", "H100", "--seq-len", "2048"]
    for _ in range(2):  # the first run fills the caches if this process's catalog was keyed otherwise
        out = subprocess.run([sys.executable, "-P", "-c", code, *args], capture_output=True, text=True, timeout=120)
    # neither pint nor numpy; nor pathlib and hashlib (~25 M instructions; an editable install imports pathlib first)
    assert out.stdout.splitlines()[-1] == "False False []", out.stderr
    assert "itl" in out.stdout and " ms" in out.stdout


def test_the_program_tunes_the_garbage_collector_for_its_own_process_only(monkeypatch):
    """The console script runs ``mlsysim_cli.run``: raised collection thresholds and a freeze at exit (issue 21);
    ``main``, which tests and other callers invoke, leaves the collector as it was."""
    import gc

    from mlsysim_cli import main, run

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        with pytest.raises(SystemExit):
            main(["plugins", "--json"])
        assert (gc.get_threshold(), gc.get_freeze_count()) == (before, frozen)
        monkeypatch.setattr(sys, "argv", ["mlsysim", "plugins", "--json"])
        with pytest.raises(SystemExit) as exit_:
            run()
        assert exit_.value.code == 0 and gc.get_threshold() == (20_000, 20, 20) and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert "mlsysim_cli:run" in (REPO / "pyproject.toml").read_text()
