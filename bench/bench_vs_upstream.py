"""The same calls timed on upstream mlsysim 0.1.1 and on this rebuild, in one run; speedup per call.

    .venv/bin/python bench/bench_vs_upstream.py [--venv DIR] [-n CALLS]

Upstream is installed into a scratch virtualenv (default /tmp/mlsysim-upstream-venv, created with
``pip install mlsysim==0.1.1`` when missing; never a dependency of this project). Each side runs the
same snippet in its own interpreter: the user guide's examples (solve, and solve + reading a
Quantity the way the guide prints it), one bench call per solver, a 512-configuration single-node
grid (upstream: a loop over solve(); here: SingleNodeModel.sweep) and ``import mlsysim`` in a fresh
interpreter. Median microseconds of N calls after a warm-up (time.perf_counter_ns).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

DEFAULT_VENV = Path("/tmp/mlsysim-upstream-venv")

# Runs under either package. UPSTREAM tells the two apart where their signatures differ.
SNIPPET = r"""
import json, statistics, sys, time, warnings
warnings.simplefilter("ignore")
import mlsysim
UPSTREAM = mlsysim.__version__.startswith("0.1")
H, L, M = mlsysim.Hardware.Cloud, mlsysim.Models.Language, mlsysim.Models
fleet = mlsysim.Systems.Clusters.Frontier_8K
quebec, poland = mlsysim.Infra.Grids.Quebec, mlsysim.Infra.Grids.Poland
sn, sv, dist = mlsysim.SingleNodeModel(), mlsysim.ServingModel(), mlsysim.DistributedModel()
econ, sust, rel = mlsysim.EconomicsModel(), mlsysim.SustainabilityModel(), mlsysim.ReliabilityModel()
# upstream prices at a default; this catalog states no host price for Frontier's nodes: give one
econ_extra = {} if UPSTREAM or fleet.node.host_cost is not None else {"host_cost": 0}
targets = [H.T4, H.A100, H.H100, H.B200]

def grid_loop():
    out = []
    for model in (M.ResNet50, L.Llama3_8B):
        for hw in targets:
            for b in range(1, 65):
                out.append(sn.solve(model=model, hardware=hw, batch_size=b).latency)
    return out

def grid_sweep():
    return mlsysim.SingleNodeModel.sweep(model=[M.ResNet50, L.Llama3_8B], hardware=targets,
                                         batch_size=list(range(1, 65)))["latency"]

CASES = [
    ("guide: SingleNode ResNet50/A100 bs=1", lambda: sn.solve(model=M.ResNet50, hardware=H.A100, batch_size=1)),
    ("guide: ... + latency.to('ms')",
     lambda: sn.solve(model=M.ResNet50, hardware=H.A100, batch_size=1).latency.to("ms")),
    ("guide: Serving Llama3_8B/H100 2048 bs=1",
     lambda: sv.solve(model=L.Llama3_8B, hardware=H.H100, seq_len=2048, batch_size=1)),
    ("guide: ... + ttft.to('ms')",
     lambda: sv.solve(model=L.Llama3_8B, hardware=H.H100, seq_len=2048, batch_size=1).ttft.to("ms")),
    ("guide: Distributed 70B Frontier_8K tp8 pp4 m16", lambda: dist.solve(
        model=L.Llama3_70B, fleet=fleet, batch_size=2048, tp_size=8, pp_size=4, microbatch_count=16)),
    ("guide: 4-GPU ResNet50 bs=32 loop + to('ms')", lambda: [
        sn.solve(model=M.ResNet50, hardware=hw, batch_size=32).latency.to("ms") for hw in targets]),
    ("SingleNodeModel(Llama3_8B, H100, bs=32)", lambda: sn.solve(L.Llama3_8B, H.H100, batch_size=32)),
    ("ServingModel(Llama3_70B, H100, 2048, bs=8)", lambda: sv.solve(L.Llama3_70B, H.H100, seq_len=2048, batch_size=8)),
    ("DistributedModel(70B, Frontier_8K, tp8 pp8 m16, B=4096)", lambda: dist.solve(
        L.Llama3_70B, fleet, batch_size=4096, tp_size=8, pp_size=8, microbatch_count=16)),
    ("EconomicsModel(Frontier_8K, 90 d, Quebec)",
     lambda: econ.solve(fleet, 90, kwh_price=0.06, datacenter=quebec, **econ_extra)),
    ("SustainabilityModel(Frontier_8K, 30 d, Poland)", lambda: sust.solve(fleet, 30, poland)),
    ("ReliabilityModel(Frontier_8K, 720 h)", lambda: rel.solve(fleet, 720)),
    ("grid: 2 models x 4 GPUs x 64 batches (512 configs)", grid_loop if UPSTREAM else grid_sweep),
]

n = int(sys.argv[1])
out = {}
for label, fn in CASES:
    reps = max(5, n // 50) if label.startswith("grid") or "loop" in label else n
    for _ in range(min(reps, 50)):
        fn()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    out[label] = statistics.median(samples) / 1e3
print(json.dumps(out))
"""

# ``import mlsysim`` here is lazy; the fair cold-start figure is the first answer.
IMPORT_SNIPPET = """import time, warnings
warnings.simplefilter("ignore")
t = time.perf_counter()
import mlsysim
t1 = time.perf_counter()
mlsysim.SingleNodeModel().solve(mlsysim.Models.ResNet50, mlsysim.Hardware.Cloud.A100)
t2 = time.perf_counter()
print((t1 - t) * 1e6, (t2 - t) * 1e6)"""


def ensure_upstream(venv: Path) -> Path:
    python = venv / "bin" / "python"
    ok = (
        python.exists()
        and subprocess.run(
            [str(python), "-c", "import mlsysim, sys; sys.exit(mlsysim.__version__ != '0.1.1')"], capture_output=True
        ).returncode
        == 0
    )
    if not ok:
        print(f"installing mlsysim==0.1.1 into {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "mlsysim==0.1.1"], check=True
        )
    return python


def run(python: str, n: int, cwd: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run([python, "-c", SNIPPET, str(n)], capture_output=True, text=True, cwd=cwd, env=env)
    if res.returncode != 0:
        raise SystemExit(f"{python} failed:\n{res.stderr[-3000:]}")
    times = json.loads(res.stdout.strip().splitlines()[-1])
    cold = []
    for _ in range(7):
        r = subprocess.run([python, "-c", IMPORT_SNIPPET], capture_output=True, text=True, cwd=cwd, env=env)
        cold.append([float(x) for x in r.stdout.strip().splitlines()[-1].split()])
    times["cold: import mlsysim (fresh interpreter)"] = statistics.median(c[0] for c in cold)
    times["cold: import + catalog + first solve()"] = statistics.median(c[1] for c in cold)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="scratch virtualenv for upstream 0.1.1")
    ap.add_argument("-n", type=int, default=2000, help="timed calls per case")
    args = ap.parse_args()
    upstream_python = ensure_upstream(args.venv)
    # upstream runs outside the repository, so that its `import mlsysim` cannot see ours
    theirs = run(str(upstream_python), args.n, cwd="/tmp")
    ours = run(sys.executable, args.n, cwd=str(Path(__file__).resolve().parents[1]))
    print(f"{'call':58s} {'0.1.1 us':>11s} {'ours us':>9s} {'speedup':>8s}")
    for label in theirs:
        a, b = theirs[label], ours[label]
        print(f"{label:58s} {a:11.1f} {b:9.2f} {a / b:7.0f}x")


if __name__ == "__main__":
    main()
