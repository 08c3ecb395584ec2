"""Purity of every installed built-in solver: ``solve()`` opens no socket and writes no file, and
the same input gives bit-identical output (``to_dict()`` as JSON) in separate processes."""

from __future__ import annotations

import builtins
import io
import json
import os
import pathlib
import socket
import subprocess
import sys
import warnings

import pytest

# Builds CALLS: (solver name, zero-argument callable doing one solve()). Run in this process and,
# as a script, in fresh interpreters (with different hash seeds) for the determinism check.
CALLS_SOURCE = r'''
import warnings
import mlsysim

warnings.simplefilter("ignore")
M, H, C = mlsysim.Models, mlsysim.Hardware, mlsysim.Systems.Clusters
DC = list(mlsysim.Infra.Datacenters)[0]
SPECS = [
    ("SingleNodeModel", lambda S: S().solve(M.Language.Llama3_8B, H.Cloud.H100, batch_size=8)),
    ("SingleNodeModel", lambda S: S().solve(M.Vision.ResNet50, H.Cloud.A100, batch_size=32, is_training=True)),
    ("SingleNodeModel", lambda S: S().solve(M.Language.Llama3_70B, H.Cloud.T4, batch_size=1, precision="fp32")),
    ("Engine", lambda S: S.solve(M.Vision.ResNet50, H.Cloud.H100)),
    ("ServingModel", lambda S: S().solve(M.Language.Llama3_8B, H.Cloud.H100, seq_len=2048, batch_size=8)),
    ("ServingModel", lambda S: S().solve(M.Language.Llama3_70B, H.Cloud.H100, seq_len=8192, batch_size=4, tp_size=4)),
    ("DistributedModel", lambda S: S().solve(M.Language.Llama3_70B, C.Frontier_8K, batch_size=1024, tp_size=8, pp_size=4)),
    ("EconomicsModel", lambda S: S().solve(C.Research_256, 30, datacenter=DC)),
    ("SustainabilityModel", lambda S: S().solve(C.Research_256, 30, datacenter=DC)),
    ("ReliabilityModel", lambda S: S().solve(C.Frontier_8K, 100)),
    ("PowerEfficiencyModel", lambda S: S().solve(H.Cloud.H100)),
]
CALLS = []
for name, call in SPECS:
    try:
        cls = getattr(mlsysim, name)
    except ImportError:
        continue
    CALLS.append((name, (lambda c=cls, f=call: f(c))))
'''

DUMP = CALLS_SOURCE + r'''
import json
print(json.dumps([[name, call().to_dict()] for name, call in CALLS], sort_keys=True, default=str))
'''


def _calls():
    ns: dict = {}
    exec(compile(CALLS_SOURCE, "<purity calls>", "exec"), ns)  # noqa: S102 - our own test source
    return ns["CALLS"]


def test_every_builtin_solver_is_exercised():
    names = {n for n, _ in _calls()}
    import mlsysim

    builtin = {"SingleNodeModel", "Engine", "ServingModel", "DistributedModel", "EconomicsModel",
               "SustainabilityModel", "ReliabilityModel"}
    assert builtin & set(mlsysim.solvers()) <= names


class Forbidden(AssertionError):
    pass


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def test_solve_opens_no_socket_and_writes_no_file(monkeypatch):
    calls = _calls()
    for _, call in calls:  # warm up: first use imports modules (which may write .pyc files)
        call()

    def refuse(what):
        def raiser(*args, **kwargs):
            raise Forbidden(f"solve() attempted {what}: {args[:2]!r}")
        return raiser

    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(c in str(mode) for c in "wax+"):
            raise Forbidden(f"solve() opened {file!r} for writing (mode {mode!r})")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & _WRITE_FLAGS:
            raise Forbidden(f"solve() os.open()ed {path!r} with write flags")
        return real_os_open(path, flags, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(socket.socket, "connect", refuse("socket.connect"))
        m.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
        m.setattr(socket.socket, "sendto", refuse("socket.sendto"))
        m.setattr(socket, "create_connection", refuse("socket.create_connection"))
        m.setattr(builtins, "open", guarded_open)
        m.setattr(io, "open", guarded_open)
        m.setattr(os, "open", guarded_os_open)
        m.setattr(pathlib.Path, "write_text", refuse("Path.write_text"))
        m.setattr(pathlib.Path, "write_bytes", refuse("Path.write_bytes"))
        m.setattr(pathlib.Path, "touch", refuse("Path.touch"))
        results = []
        for name, call in calls:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = call()
                results.append((name, json.dumps(r.to_dict(), sort_keys=True, default=str), r.explain()))
    assert len(results) == len(calls)
    with pytest.raises(Forbidden):  # the guards themselves work
        with monkeypatch.context() as m:
            m.setattr(builtins, "open", guarded_open)
            open(os.devnull, "w")


def _dump(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", DUMP], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_same_input_same_bits_across_processes():
    first, second = _dump("1"), _dump("2")
    assert first == second
    data = json.loads(first)
    assert len(data) == len(_calls())
    # and the same as in this process
    here = [[name, call().to_dict()] for name, call in _calls()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert json.dumps(here, sort_keys=True, default=str) == first.strip()
