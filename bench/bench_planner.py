"""The planner: search rate, and time to a plan for the two questions of the planner issue; upstream
mlsysim 0.3.0's optimisers on the same questions where they can express them (time and answer).

    .venv/bin/python bench/bench_planner.py [--workers 2] [--upstream-venv DIR]

1. Training, "a 70B model on 15T tokens in 60 days": Llama-3.1-70B, sequences of 8,192 tokens in global
   batches of 2,048 (16M tokens, the Llama 3 recipe: Grattafiori et al. 2024, Sec. 3.4.1), on H100
   (Frontier_8K's DGX H100 on NDR) or A100 (Selene's DGX A100 on HDR) clusters of 1,024 to 8,192 GPUs,
   bf16 or fp8, every TP/PP/CP/ZeRO/recompute/virtual-stage/micro-batch choice: the whole space is
   evaluated (points/s), then ranked by cost within the deadline. Timed in one process, then with a
   dask LocalCluster of ``--workers`` single-threaded workers (``client=``).
2. Serving, "Llama-3.3-70B, 5 requests/s of 2,000 in / 300 out, p90 TTFT <= 1 s and ITL <= 40 ms":
   every catalog node's part, bf16/fp8, TP 1-8, batch caps, replicas up to 64 GPUs, by cost per 1M tokens;
   then the same space with speculative decoding on and off (a Llama-3.2-1B draft, k = 4, alpha = 0.8).
3. Upstream 0.3.0 (a scratch virtualenv, ``pip install mlsysim==0.3.0``, never a dependency):
   ParallelismOptimizer (TP x PP x DP by MFU, one fleet) on question 1 at 8,192 H100, and
   BatchingOptimizer (largest batch meeting a P99 end-to-end SLA, given replicas) on question 2 with
   the SLA TTFT + 300 x ITL = 13 s; neither expresses deadlines, costs, hardware choice or TTFT/ITL SLOs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import mlsysim
from mlsysim_fleet.scale import with_nodes

DEFAULT_VENV = Path("/tmp/mlsysim-upstream-0.3.0-venv")
UPSTREAM = r"""
import json, time, warnings
warnings.simplefilter("ignore")
import mlsysim
from mlsysim.engine.solvers.distributed import ParallelismOptimizer
from mlsysim.engine.solvers.serving import BatchingOptimizer
L, C, H = mlsysim.Models.Language, mlsysim.Systems.Clusters, mlsysim.Hardware.Cloud
out = {}
t = time.perf_counter()
r = ParallelismOptimizer().solve(L.Llama3_70B, C.Frontier_8K, batch_size=2048, seq_len=8192, precision="fp16")
out["training"] = {"seconds": time.perf_counter() - t, "answer": str(getattr(r, "best_config", r))[:300]}
t = time.perf_counter()
r = BatchingOptimizer().solve(
    L.Llama3_70B, H.H100, seq_len=300, sla_latency_ms=13000.0, arrival_rate_qps=5.0, num_replicas=2
)
out["serving"] = {"seconds": time.perf_counter() - t, "answer": str(r)[:300]}
print(json.dumps(out))
"""


def training(client: object = None) -> object:
    M, C = mlsysim.Models.Language, mlsysim.Systems.Clusters
    clusters = [with_nodes(C.Frontier_8K, 128), with_nodes(C.Selene_2520, 128)]
    return mlsysim.plan_training(
        M.Llama3_70B,
        clusters,
        gpus=[1024, 2048, 4096, 8192],
        batch_size=2048,
        seq_len=8192,
        tokens=15e12,
        deadline_days=60,
        precision=["bf16", "fp8"],
        objective="cost",
        datacenter=mlsysim.Infra.Grids.US_Avg,
        client=client,
        progress=False,
    )


#: the speculative setup question 2 is timed with next to plain decoding
DRAFT = {"spec_draft": mlsysim.Models.Language.Llama3_2_1B, "spec_k": 4, "spec_accept": 0.8}


def serving(speculative: list[dict] | None = None) -> object:
    return mlsysim.plan_serving(
        mlsysim.Models.Language.Llama3_3_70B,
        qps=5,
        seq_len=2000,
        output_len=300,
        slo_ttft=1.0,
        slo_itl=0.040,
        slo_percentile=90,
        datacenter=mlsysim.Infra.Grids.US_Avg,
        speculative=speculative,
        progress=False,
    )


def timed(plan: Callable[[], object]) -> tuple[object, float, float]:
    """(plan(), wall seconds, CPU seconds of this process: on a shared machine the wall time includes
    waiting for a core; dask workers' CPU is not counted)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = plan()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def show(label: str, run: tuple[object, float, float]) -> None:
    plan, seconds, cpu = run
    s = plan.stats  # type: ignore[attr-defined]
    rate = s["points"] / seconds
    print(
        f"{label}: {s['points']:,} configurations in {seconds:.2f} s ({rate:,.0f} /s; this process's CPU "
        f"{cpu:.2f} s, {s['points'] / cpu:,.0f} /s), {s['valid']:,} valid"
    )
    print(plan.table(3))  # type: ignore[attr-defined]
    print(("best: " if plan.feasible else "infeasible: ") + plan.binding)  # type: ignore[attr-defined]
    print()


def upstream(venv: Path) -> None:
    python = venv / "bin" / "python"
    if not python.exists():
        made = subprocess.run(["python3.11", "-m", "venv", str(venv)], check=False)
        pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "mlsysim==0.3.0"], check=False)
        if made.returncode or pip.returncode:
            print("upstream 0.3.0: could not be installed (pip install mlsysim==0.3.0 failed)")
            return
    # cwd outside the repository: its own mlsysim/ would shadow the installed upstream package
    run = subprocess.run([str(python), "-c", UPSTREAM], capture_output=True, text=True, check=False, cwd=venv)
    if run.returncode:
        print("upstream 0.3.0 failed:", run.stderr.strip().splitlines()[-1:])
        return
    for question, r in json.loads(run.stdout).items():
        print(f"upstream 0.3.0 {question}: {r['seconds']:.3f} s; answer: {r['answer']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--upstream-venv", type=Path, default=DEFAULT_VENV)
    a = ap.parse_args()
    show("training, one process", timed(training))
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as c,
    ):
        c.run(warnings.simplefilter, "ignore")  # the planner discards the points solvers warn about
        training(c)  # warm the workers (imports, catalog)
        show(f"training, dask {a.workers} workers", timed(lambda: training(c)))
    show("serving", timed(serving))
    show("serving, speculation on/off", timed(lambda: serving([DRAFT])))
    upstream(a.upstream_venv)


if __name__ == "__main__":
    main()
