"""Issue 21 defect 4: messages written for the person reading them. Solvers take catalog names as well
as objects (``validate.named``, one helper every solver calls), a model entry missing fields names
them, and ``mlsysim serve`` given a CNN says what to run instead, on one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import pytest

import mlsysim
from mlsysim_core import validate
from mlsysim_core.errors import CatalogError, InvalidInputError

M, H, C, I = mlsysim.Models, mlsysim.Hardware, mlsysim.Systems.Clusters, mlsysim.Infra


def test_named_resolves_keys_aliases_and_case():
    assert validate.named("hardware", "H100", "hardware") is H.Cloud.H100
    assert validate.named("hardware", "h100", "hardware") is H.Cloud.H100
    assert validate.named("model", "llama3_8b", "models") is M.Language.Llama3_8B
    assert validate.named("datacenter", "Quebec", "datacenters", "grids") is I.Grids.Quebec
    assert validate.named("hardware", H.Cloud.A100, "hardware") is H.Cloud.A100  # objects pass through
    assert validate.named("hardware", None, "hardware") is None


def test_an_unknown_name_names_the_argument_and_suggests():
    with pytest.raises(InvalidInputError, match=r"hardware='H1000' is invalid: .*hardware entry; did you mean H100"):
        validate.named("hardware", "H1000", "hardware")
    with pytest.raises(InvalidInputError, match=r"model='H100' is invalid"):  # a name from another section
        validate.named("model", "H100", "models")


CALLS = [
    ("ServingModel", dict(model=M.Llama3_8B, hardware=H.H100, seq_len=2048), dict(model="Llama3_8B", hardware="H100")),
    ("SingleNodeModel", dict(model=M.ResNet50, hardware=H.A100), dict(model="ResNet50", hardware="a100")),
    (
        "DistributedModel",
        dict(model=M.Llama3_70B, fleet=C.Frontier_8K, batch_size=2048, tp_size=8, pp_size=8, microbatch_count=16),
        dict(model="Llama3_70B", fleet="Frontier_8K"),
    ),
    (
        "EconomicsModel",
        dict(fleet=C.Frontier_8K, duration_days=30, datacenter=I.Grids.Quebec, kwh_price=0.1),
        dict(fleet="Frontier_8K", datacenter="Quebec"),
    ),
    (
        "SustainabilityModel",
        dict(fleet=C.Frontier_8K, duration_days=30, datacenter=I.Grids.Quebec, grid=I.Grids.Poland),
        dict(fleet="frontier_8k", datacenter="Quebec", grid="Poland"),
    ),
    ("ReliabilityModel", dict(fleet=C.Frontier_8K, job_duration_hours=720), dict(fleet="Frontier_8K")),
]


@pytest.mark.parametrize("solver, objects, names", CALLS, ids=[c[0] for c in CALLS])
def test_every_solver_takes_catalog_names(solver, objects, names):
    cls = getattr(mlsysim, solver)
    with warnings.catch_warnings(action="ignore"):  # a solver's own notes, the same both ways
        by_object = cls().solve(**objects).to_dict()
        by_name = cls().solve(**{**objects, **names}).to_dict()
    assert by_name == by_object


def test_the_issue_reproduction_and_its_typo():
    r = mlsysim.ServingModel().solve("Llama3_8B", "H100", seq_len=2048)
    assert r.ttft == mlsysim.ServingModel().solve(M.Llama3_8B, H.H100, seq_len=2048).ttft
    with pytest.raises(InvalidInputError, match="model='Llama3_8b_x'.*did you mean Llama3_8B"):
        mlsysim.ServingModel().solve("Llama3_8b_x", "H100", seq_len=2048)


def test_a_model_entry_missing_fields_names_file_entry_and_fields(tmp_path, fresh_host):
    fresh_host()
    path = tmp_path / "lab.toml"
    path.write_text(
        textwrap.dedent("""
        [models.MyLM]
        name = "My LM"
        parameters = 8000000000
        layers = 32
        source = "test"
    """)
    )
    with pytest.raises(CatalogError) as info:
        mlsysim.load_catalog(path)
    msg = str(info.value)
    assert f"{path}:2: [models.MyLM]" in msg and "required fields are missing: heads, hidden_dim" in msg
    assert "TypeError" not in msg and "keyword-only" not in msg


def test_serve_given_a_cnn_says_so_in_one_line():
    cmd = [
        sys.executable,
        "-c",
        "from mlsysim_cli import main; main()",
        "serve",
        "ResNet50",
        "H100",
        "--seq-len",
        "2048",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 1 and out.stdout == ""
    (line,) = out.stderr.strip().splitlines()
    assert "is a CNN" in line and "use `mlsysim roofline` (SingleNodeModel)" in line, line
    assert "Traceback" not in out.stderr and "CNNWorkload(name=" not in line


def test_an_unbounded_range_is_written_open_at_infinity():
    """tokens=inf was refused with "expected a finite number in (0.0, inf]", a range that holds the value refused."""
    with pytest.raises(InvalidInputError, match=r"expected a finite number in \(0\.0, inf\)$"):
        validate.number("tokens", float("inf"), 0.0, float("inf"), low_open=True)
    with pytest.raises(InvalidInputError, match=r"expected a finite number in \(-inf, 1\.0\]$"):
        validate.number("x", 2.0, -float("inf"), 1.0)
    with pytest.raises(InvalidInputError, match=r"expected a finite number in \[0\.0, 1\.0\)$"):
        validate.number("x", 1.0, 0.0, 1.0, high_open=True)
