"""The contract every solver plugin passes, as a pytest plugin (entry point ``pytest11`` ``mlsysim``).

A plugin's test module subclasses :class:`SolverContract`, names its solver, distribution and README,
and says what ``solve()`` takes: ``arguments()`` (name -> (valid values, required?)), ``examples()``
(a few valid calls) and ``sweep_grid()`` (each list one sweep axis). A worked example:
``templates/solver-plugin/tests/test_contract.py``.

The inherited tests check: discovery through the real entry point (name, distribution, the
:class:`~mlsysim_core.solver.Solver` protocol); that the plugin imports only the host; fuzzing
(valid arguments mixed with up to three hostile
values: every call returns a Result whose measured fields are non-negative, finite for physical
inputs and of their declared dimension, or raises InvalidInputError naming an argument of ``solve()``);
purity (no socket, no file written, the same JSON in two fresh processes); the sweep equals
``solve()`` point by point, invalid points carrying solve()'s message; every ``python`` block of the
README runs. Fuzz cases per solver: ``--mlsysim-fuzz-cases`` (default 10,000).
"""

from __future__ import annotations

import builtins
import inspect
import io
import json
import math
import os
import pathlib
import pickle
import random
import re
import socket
import subprocess
import sys
import warnings
from typing import Any, ClassVar

#: Values of a wrong type for (nearly) every argument.
_BAD_TYPES: tuple[Any, ...] = (None, "", "1", "H100", "10 GB", [], [1], {}, (), True, False, object())
#: Non-finite, zero, negative, huge, subnormal and complex numbers.
_BAD_NUMBERS = (math.nan, math.inf, -math.inf, 0, -1, 0.0, -1.5, 1e308, -1e308, 5e-324, 10**30, 2**63, 2**1000, 1 + 1j)
_BAD_UNITS = ("s", "h", "GB", "USD", "W", "kg", "1/s", "TFLOP/s", "USD/kWh", "")
_DUMP = """
import json, pickle, sys, warnings
from mlsysim_core.plugins import get_solver
warnings.simplefilter("ignore")
name, calls = pickle.loads(sys.stdin.buffer.read())
print(json.dumps([get_solver(name)().solve(**kw).to_dict() for kw in calls], sort_keys=True, default=str))
"""


def pytest_addoption(parser: Any) -> None:
    parser.addoption(
        "--mlsysim-fuzz-cases",
        type=int,
        default=10_000,
        help="solve() calls per solver in the mlsysim contract fuzz test (default 10,000)",
    )


def num(lo: float, hi: float, n: int = 40, seed: int = 1) -> list[float]:
    """Floats in [lo, hi]: both edges, the middle and ``n`` log-spaced (or uniform) samples."""
    rng = random.Random(seed)
    low = lo if lo > 0 else min(hi * 1e-9, 1e-9)
    wide = hi / low > 100
    return [lo, hi, (lo + hi) / 2] + [
        math.exp(rng.uniform(math.log(low), math.log(hi))) if wide else rng.uniform(lo, hi) for _ in range(n)
    ]


def ints(lo: int, hi: int, n: int = 40, seed: int = 1) -> list[int]:
    """Integers in [lo, hi]: both edges and ``n`` log-spread samples."""
    rng = random.Random(seed)
    drawn = [int(math.exp(rng.uniform(0, math.log(hi - lo + 1)))) + lo - 1 for _ in range(n)]
    return [lo, hi] + [min(max(v, lo), hi) for v in drawn]


def qnum(lo: float, hi: float, unit: str, n: int = 20) -> list[Any]:
    """Quantities in [lo, hi] ``unit``."""
    from .units import Q_

    return [Q_(x, unit) for x in num(lo, hi, n)]


def catalog_values(section: str) -> list[Any]:
    """Every value of one catalog section (``hardware``, ``models``, ``clusters``, ``grids`` ...)."""
    from .plugins import catalog

    return [e.value for e in catalog().entries[section].values()]


def precisions() -> list[str]:
    """Every precision name the host knows."""
    from .types import PRECISION_BYTES

    return sorted(PRECISION_BYTES)


