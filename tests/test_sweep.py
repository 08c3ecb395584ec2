"""mlsysim.sweep / Solver.sweep: columns equal solve() point by point, invalid points masked with
solve()'s own message, shapes and units of the columns, the generic (loop) path, dask chunks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim_core.errors import InvalidInputError
from mlsysim_core.sweep import SweepResult

H, M = mlsysim.Hardware, mlsysim.Models
SWEEP_SETTINGS = settings(
    max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _solver_fields(result) -> dict:
    """Every public field of a Result as (kind, value): SI floats for physical fields."""
    import attrs

    out = {}
    for f in attrs.fields(type(result)):
        if f.name.startswith("_"):
            out[f.alias] = ("si", getattr(result, f.name))
        else:
            out[f.name] = ("plain", getattr(result, f.name))
    return out


def _same(a, b, rel: float = 0.0) -> bool:
    if a is None or b is None:
        return (a is None or (isinstance(a, float) and math.isnan(a))) and (
            b is None or (isinstance(b, float) and math.isnan(b))
        )
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if rel and isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel)
    return a == b


def assert_matches_solve(solver_cls, r: SweepResult, points: list[dict], rel: float = 0.0) -> None:
    """Row i of ``r`` is what ``solver_cls().solve(**points[i])`` returns (or raises): exactly, or
    within ``rel`` for solvers whose kernels call exp/log (numpy's and libm's may differ by an ulp)."""
    assert len(r) == len(points)
    solver = solver_cls()
    for i, kw in enumerate(points):
        try:
            res = solver.solve(**kw)
        except InvalidInputError as exc:
            assert not r.valid[i], (i, _short(kw))
            assert r.error[i] == str(exc), (i, _short(kw), r.error[i])
            for name in r.fields():
                if r.unit(name) is not None:
                    assert math.isnan(r.si(name)[i]), (name, _short(kw))
            continue
        assert r.valid[i] and r.error[i] == "", (i, _short(kw), r.error[i])
        for name, (_kind, expected) in _solver_fields(res).items():
            got = r.si(name)[i]
            got = got.item() if isinstance(got, np.generic) else got
            assert _same(got, expected, rel), f"point {i} {_short(kw)}: {name} sweep={got!r} solve={expected!r}"


def _short(kw: dict) -> dict:
    return {k: getattr(v, "name", v) for k, v in kw.items()}


def grid_points(grid: dict, vector: tuple) -> list[dict]:
    """The grid in sweep order: group axes (as given) outermost, vector axes innermost."""
    import itertools

    axes = {k: v for k, v in grid.items() if isinstance(v, (list, tuple, range, np.ndarray))}
    fixed = {k: v for k, v in grid.items() if k not in axes}
    is_int = lambda vs: all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in vs)  # noqa: E731
    is_float = lambda vs: all(isinstance(x, (float, np.floating)) for x in vs)  # noqa: E731
    group = [k for k in axes if not (k in vector and (is_int(axes[k]) or is_float(axes[k])))]
    vec = [k for k in axes if k not in group]
    points = []
    for g in itertools.product(*(axes[k] for k in group)):
        for v in itertools.product(*(axes[k] for k in vec)):
            kw = dict(fixed)
            kw.update(zip(group, g))
            kw.update({k: (int(x) if is_int(axes[k]) else float(x)) for k, x in zip(vec, v)})
            points.append(kw)
    return points


# --------------------------------------------------------------------------- SingleNodeModel

SN_MODELS = [
    M.Language.Llama3_8B,
    M.Language.Llama3_70B,
    M.Language.Mixtral_8x7B,
    M.Language.DeepSeek_V3,
    M.Language.GPT3,
    M.ResNet50,
    M.Language.BERT_Base,
]
SN_HARDWARE = [H.Cloud.H100, H.Cloud.A100, H.Cloud.T4, H.Cloud.Trainium1, H.Cloud.MI300X]
PRECISIONS = ["fp32", "fp16", "bf16", "fp8", "int8", "int4", "fp17"]


@SWEEP_SETTINGS
@given(
    models=st.lists(st.sampled_from(SN_MODELS), min_size=1, max_size=2, unique_by=id),
    hardware=st.lists(st.sampled_from(SN_HARDWARE), min_size=1, max_size=2, unique_by=id),
    precision=st.lists(st.sampled_from(PRECISIONS), min_size=1, max_size=2, unique=True),
    batch=st.lists(st.integers(-1, 4096), min_size=1, max_size=4),
    seq=st.one_of(st.none(), st.lists(st.integers(0, 300_000), min_size=1, max_size=3)),
    training=st.sampled_from([False, True, [False, True]]),
    zero=st.sampled_from([0, 1, 3]),
    efficiency=st.sampled_from([None, 0.45]),
    rc=st.sampled_from(["selective", "full", "none", True]),
)
def test_single_node_sweep_equals_solve(models, hardware, precision, batch, seq, training, zero, efficiency, rc):
    grid = dict(
        model=models,
        hardware=hardware,
        precision=precision,
        batch_size=batch,
        is_training=training,
        zero_stage=zero,
        dp_size=8,
        efficiency=efficiency,
        activation_recomputation=rc,
    )
    if seq is not None:
        grid["seq_len"] = seq
    r = mlsysim.SingleNodeModel.sweep(**grid)
    assert_matches_solve(mlsysim.SingleNodeModel, r, grid_points(grid, mlsysim.SingleNodeModel.sweep_vector))


def test_single_node_columns_shapes_and_units():
    batch = np.arange(1, 65)
    r = mlsysim.SingleNodeModel.sweep(
        model=[M.Language.Llama3_8B, M.ResNet50], hardware=H.Cloud.H100, batch_size=batch, precision=["fp16", "fp8"]
    )
    assert len(r) == 2 * 2 * 64 and r.valid.all()
    assert set(r.fields()) >= {"latency", "throughput", "bottleneck", "feasible", "mfu", "valid", "error", "model"}
    lat = r["latency"]
    assert lat.units == mlsysim.ureg.Unit("ms") and lat.shape == (256,)
    assert r["memory_footprint"].units == mlsysim.ureg.Unit("GB")
    assert r.columns["throughput"].to("1/s").magnitude.shape == (256,)
    # row order: group axes (model, precision) outermost in the order given, batch_size innermost
    assert list(r.batch_size[:64]) == list(batch) and set(r.model[:128]) == {M.Language.Llama3_8B.name}
    assert list(r.precision[:64]) == ["fp16"] * 64 and r.precision[64] == "fp8"
    assert r.bottleneck.dtype.kind in "UO" and r.feasible.dtype == bool
    assert np.all(np.diff(r["latency"].magnitude[:64]) > 0)  # bigger decode batch, longer step
    assert r.magnitude("latency")[5] == pytest.approx(lat.magnitude[5])
    assert "SingleNodeModel" in repr(r) and "256 points" in repr(r)


def test_invalid_points_are_masked_with_solve_message():
    r = mlsysim.sweep(
        "SingleNodeModel",
        model=M.Language.Llama3_8B,
        hardware=[H.Cloud.H100, H.Cloud.T4],
        batch_size=[0, 1, 8],
        seq_len=[1024, 10**6],
        precision="fp8",
    )
    assert len(r) == 12
    # T4 has no fp8 peak: the whole group is invalid; batch 0 and seq 10**6 are invalid points
    assert not r.valid[6:].any() and "precision" in r.error[6]
    assert r.valid[:6].tolist() == [False, False, True, False, True, False]
    assert r.error[0].startswith("batch_size=0 is invalid") and r.error[3].startswith("seq_len=1000000")
    assert np.isnan(r.si("latency")[~r.valid]).all() and not np.isnan(r.si("latency")[r.valid]).any()
    assert r.bottleneck[0] == "" and not r.feasible[0]
    assert r.batch_size.tolist() == [0, 0, 1, 1, 8, 8] * 2  # inputs are kept on invalid rows
    assert r.hardware[7] == H.Cloud.T4.name


def test_arguments_that_no_point_can_use_raise():
    with pytest.raises(InvalidInputError, match="batch"):
        mlsysim.SingleNodeModel.sweep(model=M.ResNet50, hardware=H.Cloud.H100, batch=[1, 2])
    with pytest.raises(TypeError, match="hardware"):
        mlsysim.SingleNodeModel.sweep(model=M.ResNet50, batch_size=[1, 2])
    with pytest.raises(InvalidInputError, match="chunk_size"):
        mlsysim.SingleNodeModel.sweep(model=M.ResNet50, hardware=H.Cloud.H100, batch_size=[1], chunk_size=0)
    with pytest.raises(InvalidInputError, match="at least one value"):
        mlsysim.SingleNodeModel.sweep(model=M.ResNet50, hardware=H.Cloud.H100, batch_size=[])
    with pytest.raises(mlsysim.SolverNotInstalledError):
        mlsysim.sweep("NoSuchModel", x=[1])
    # a misspelt solver name gets its close matches (it listed every solver, none suggested)
    with pytest.raises(mlsysim.SolverNotInstalledError, match=r"; did you mean ServingModel, SingleNodeModel\?$"):
        mlsysim.sweep("ServingMdel", x=[1])


def test_chunks_and_progress_do_not_change_the_answer():
    grid = dict(
        model=[M.Language.Llama3_8B, M.Language.Mixtral_8x7B],
        hardware=H.Cloud.H100,
        batch_size=np.arange(1, 200),
        seq_len=[0, 128, 4096],
    )
    whole = mlsysim.SingleNodeModel.sweep(**grid)
    seen = []
    parts = mlsysim.SingleNodeModel.sweep(
        chunk_size=97, progress=lambda done, total: seen.append((done, total)), **grid
    )
    assert seen[-1] == (len(whole), len(whole)) and len(seen) == math.ceil(len(whole) / 97)
    for name in whole.fields():
        a, b = whole.si(name), parts.si(name)
        assert a.tolist() == b.tolist() or np.array_equal(a, b, equal_nan=True), name


def test_to_pandas():
    r = mlsysim.SingleNodeModel.sweep(model=M.ResNet50, hardware=[H.Cloud.H100, H.Cloud.A100], batch_size=[1, 2, 4])
    pd = pytest.importorskip("pandas")
    df = r.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 6 and df.attrs["units"]["latency"] == "ms"
    assert df["latency"].tolist() == r["latency"].magnitude.tolist()


def test_to_polars():
    pl = pytest.importorskip("polars")
    r = mlsysim.SingleNodeModel.sweep(model=M.ResNet50, hardware=[H.Cloud.H100, H.Cloud.A100], batch_size=[1, 2, 4])
    df = r.to_polars()
    assert (
        isinstance(df, pl.DataFrame) and df.height == 6 and df["latency"].to_list() == r["latency"].magnitude.tolist()
    )


# --------------------------------------------------------------------------- the generic path


def test_solver_without_sweep_columns_is_swept_through_solve():
    """A third-party solver that does not subclass Solver (no sweep_columns) loops over solve()."""
    from mlsysim_power_efficiency import PowerEfficiencyModel

    class DuckSolver:  # solve() and nothing else
        def solve(self, hardware, precision=None):
            return PowerEfficiencyModel().solve(hardware, precision)

    assert not hasattr(DuckSolver, "sweep_columns")
    grid = dict(hardware=[H.Cloud.H100, H.Cloud.A100, H.Cloud.T4], precision=["fp16", "fp8", "fp17"])
    r = mlsysim.sweep(DuckSolver, **grid)
    assert_matches_solve(DuckSolver, r, grid_points(grid, ()))
    assert not r.valid.all() and r.valid.any()


# --------------------------------------------------------------------------- dask


def test_dask_local_cluster_equals_local_sweep():
    distributed = pytest.importorskip("dask.distributed")
    grid = dict(
        model=[M.Language.Llama3_8B, M.Language.Llama3_70B],
        hardware=[H.Cloud.H100, H.Cloud.A100],
        batch_size=np.arange(1, 300),
        seq_len=[128, 2048, 10**6],
    )
    local = mlsysim.SingleNodeModel.sweep(**grid)
    seen = []
    with distributed.Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None) as client:
        remote = mlsysim.SingleNodeModel.sweep(
            client=client, chunk_size=500, progress=lambda d, t: seen.append(d), **grid
        )
        again = mlsysim.SingleNodeModel.sweep(client=client, chunk_size=500, **grid)  # same grid twice: fresh keys
    assert again.si("latency").tolist() == remote.si("latency").tolist() or np.array_equal(
        again.si("latency"), remote.si("latency"), equal_nan=True
    )
    assert len(remote) == len(local) and seen[-1] == len(local) and len(seen) == math.ceil(len(local) / 500)
    for name in local.fields():
        a, b = local.si(name), remote.si(name)
        assert a.tolist() == b.tolist() or np.array_equal(a, b, equal_nan=True), name


# --------------------------------------------------------------------------- ServingModel

SV_MODELS = [
    M.Language.Llama3_8B,
    M.Language.Llama3_70B,
    M.Language.Mixtral_8x7B,
    M.Language.DeepSeek_V3,
    M.Language.GPT3,
]
SV_HARDWARE = [H.Cloud.H100, H.Cloud.A100, H.Cloud.T4, H.Cloud.MI300X, H.Cloud.Trainium1]


@SWEEP_SETTINGS
@given(
    models=st.lists(st.sampled_from(SV_MODELS), min_size=1, max_size=2, unique_by=id),
    hardware=st.lists(st.sampled_from(SV_HARDWARE), min_size=1, max_size=2, unique_by=id),
    precision=st.sampled_from(["fp16", "fp8", "int4", ["bf16", "fp8"]]),
    batch=st.lists(st.integers(0, 512), min_size=1, max_size=3),
    seq=st.lists(st.integers(0, 200_000), min_size=1, max_size=3),
    out=st.one_of(st.none(), st.lists(st.integers(0, 4096), min_size=1, max_size=2)),
    tp=st.sampled_from([1, [1, 2], [2, 3, 8], 16]),
    kv=st.sampled_from([None, "fp8"]),
)
def test_serving_sweep_equals_solve(models, hardware, precision, batch, seq, out, tp, kv):
    grid = dict(
        model=models, hardware=hardware, seq_len=seq, batch_size=batch, precision=precision, tp_size=tp, kv_precision=kv
    )
    if out is not None:
        grid["output_len"] = out
    r = mlsysim.ServingModel.sweep(**grid)
    assert_matches_solve(mlsysim.ServingModel, r, grid_points(grid, mlsysim.ServingModel.sweep_vector))


def test_serving_sweep_columns():
    r = mlsysim.sweep(
        "ServingModel",
        model=M.Language.Llama3_70B,
        hardware=H.Cloud.H100,
        seq_len=[512, 2048],
        batch_size=np.arange(1, 33),
        tp_size=[1, 2, 4, 8],
        output_len=256,
    )
    assert len(r) == 4 * 2 * 32 and r.valid.all()
    assert r["ttft"].units == mlsysim.ureg.Unit("ms") and r["tokens_per_second"].shape == (256,)
    assert r.tp_size.tolist()[::64] == [1, 2, 4, 8] and r.output_len[0] == 256
    one = r.feasible[r.tp_size == 1]
    assert one.dtype == bool and not one.all() and r.feasible[r.tp_size == 8].all()  # 70B fp16 needs > 1 H100


def test_catalog_objects_pickle_for_process_workers():
    import pickle

    objs = [H.Cloud.H100, M.Language.Llama3_8B, M.ResNet50, mlsysim.Systems.Clusters.Frontier_8K]
    back = pickle.loads(pickle.dumps(objs))
    assert back == objs
    assert back[0].compute.si.peaks["fp16"] == H.Cloud.H100.compute.si.peaks["fp16"]
    assert (
        mlsysim.SingleNodeModel().solve(back[1], back[0], batch_size=8).to_dict()
        == mlsysim.SingleNodeModel().solve(objs[1], objs[0], batch_size=8).to_dict()
    )


def test_distributed_sweep_with_an_invalid_first_group():
    import warnings

    L = M.Language
    grid = dict(
        model=L.Llama3_8B,
        fleet=mlsysim.Systems.Clusters.Frontier_8K,
        batch_size=[1024, 2048],
        tp_size=[3, 8],
        pp_size=[1, 4],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = mlsysim.sweep("DistributedModel", **grid)
        assert_matches_solve(mlsysim.DistributedModel, r, grid_points(grid, mlsysim.DistributedModel.sweep_vector))
    assert r.fields()[-2:] == ["valid", "error"] and r.fields()[0] != "valid"
    assert r["step_time"].units == mlsysim.ureg.Unit(r.unit("step_time")) and np.isnan(r.si("step_time")[0])


# --------------------------------------------------------------------------- the fleet solvers

FLEETS = [mlsysim.Systems.Clusters.Frontier_8K, mlsysim.Systems.Clusters.Research_256]
GRIDS = [None, mlsysim.Infra.Grids.Quebec, mlsysim.Infra.Grids.Poland]
TIMES = st.one_of(st.integers(-2, 10_000), st.floats(-1.0, 1e7), st.just(math.nan))


def _axis(values):
    """One value, or a list of ints or of floats (a vector axis) or of both (a group axis)."""
    return values[0] if len(values) == 1 else values


@SWEEP_SETTINGS
@given(
    model=st.lists(
        st.sampled_from([M.Language.Llama3_8B, M.Language.Llama3_70B, M.Language.Mixtral_8x7B, M.ResNet50]),
        min_size=1,
        max_size=2,
        unique_by=id,
    ),
    fleet=st.lists(st.sampled_from(FLEETS), min_size=1, max_size=2, unique_by=id),
    batch=st.lists(
        st.one_of(st.sampled_from([1, 32, 256, 512, 1024, 2048, 4096, 3000]), st.floats(1, 4096)),
        min_size=1,
        max_size=4,
    ),
    tp=st.lists(st.sampled_from([1, 2, 3, 8, 16]), min_size=1, max_size=2, unique=True),
    pp=st.lists(st.sampled_from([1, 2, 4]), min_size=1, max_size=2, unique=True),
    m=st.lists(st.integers(0, 20), min_size=1, max_size=3),
    seq=st.one_of(st.none(), st.lists(st.integers(-1, 10_000), min_size=1, max_size=3)),
    zero=st.sampled_from([0, 3]),
    rc=st.sampled_from(["selective", "full", "none"]),
    overlap=st.booleans(),
    tokens=st.sampled_from([None, 1e12]),
)
def test_distributed_sweep_equals_solve(model, fleet, batch, tp, pp, m, seq, zero, rc, overlap, tokens):
    import warnings

    grid = dict(
        model=model,
        fleet=fleet,
        batch_size=_axis(batch),
        tp_size=tp,
        pp_size=pp,
        microbatch_count=m,
        zero_stage=zero,
        activation_recomputation=rc,
        overlap_comm=overlap,
        tokens=tokens,
    )
    if seq is not None:
        grid["seq_len"] = seq
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = mlsysim.DistributedModel.sweep(**grid)
        assert_matches_solve(mlsysim.DistributedModel, r, grid_points(grid, mlsysim.DistributedModel.sweep_vector))


@SWEEP_SETTINGS
@given(
    fleet=st.lists(st.sampled_from(FLEETS), min_size=1, max_size=2, unique_by=id),
    days=st.lists(TIMES, min_size=1, max_size=3),
    util=st.lists(st.one_of(st.floats(-0.5, 1.5), st.sampled_from([0, 1])), min_size=1, max_size=3),
    price=st.one_of(st.none(), st.lists(st.floats(-0.1, 0.5), min_size=1, max_size=3)),
    grid_=st.lists(st.sampled_from(GRIDS), min_size=1, max_size=2, unique_by=id),
    cloud=st.sampled_from([None, 2.5]),
    mfu=st.sampled_from([None, 0.5]),
)
def test_economics_sweep_equals_solve(fleet, days, util, price, grid_, cloud, mfu):
    grid = dict(
        fleet=fleet,
        duration_days=_axis(days),
        utilization=_axis(util),
        datacenter=grid_,
        cloud_rate=cloud,
        mfu=mfu,
        host_cost=0,
    )
    if price is not None:
        grid["kwh_price"] = _axis(price)
    r = mlsysim.EconomicsModel.sweep(**grid)
    assert_matches_solve(mlsysim.EconomicsModel, r, grid_points(grid, mlsysim.EconomicsModel.sweep_vector))


@SWEEP_SETTINGS
@given(
    fleet=st.lists(st.sampled_from(FLEETS), min_size=1, max_size=2, unique_by=id),
    days=st.lists(TIMES, min_size=1, max_size=3),
    util=st.lists(st.one_of(st.floats(-0.5, 1.5), st.sampled_from([0, 1])), min_size=1, max_size=3),
    grid_=st.lists(st.sampled_from(GRIDS), min_size=1, max_size=2, unique_by=id),
    embodied=st.sampled_from([None, True, False]),
    pue=st.sampled_from([None, 1.2, 0.5]),
)
def test_sustainability_sweep_equals_solve(fleet, days, util, grid_, embodied, pue):
    grid = dict(
        fleet=fleet, duration_days=_axis(days), utilization=_axis(util), datacenter=grid_, embodied=embodied, pue=pue
    )
    r = mlsysim.SustainabilityModel.sweep(**grid)
    assert_matches_solve(mlsysim.SustainabilityModel, r, grid_points(grid, mlsysim.SustainabilityModel.sweep_vector))


@SWEEP_SETTINGS
@given(
    fleet=st.lists(st.sampled_from(FLEETS), min_size=1, max_size=2, unique_by=id),
    hours=st.lists(TIMES, min_size=1, max_size=4),
    ckpt=st.lists(st.one_of(st.integers(-1, 100_000), st.floats(0.0, 1e9)), min_size=1, max_size=4),
    interval=st.sampled_from([None, 600.0, -1.0]),
    fleet_mtbf=st.sampled_from([None, 1e-3, 5.0, 1e-300]),
)
def test_reliability_sweep_equals_solve(fleet, hours, ckpt, interval, fleet_mtbf):
    grid = dict(
        fleet=fleet,
        job_duration_hours=_axis(hours),
        checkpoint_time_s=_axis(ckpt),
        checkpoint_interval=interval,
        fleet_mtbf=fleet_mtbf,
    )
    r = mlsysim.ReliabilityModel.sweep(**grid)
    # exp/expm1/log: numpy's and libm's may differ in the last bit
    assert_matches_solve(
        mlsysim.ReliabilityModel, r, grid_points(grid, mlsysim.ReliabilityModel.sweep_vector), rel=1e-12
    )


# --------------------------------------------------------------------------- the protocol


@pytest.mark.parametrize(
    "name",
    [
        "SingleNodeModel",
        "ServingModel",
        "DistributedModel",
        "EconomicsModel",
        "SustainabilityModel",
        "ReliabilityModel",
    ],
)
def test_builtin_solvers_implement_the_protocol(name):
    from mlsysim_core.results import Result
    from mlsysim_core.solver import Solver

    cls = getattr(mlsysim, name)
    assert issubclass(cls, Solver) and cls.name == name
    assert issubclass(cls.produces, Result) and cls.consumes and all(isinstance(t, type) for t in cls.consumes)
    assert cls.sweep_vector and cls.sweep_columns is not Solver.sweep_columns  # vectorized, not the solve() loop


def test_solver_declarations_are_checked_at_class_definition():
    from mlsysim_core.solver import Solver

    with pytest.raises(TypeError, match="consumes"):
        type("Bad", (Solver,), {"name": "Bad", "consumes": ("Fleet",)})
    with pytest.raises(TypeError, match="sweep_vector"):
        type("Bad", (Solver,), {"name": "Bad", "sweep_vector": ("nope",), "solve": lambda self, x=1: None})
    with pytest.raises(TypeError, match="name"):
        type("Bad", (Solver,), {})


def test_a_subclass_with_only_solve_sweeps_through_it():
    import attrs

    from mlsysim_core.results import Result, measure, result
    from mlsysim_core.solver import Solver

    @result("Doubler")
    class Doubled(Result):
        twice = measure("s")
        label: str = attrs.field()

    class Doubler(Solver):
        name = "Doubler"
        produces = Doubled
        sweep_vector = ("x",)

        def solve(self, x: float, label: str = "a") -> Doubled:
            if x < 0:
                raise InvalidInputError("x", x, "a number >= 0")
            return Doubled(twice=2.0 * x, label=label)

    r = Doubler.sweep(x=[1.0, -1.0, 3.0], label=["a", "b"])
    twice = r.si("twice")
    assert twice[0] == 2.0 and twice[2] == 6.0 and math.isnan(twice[1])
    assert list(r.valid) == [True, False, True] * 2 and r.error[1] == str(InvalidInputError("x", -1.0, "a number >= 0"))
    assert list(r.label) == ["a", "a", "a", "b", "b", "b"]


def test_prepared_cache_keys_on_identity_and_keeps_solve_pure():
    import warnings

    from mlsysim_core.solver import PreparedCache

    calls = []
    cache = PreparedCache(lambda *a: calls.append(a) or len(calls), size=2)
    big = 10**20
    assert cache(1, "x", big) == cache(1, "x", big) == 1 and len(calls) == 1  # the same objects: one preparation
    assert cache(True, "x", big) == 2  # True == 1 but is another object: prepared again, so checked again
    cache(3, "x", big)
    assert cache(1, "x", big) == 4  # full: cleared, prepared again
    with pytest.raises(ZeroDivisionError):  # a preparation that raises caches nothing
        PreparedCache(lambda x: 1 / x)(0)

    # DistributedModel: a cached preparation still warns on every call; results do not share a dict
    L, fleet = M.Language.Llama3_70B, mlsysim.Systems.Clusters.Frontier_8K
    d = mlsysim.DistributedModel()
    for _ in range(2):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            r = d.solve(L, fleet, batch_size=1024, tp_size=16)
        assert any("larger than a node" in str(w.message) for w in seen)
    r.parallelism["dp"] = -1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert d.solve(L, fleet, batch_size=1024, tp_size=16).parallelism["dp"] == 512


@pytest.mark.parametrize("name", ["EconomicsModel", "SustainabilityModel"])
def test_fleet_solvers_sweep_catalog_names_as_solve_takes_them(name: str) -> None:
    """solve("Research_256", datacenter="US_Avg") answered; its sweep refused every point ('expected a Fleet')."""
    model = getattr(mlsysim, name)
    sw = model.sweep(fleet=["research_256", "Nope"], duration_days=[30.0], datacenter="US_Avg")
    assert list(sw.valid) == [True, False] and "fleet='Nope' is invalid" in sw["error"][1]
    solved = model().solve("Research_256", duration_days=30, datacenter="US_Avg")
    assert sw.si("it_energy")[0] == solved.si("it_energy")
