"""mlsysim plan train: table, --json, --csv, --explain, --plot, one-line errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from mlsysim_cli import main

TRAIN = ["plan", "train", "GPT3", "--cluster", "Selene_2520", "--gpus", "1024", "--batch-size", "1536"]
SMALL = ["--precision", "fp16", "--recompute", "full", "--zero", "0", "--cp", "1", "--v-stages", "1"]


def run(*args: str):
    return CliRunner().invoke(main, [*TRAIN, *SMALL, *args], prog_name="mlsysim")


def test_table_json_csv():
    out = run("--top", "3")
    assert out.exit_code == 0, out.output
    assert "training plan:" in out.output and "tp8" in out.output and "best:" in out.output
    lines = out.output.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("layout"))
    at = lines[head].index("holds_across_band")  # no deadline: not applicable, not True
    assert [line[at] for line in lines[head + 2 : head + 5]] == ["-"] * 3, out.output
    assert "note: holds_across_band: - (no deadline, the one constraint the band moves;" in out.output
    doc = json.loads(run("--json").output)
    assert doc["kind"] == "training" and doc["rows"][0]["tp"] >= 1 and doc["units"]["step_time"] == "s"
    assert {row["holds_across_band"] for row in doc["rows"]} == {None}
    text = run("--csv").output.splitlines()
    assert text[0].startswith("layout,") and "step_time (s)" in text[0] and len(text) == len(doc["rows"]) + 1


def test_explain_and_plot(tmp_path):
    out = run("--explain", "1", "--plot", str(tmp_path / "front.png"))
    assert out.exit_code == 0, out.output
    assert "#1 of" in out.output and "DistributedResult" in out.output
    assert (tmp_path / "front.png").stat().st_size > 0


def test_errors_are_one_line():
    out = run("--gpus", "12")
    assert out.exit_code == 1 and out.output.count("\n") == 1 and "--gpus" in out.output, out.output
    out = run("--tp", "x")
    assert out.exit_code == 1 and "--tp" in out.output, out.output
    # an empty item was dropped: --tp 1,,8 searched 1 and 8 with no word (as the sweep's lists, fuzz17's finding)
    for flag, text in (("--tp", "1,,8"), ("--precision", "fp16,"), ("--cluster", "Selene_2520,")):
        out = run(flag, text)
        assert out.exit_code == 1 and out.output.count("\n") == 1, out.output
        assert f"{flag}: {text!r} has an empty item" in out.output, out.output
    out = CliRunner().invoke(main, ["plan", "train", "GPT3", "--cluster", "Nope", "--batch-size", "8"])
    assert out.exit_code == 1 and "--cluster" in out.output, out.output


def test_serve():
    args = ["plan", "serve", "Llama3_8B", "--qps", "4", "--seq-len", "1024", "--output-len", "128", "--slo-ttft", "1s"]
    args += ["--slo-itl", "50ms", "--hardware", "H100", "--precision", "bf16", "--tp", "1,2", "--batch-caps", "64"]
    out = CliRunner().invoke(main, [*args, "--max-gpus", "4", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["kind"] == "serving" and doc["feasible"] and doc["rows"][0]["tp"] == 1
    out = CliRunner().invoke(main, [*args, "--slo-itl", "40"])
    assert out.exit_code == 1 and "--slo-itl" in out.output and out.output.count("\n") == 1, out.output


def test_serve_searches_speculation():
    args = (
        "plan serve Llama3_70B --qps 1 --seq-len 1024 --output-len 256 --slo-ttft 1s --slo-itl 12ms --hardware H100 "
        "--tp 4,8 --precision bf16 --batch-caps 16 --max-gpus 8 --spec-draft Llama3_2_1B --spec-accept 0.8"
    ).split()
    out = CliRunner().invoke(main, args, prog_name="mlsysim")
    assert out.exit_code == 0, out.output
    assert "speculative" in out.output and "speculation helps: " in out.output, out.output
    out = CliRunner().invoke(main, args[:-2], prog_name="mlsysim")
    assert out.exit_code == 1 and out.output.count("\n") == 1 and "--spec-accept" in out.output, out.output
    alone = [a for a in args if a not in ("--spec-draft", "Llama3_2_1B")]  # an acceptance with nothing proposing
    out = CliRunner().invoke(main, alone, prog_name="mlsysim")
    assert out.exit_code == 1 and out.output.count("\n") == 1 and "--spec-draft" in out.output, out.output


def test_bad_ranks_and_request_lengths_are_one_line_before_the_search():
    """plan serve --output-len 0 (or --seq-len 0) searched every engine and answered 'infeasible: ... needs nan
    GB per GPU of nan GB usable' with exit 0; --top 0 printed an empty table (exit 0); --explain 0 and a rank
    beyond the plan came after the whole search and its table. Now one line naming the option, exit 1."""
    for args, says in (
        (("--top", "0"), "--top: 0 is invalid: expected a number of rows >= 1"),
        (("--explain", "0"), "--explain: 0 is invalid: expected a rank >= 1"),
        (("--explain", "999"), "--explain: 999 is invalid: expected a rank in [1, "),
    ):
        out = run(*args)
        assert out.exit_code == 1 and out.output.count("\n") == 1, out.output
        assert out.output.startswith(f"Error: {says}"), out.output
    serve = ["plan", "serve", "Llama3_8B", "--qps", "1", "--slo-ttft", "1s", "--slo-itl", "40ms", "--no-progress"]
    for lengths, says in (
        (("--seq-len", "1000", "--output-len", "0"), "--output-len: output_len=0 is invalid: expected an integer in"),
        (("--seq-len", "0", "--output-len", "100"), "--seq-len: seq_len=0 is invalid: expected an integer in"),
        (("--seq-len", "131000", "--output-len", "100"), "--output-len: output_len=100 is invalid: expected seq_len +"),
    ):
        out = CliRunner().invoke(main, [*serve, *lengths, "--json"])
        assert out.exit_code == 1 and out.output.count("\n") == 1, out.output
        assert out.output.startswith(f"Error: {says}"), out.output