def extreme_hardware() -> list[Any]:
    """Conceivable but extreme parts: a 1 FLOP/s microcontroller, a million H100s in one, one without
    power, price or links (the types accept them, so a solver must cope)."""
    import attrs

    from .plugins import catalog
    from .types import PRECISION_BYTES, ComputeCore, MemoryHierarchy

    h100 = catalog().entries["hardware"]["H100"].value
    return [
        attrs.evolve(
            h100,
            name="tiny",
            compute=ComputeCore(precision_flops={"fp16": "1 FLOP/s", "fp32": "1 FLOP/s"}),
            memory=MemoryHierarchy(capacity="1 B", bandwidth="1 B/s"),
            tdp="1 mW",
            unit_cost="0.01 USD",
            embodied_carbon="1 g",
            dispatch_tax="0 s",
        ),
        attrs.evolve(
            h100,
            name="huge",
            compute=ComputeCore(precision_flops={p: "1e21 FLOP/s" for p in PRECISION_BYTES}),
            memory=MemoryHierarchy(capacity="1e15 B", bandwidth="1e18 B/s"),
            tdp="1 MW",
            unit_cost="1e9 USD",
            embodied_carbon="1e6 kg",
            dispatch_tax="1 s",
        ),
        attrs.evolve(
            h100,
            name="no power or price",
            tdp=None,
            unit_cost=None,
            embodied_carbon=None,
            scale_up=None,
            interconnect=None,
        ),
    ]


def extreme_models() -> list[Any]:
    """A one-parameter transformer, a 17-trillion-parameter one, a 1,024-expert MoE, bare workloads."""
    from .types import TransformerWorkload, Workload

    return [
        TransformerWorkload(name="one", parameters=1, layers=1, hidden_dim=1, heads=1),
        TransformerWorkload(
            name="vast",
            parameters=2**44,
            layers=2**10,
            hidden_dim=2**17,
            heads=2**10,
            kv_heads=1,
            vocab_size=2**20,
            max_seq_len=2**24,
            ffn_dim=2**19,
        ),
        TransformerWorkload(
            name="moe",
            parameters=10**12,
            layers=64,
            hidden_dim=8192,
            heads=64,
            kv_heads=8,
            experts=2**10,
            active_experts=1,
            active_parameters=10**9,
        ),
        Workload(name="bare", parameters=1),
        Workload(name="flops only", parameters=10**9, flops_per_sample="1e18 FLOP", activations_per_sample=2**40),
    ]


def extreme_fleets() -> list[Any]:
    """Fleets of one node of one GPU, of a 1 FLOP/s part failing every second, of 2**20 huge nodes, of
    parts without power or price, and a catalog cluster failing every second."""
    import attrs

    from .plugins import catalog
    from .types import Component, Fleet, Node

    cat = catalog().entries
    h100 = cat["hardware"]["H100"].value
    tiny, huge, bare = extreme_hardware()
    fabrics, dcs = [e.value for e in cat["fabrics"].values()], [e.value for e in cat["datacenters"].values()]

    def fleet(hw: Any, per_node: int, count: int, fabric: Any = None, dc: Any = None, **node_kw: Any) -> Any:
        node = Node(name="n", accelerator=hw, accelerators_per_node=per_node, source="test", **node_kw)
        return Fleet(name="f", node=node, count=count, fabric=fabric, datacenter=dc, source="test")

    first = next(iter(cat["clusters"].values())).value
    return [
        fleet(h100, 1, 1),
        fleet(
            tiny, 1, 1, power_max="1 mW", host_cost="0 USD", components=(Component(part="gpu", count=1, mttf="1 s"),)
        ),
        fleet(
            huge,
            64,
            2**20,
            fabrics[0],
            dcs[0],
            power_max="10 MW",
            host_cost="1e9 USD",
            components=(Component(part="gpu", count=2**10, mttf="1e9 h"),),
        ),
        fleet(bare, 8, 4, fabrics[-1], dcs[-1]),
        attrs.evolve(first, datacenter=dcs[0], mtbf="1 s"),
    ]


def bad_values() -> list[Any]:
    """Hostile values for any argument (the fuzz test mixes up to three of them into each call)."""
    from .units import Q_

    rng = random.Random(20261202)
    out = [*_BAD_TYPES, *_BAD_NUMBERS]
    out += [rng.choice((-1, 1)) * 10 ** rng.uniform(-320, 308) for _ in range(30)]
    out += [
        Q_(rng.choice((math.nan, math.inf, -1.0, 0.0, 1e308, rng.uniform(-1e6, 1e6))), rng.choice(_BAD_UNITS))
        for _ in range(30)
    ]
    return out


def impostor_results(fields: tuple[tuple[str, str], ...]) -> list[Any]:
    """Duck-typed stand-ins for another solver's result (consumers read results by field): each
    ``(field, unit)`` with hostile magnitudes, a wrong unit and a plain number."""
    from types import SimpleNamespace

    from .units import Q_

    out = [SimpleNamespace(**{f: Q_(v, u)}) for f, u in fields for v in (math.nan, math.inf, -1.0, 0.0, 1e-9, 1e9)]
    return out + [SimpleNamespace(**{f: Q_(1, "GB")}) for f, _ in fields] + [SimpleNamespace(**{fields[0][0]: 5.0})]


def _absurd(value: Any, depth: int = 0) -> bool:
    """A number outside 0 or [1e-30, 1e30] in magnitude anywhere in ``value``: results may then be +inf."""
    m = getattr(value, "magnitude", value)
    if depth > 3 or isinstance(m, (bool, str)) or m is None:
        return False
    if isinstance(m, (int, float)):
        return m != 0 and not 1e-30 <= abs(m) <= 1e30
    if isinstance(m, dict):
        return any(_absurd(v, depth + 1) for v in m.values())
    if isinstance(m, (list, tuple)):
        return any(_absurd(v, depth + 1) for v in m)
    return False


def check_result(r: Any, inf_ok: bool = False, where: str = "") -> None:
    """Every measured field non-negative, not NaN, finite unless ``inf_ok`` (or the result is infeasible:
    the work never completes), of its declared dimension; plain float fields likewise; to_dict() is JSON."""
    import attrs
    import numpy as np

    from .results import _UNIT_KEY, Result
    from .units import unit_and_factor

    assert isinstance(r, Result), f"solve() returned {type(r).__name__}, not a Result"
    inf_ok = inf_ok or getattr(r, "feasible", True) is False
    for f in attrs.fields(type(r)):  # type: ignore[arg-type]  # @result made it an attrs class
        meta = f.metadata or {}
        v = getattr(r, f.name)
        name = f"{where}{f.alias}"
        if _UNIT_KEY in meta and v is not None:
            a = np.asarray(v, dtype=float)
            assert not np.isnan(a).any() and (a >= 0).all(), f"{name} = {v!r}"
            assert inf_ok or np.isfinite(a).all(), f"{name} = {v!r} is not finite"
            q = getattr(r, f.alias)
            unit = unit_and_factor(meta[_UNIT_KEY])[0]
            assert q.dimensionality == unit.dimensionality, f"{name}: {q.units} is not {unit}"
        elif isinstance(v, (float, np.floating)):
            assert v >= 0 and (math.isfinite(v) or (inf_ok and v == math.inf)), f"{name} = {v!r}"
        elif isinstance(v, Result):
            check_result(v, inf_ok, f"{name}.")
    if not inf_ok:  # the plain-data view is JSON (+inf, allowed above, is not)
        json.dumps(r.to_dict(), allow_nan=False, default=str)


class _Forbidden(AssertionError):
    pass


class SolverContract:
    """Base class of a plugin's contract test; see the module documentation."""

    solver: ClassVar[str] = ""
    distribution: ClassVar[str] = ""
    readme: ClassVar[pathlib.Path | None] = None
    #: flags that turn an infeasible answer into InfeasibleError (allowed only when set True)
    strict_flags: ClassVar[tuple[str, ...]] = ("raise_errors", "strict")
    #: arguments that take another solver's result (errors may then name ``result.<field>``)
    result_arguments: ClassVar[tuple[str, ...]] = ()

    def arguments(self) -> dict[str, tuple[list, bool]]:
        """name -> (valid values, required?) for every ``solve()`` argument worth fuzzing."""
        raise NotImplementedError(f"{type(self).__name__}.arguments()")

    def examples(self) -> list[dict[str, Any]]:
        """A few valid ``solve()`` calls (keyword arguments)."""
        raise NotImplementedError(f"{type(self).__name__}.examples()")

    def sweep_grid(self) -> dict[str, Any]:
        """A sweep grid: lists are axes, each compared point by point with ``solve()``."""
        raise NotImplementedError(f"{type(self).__name__}.sweep_grid()")

    def never_completes(self, result: Any) -> bool:
        """True for an answer that says the work cannot finish (its times may then be +inf, never NaN);
        infeasible results are such answers already."""
        return False

    def solver_class(self) -> type:
        from .plugins import get_solver

        return get_solver(self.solver)

    # ------------------------------------------------------------------ the contract
    def test_discovered_through_entry_point(self) -> None:
        from .plugins import solvers
        from .solver import Solver

        spec = solvers()[self.solver]
        assert spec.distribution == self.distribution, spec
        cls = self.solver_class()
        assert issubclass(cls, Solver) and cls.name == self.solver, cls
        assert all(isinstance(t, type) for t in cls.consumes) and isinstance(cls.produces, type), cls

    def test_fuzz(self, request: Any) -> None:
        from .errors import InfeasibleError, InvalidInputError

        cls = self.solver_class()
        solve = cls.solve  # type: ignore[attr-defined]  # a Solver (test_discovered_through_entry_point)
        params = set(inspect.signature(solve).parameters) - {"self", "kwargs"}
        spec, bad = self.arguments(), bad_values()
        rng = random.Random(f"{self.solver}-fuzz")
        cases = request.config.getoption("--mlsysim-fuzz-cases", 10_000)
        for case in range(cases):
            kwargs = {n: rng.choice(vals) for n, (vals, req) in spec.items() if req or rng.random() < 0.5}
            for name in rng.sample(sorted(spec), min(rng.randrange(4), len(spec))):
                kwargs[name] = rng.choice(bad)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # a solver's own notes are output
                    warnings.simplefilter("error", RuntimeWarning)  # numpy overflow/invalid is a defect
                    try:
                        r = cls().solve(**kwargs)
                    except InvalidInputError as exc:
                        root = re.match(r"[A-Za-z_]\w*", str(exc.argument))
                        root_name = root.group(0) if root else ""
                        assert root_name in params or (
                            root_name == "result" and any(a in kwargs for a in self.result_arguments)
                        ), f"InvalidInputError names {exc.argument!r}, not an argument of {self.solver}.solve: {exc}"
                        continue
                    except InfeasibleError:
                        assert any(kwargs.get(f) is True for f in self.strict_flags), "InfeasibleError without strict"
                        continue
                    check_result(r, inf_ok=self.never_completes(r) or any(_absurd(v) for v in kwargs.values()))
            except Exception as exc:
                shown = {k: getattr(v, "name", v) for k, v in kwargs.items()}
                exc.add_note(f"case {case}: {self.solver}.solve(**{shown!r:.2000})")
                raise

    def test_pure(self, monkeypatch: Any) -> None:
        with warnings.catch_warnings(action="ignore", category=UserWarning):
            self._pure(monkeypatch)

    def _pure(self, monkeypatch: Any) -> None:
        calls = self.examples()
        cls = self.solver_class()
        for kw in calls:  # first use imports modules, which may write .pyc files
            cls().solve(**kw)

        def refuse(what: str) -> Any:
            def raiser(*args: Any, **kwargs: Any) -> Any:
                raise _Forbidden(f"solve() attempted {what}")

            return raiser

        real_open = builtins.open

        def guarded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            if any(c in str(mode) for c in "wax+"):
                raise _Forbidden(f"solve() opened {file!r} for writing")
            return real_open(file, mode, *args, **kwargs)

        with monkeypatch.context() as m:
            for name in ("connect", "connect_ex", "sendto"):
                m.setattr(socket.socket, name, refuse(f"socket.{name}"))
            m.setattr(socket, "create_connection", refuse("socket.create_connection"))
            m.setattr(builtins, "open", guarded_open)
            m.setattr(io, "open", guarded_open)
            m.setattr(pathlib.Path, "write_text", refuse("Path.write_text"))
            m.setattr(pathlib.Path, "write_bytes", refuse("Path.write_bytes"))
            here = [cls().solve(**kw).to_dict() for kw in calls]
        mine = json.dumps(here, sort_keys=True, default=str)
        payload = pickle.dumps((self.solver, calls))
        for seed in ("1", "2"):
            env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONDONTWRITEBYTECODE": "1"}
            out = subprocess.run(
                [sys.executable, "-c", _DUMP], input=payload, capture_output=True, env=env, timeout=300, check=False
            )
            assert out.returncode == 0, out.stderr.decode()[-3000:]
            assert out.stdout.decode().strip() == mine, f"{self.solver}: another process gave other bits"

    def test_sweep_equals_solve(self) -> None:
        with warnings.catch_warnings(action="ignore", category=UserWarning):  # a solver's own notes
            self._sweep_equals_solve()

    def _sweep_equals_solve(self) -> None:
        import numpy as np

        from .errors import InvalidInputError

        cls = self.solver_class()
        grid = self.sweep_grid()
        axes = [k for k, v in grid.items() if isinstance(v, list)]
        assert axes, "sweep_grid() must have at least one list (an axis)"
        base = {k: (v[0] if isinstance(v, list) else v) for k, v in grid.items()}
        for axis in axes:
            values = grid[axis]
            swept = cls.sweep(**{**base, axis: values})  # type: ignore[attr-defined]  # a Solver
            assert len(swept) == len(values)
            for i, value in enumerate(values):
                kw = {**base, axis: value}
                try:
                    r = cls().solve(**kw)
                except InvalidInputError as exc:
                    assert not swept.valid[i] and swept.error[i] == str(exc), (axis, value, swept.error[i])
                    continue
                assert swept.valid[i], (axis, value, swept.error[i])
                for name in swept.fields():
                    if name in ("valid", "error") or name not in r.fields():
                        continue
                    want, got = getattr(r, name), swept[name][i]
                    if hasattr(want, "magnitude"):
                        want, got = want.to(swept.unit(name)).magnitude, got.magnitude
                    case = (axis, value, name, got, want)
                    if isinstance(want, float) or isinstance(got, (float, np.floating)):
                        assert (want is None and np.isnan(got)) or np.isclose(got, want, rtol=1e-9, atol=0), case
                    elif want is not None and not hasattr(want, "fields"):
                        assert got == want or getattr(want, "name", None) == got, case

    def test_imports_only_the_host(self) -> None:
        """The plugin's package imports the host distribution's packages (``mlsysim_core`` ...) and
        itself, never another plugin or the public face ``mlsysim``: it runs with the host alone."""
        import ast
        import importlib
        from importlib.metadata import packages_distributions

        package = self.solver_class().__module__.split(".")[0]
        host = {top for top, dists in packages_distributions().items() if "mlsysim-core" in dists} - {"mlsysim"}
        root = pathlib.Path(importlib.import_module(package).__file__ or "").parent
        for path in sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and not node.level
                    else []
                )
                for name in names:
                    top = name.split(".")[0]
                    assert not top.startswith("mlsysim") or top in host or top == package, (
                        f"{path.name} imports {name}: a plugin may import only the host distribution ({sorted(host)})"
                    )

    def test_readme_examples_run(self) -> None:
        if self.readme is None:
            import pytest

            pytest.skip(f"{type(self).__name__} names no README")
        blocks = re.findall(r"```python\n(.*?)```", pathlib.Path(self.readme).read_text(), re.S)
        assert blocks, f"{self.readme} has no python example"
        for block in blocks:
            exec(compile(block, str(self.readme), "exec"), {})  # noqa: S102 - the plugin's own README
