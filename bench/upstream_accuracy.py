"""The validation points run through upstream mlsysim 0.1.1, for docs/accuracy.md's comparison.

Upstream is not a dependency: it runs in a scratch virtualenv.

    python3.11 -m venv /tmp/mlsysim-upstream-venv
    /tmp/mlsysim-upstream-venv/bin/pip install mlsysim==0.1.1
    .venv/bin/python bench/upstream_accuracy.py [--upstream-python /tmp/mlsysim-upstream-venv/bin/python]

Phase 1 (this project's venv) dumps the model geometries the points need from our catalog (upstream's
catalog lacks most of them: Llama 3.1 8B/405B, GPT-J, Mixtral, SDXL, Llama 3.3) and runs phase 2
with the upstream interpreter, which maps the same points to upstream's API with the same stated
assumptions and upstream's own defaults (efficiency 0.5, mfu 1.0, 3-year amortization, ...).
Points upstream's API cannot express are skipped with the reason (no tensor parallelism in
ServingModel, no MoE, ...). Writes plugins/mlsysim-validation/src/mlsysim_validation/data/upstream_0.1.1.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "plugins" / "mlsysim-validation" / "src" / "mlsysim_validation" / "data" / "upstream_0.1.1.json"
MEAS = ROOT / "plugins" / "mlsysim-validation" / "src" / "mlsysim_validation" / "data" / "measurements.json"


# --------------------------------------------------------------------------- phase 1 (our venv)


def dump_geometry(path: Path) -> None:
    import mlsysim

    L = mlsysim.Models.Language
    models = {}
    for key in (
        "GPTJ_6B",
        "Llama2_70B",
        "Llama3_3_70B",
        "Llama3_1_8B",
        "Llama3_70B",
        "Mixtral_8x7B",
        "Llama3_1_405B",
        "PaLM_540B",
    ):
        m = getattr(L, key)
        models[key] = dict(
            name=m.name,
            parameters=int(m.parameters),
            layers=m.layers,
            hidden_dim=m.hidden_dim,
            heads=m.heads,
            kv_heads=m.si.kv_heads,
        )
    sd = mlsysim.Models.GenerativeVision.SDXL_UNet
    models["SDXL_UNet"] = dict(
        name=sd.name, parameters=int(sd.parameters), inference_flops=float(sd.si.flops_per_sample)
    )
    a100 = mlsysim.Hardware.Cloud.A100
    extra = {"A100_embodied_kg": float(a100.si.embodied_carbon) if getattr(a100.si, "embodied_carbon", None) else 0.0}
    path.write_text(json.dumps({"models": models, "extra": extra}))


# --------------------------------------------------------------------------- phase 2 (upstream venv)


def upstream(geom_path: str) -> dict:  # noqa: C901 - one mapping per point, as in points.py
    import warnings

    warnings.simplefilter("ignore")
    import mlsysim as m

    geo = json.loads(Path(geom_path).read_text())
    G = geo["models"]
    H = m.Hardware.Cloud

    def tw(key):
        g = G[key]
        return m.TransformerWorkload(
            name=g["name"],
            architecture="transformer",
            parameters=f"{g['parameters']} count",
            layers=g["layers"],
            hidden_dim=g["hidden_dim"],
            heads=g["heads"],
            kv_heads=g["kv_heads"],
        )

    sv, sn = m.ServingModel(), m.SingleNodeModel()
    preds, skipped = {}, {}

    def ms(q):
        return q.to("ms").magnitude

    def max_batch(feasible, limit=8192):
        lo, hi = 1, 2
        while hi <= limit and feasible(hi):
            lo, hi = hi, hi * 2
        hi = min(hi, limit + 1)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if feasible(mid) else (lo, mid)
        return lo

    def llm_tput(model, hw, isl, osl, prec, beams=1):
        b = max_batch(lambda r: sv.solve(model, hw, isl + osl, r * beams, precision=prec).feasible, 8192 // beams)
        ttft = ms(sv.solve(model, hw, isl, b, precision=prec).ttft) / 1e3
        itl = ms(sv.solve(model, hw, isl + osl // 2, b * beams, precision=prec).itl) / 1e3
        return b * osl / (ttft + (osl - 1) * itl)

    # ---- A
    for pid, hw in (
        ("A-mlperf40-h100x1-resnet50-offline", H.H100),
        ("A-mlperf41-h200x8-resnet50-offline-per-gpu", H.H200),
    ):
        preds[pid] = sn.solve(m.Models.ResNet50, hw, batch_size=1024, precision="int8").throughput.to("1/s").magnitude
    sd = m.CNNWorkload(
        name="SDXL UNet",
        architecture="cnn",
        parameters=f"{G['SDXL_UNet']['parameters']} count",
        inference_flops=f"{G['SDXL_UNet']['inference_flops']} flop",
    )
    preds["A-mlperf41-h200x8-stable-diffusion-xl-offline-per-gpu"] = (
        sn.solve(sd, H.H200, batch_size=16, precision="fp8").throughput.to("1/s").magnitude / 40
    )
    preds["A-mlperf41-h100x8-gptj-99-offline-per-gpu"] = llm_tput(tw("GPTJ_6B"), H.H100, 1024, 128, "fp8", beams=4)
    v = llm_tput(tw("Llama2_70B"), H.H200, 300, 265, "fp8")
    preds["A-mlperf41-h200x8-llama2-70b-99-offline-per-gpu"] = v
    preds["A-mlperf41-h200x8-llama2-70b-99-server-per-gpu"] = v

    # ---- B
    for pid in (
        "B-nim-llama33-70b-2xh100-isl5000-osl500-c5-itl",
        "B-nim-llama33-70b-2xh100-isl5000-osl500-c25-itl",
        "B-nim-llama33-70b-2xh100-isl500-osl2000-c1-itl",
        "B-vllm-ci-h200-llama-3-70B-tp4-e2e",
        "B-vllm-ci-h200-mixtral-8x7B-tp2-e2e",
        "B-trtllm-llama-3.1-405b-h100-tp8-fp8-1000-1000",
    ):
        skipped[pid] = "0.1.1 ServingModel has no tensor parallelism (the point needs tp > 1)"
    r0 = sv.solve(tw("Llama3_1_8B"), H.H200, 32, 8, precision="bf16")
    r1 = sv.solve(tw("Llama3_1_8B"), H.H200, 96, 8, precision="bf16")
    preds["B-vllm-ci-h200-llama-3.1-8B-tp1-e2e"] = ms(r0.ttft) + 127 * ms(r1.itl)
    preds["B-trtllm-llama-3.1-8b-h100-tp1-fp8-128-128"] = llm_tput(tw("Llama3_1_8B"), H.H100, 128, 128, "fp8")

    # ---- C
    dgx_a100 = m.Systems.Nodes.DGX_A100
    hdr = m.Systems.Fabrics.InfiniBand_HDR
    dm = m.DistributedModel()
    megatron = {
        "3.6B": (30, 3072, 32, 2, 1, 64, 512),
        "7.5B": (36, 4096, 32, 4, 1, 128, 512),
        "145.6B": (80, 12288, 96, 8, 8, 1536, 2304),
        "310.1B": (96, 16384, 128, 8, 16, 1920, 2160),
        "529.6B": (105, 20480, 128, 8, 35, 2520, 2520),
    }
    for size, (Ly, h, a, tp, pp, n, batch) in megatron.items():
        V, s = 51200, 2048
        params = round(12 * Ly * h**2 * (1 + 13 / (12 * h) + (V + s) / (12 * Ly * h)))
        w = m.TransformerWorkload(
            name=f"GPT {size}",
            architecture="transformer",
            parameters=f"{params} count",
            layers=Ly,
            hidden_dim=h,
            heads=a,
        )
        fleet = m.Fleet(name="Selene", node=dgx_a100, count=n // 8, fabric=hdr)
        dp = n // (tp * pp)
        r = dm.solve(
            w,
            fleet,
            batch_size=batch,
            precision="fp16",
            tp_size=tp,
            pp_size=pp,
            microbatch_count=batch // dp,
            activation_recomputation=True,
            seq_len=s,
        )
        step = r.step_latency_total.to("s").magnitude
        flops = 96 * batch * s * Ly * h**2 * (1 + s / (6 * h) + V / (16 * Ly * h))  # the paper's Eq. 3
        preds[f"C-megatron-a100-{size}-tflops"] = flops / step / n / 1e12
    g405 = G["Llama3_1_405B"]
    fleet = m.Fleet(
        name="Llama 3 8K", node=m.Systems.Nodes.DGX_H100, count=1024, fabric=m.Systems.Fabrics.InfiniBand_NDR
    )
    r = dm.solve(
        tw("Llama3_1_405B"),
        fleet,
        batch_size=2048,
        precision="bf16",
        tp_size=8,
        pp_size=16,
        microbatch_count=32,
        v_stages=2,
        zero_stage=1,
        overlap_comm=True,
        seq_len=8192,
    )
    preds["C-llama3-405b-8k-mfu"] = (
        6 * g405["parameters"] * 2048 * 8192 / r.step_latency_total.to("s").magnitude / 8192 / 989.5e12
    )
    gp = G["PaLM_540B"]
    pod = m.Node(name="TPU v4 pod", accelerator=H.TPUv4, accelerators_per_node=3072, intra_node_bw="300 GB/s")
    dcn = m.NetworkFabric(name="DCN", bandwidth=f"{81e12 / 3072 / 8 / 1e9} GB/s", latency="20 us")
    r = dm.solve(
        tw("PaLM_540B"),
        m.Fleet(name="PaLM", node=pod, count=2, fabric=dcn),
        batch_size=2048,
        precision="bf16",
        tp_size=12,
        zero_stage=3,
        activation_recomputation=True,
        overlap_comm=True,
        seq_len=2048,
    )
    peak = H.TPUv4.compute.peak_flops.to("flop/s").magnitude
    preds["C-palm-540b-mfu"] = 6 * gp["parameters"] * 2048 * 2048 / r.step_latency_total.to("s").magnitude / 6144 / peak
    skipped["C-deepseek-v3-gpu-hours-per-trillion-tokens"] = "0.1.1 has no mixture-of-experts workload"

    # ---- D (owned TCO per GPU-hour, upstream defaults: 3-year amortization, 0.12 USD/kWh)
    em = m.EconomicsModel()
    nodes = {
        "D-gcp-a3-h100-3yr": m.Systems.Nodes.DGX_H100,
        "D-azure-h100nvl-ondemand": m.Systems.Nodes.DGX_H100,
        "D-aws-p4d-a100-40gb-ondemand": dgx_a100,
        "D-aws-p4de-a100-80gb-ondemand": dgx_a100,
        "D-azure-nd96amsr-a100-80gb-ondemand": dgx_a100,
        "D-mosaic-h100-reserved": m.Systems.Nodes.DGX_H100,
        "D-deepseek-v3-h800-rental-assumption": m.Systems.Nodes.DGX_H100,
    }
    for pid, node in nodes.items():
        r = em.solve(m.Fleet(name="one", node=node, count=1, fabric=hdr), 365)
        preds[pid] = r.tco_usd / (8 * 8760)
    h200 = m.Node(
        name="DGX H200", accelerator=H.H200, accelerators_per_node=8, intra_node_bw="900 GB/s", nics_per_node=8
    )
    preds["D-aws-capacity-block-p5e-h200"] = (
        em.solve(m.Fleet(name="one", node=h200, count=1, fabric=hdr), 365).tco_usd / 8760 / 8
    )

    # ---- E (upstream: chip TDP x (0.3 + 0.7 mfu), mfu default 1.0, PUE from the grid/datacenter)
    su = m.SustainabilityModel()
    GP = type(m.Infra.Grids.US_Avg)

    def grid(g, pue):
        return GP(name="g", carbon_intensity_g_kwh=g, pue=pue, wue=0.0, primary_source="point")

    v100 = m.Node(name="DGX-1", accelerator=H.V100, accelerators_per_node=8, intra_node_bw="150 GB/s")
    r = su.solve(m.Fleet(name="GPT-3", node=v100, count=1250, fabric=hdr), 14.8, datacenter=grid(429, 1.1))
    preds["E-patterson-gpt3-175b-energy"] = r.total_energy_kwh.to("MWh").magnitude
    preds["E-patterson-gpt3-175b-tco2e"] = r.carbon_footprint_kg / 1000
    for pid, tdp, n, days, g, pue, what in (
        ("E-patterson-evolved-transformer-nas-tco2e", 280, 200, 6.8, 431, 1.1, "co2"),
        ("E-patterson-gshard-600b-energy", 450, 1024, 3.1, 201, 1.09, "energy"),
    ):
        chip = H.TPUv4.model_copy(update={"tdp": m.ureg.Quantity(tdp, "W")})
        node = m.Node(name="chip", accelerator=chip, accelerators_per_node=1, intra_node_bw="100 GB/s")
        r = su.solve(m.Fleet(name="tpu", node=node, count=n, fabric=hdr), days, datacenter=grid(g, pue))
        preds[pid] = r.carbon_footprint_kg / 1000 if what == "co2" else r.total_energy_kwh.to("MWh").magnitude
    days = 118 + (5 + 41 / 60) / 24
    r = su.solve(
        m.Fleet(name="BLOOM", node=dgx_a100, count=48, fabric=hdr),
        days,
        datacenter=grid(57, 1.2),
        embodied_carbon_per_device=geo["extra"]["A100_embodied_kg"],
    )
    preds["E-bloom-lifecycle-tco2e"] = r.carbon_footprint_kg / 1000
    a100_40 = H.A100
    r = su.solve(
        m.Fleet(
            name="BLOOM API",
            node=m.Node(name="a2", accelerator=a100_40, accelerators_per_node=8, intra_node_bw="300 GB/s"),
            count=2,
            fabric=hdr,
        ),
        18,
        datacenter=grid(394, 1.0),
        mfu=0.1,
    )
    preds["E-bloom-inference-energy-per-request"] = r.total_energy_kwh.to("Wh").magnitude / 230768
    us = m.Infra.Grids.US_Avg
    for pid, gh, node in (
        ("E-llama31-405B-tco2e", 30.84e6, m.Systems.Nodes.DGX_H100),
        ("E-llama3-70B-tco2e", 6.4e6, m.Systems.Nodes.DGX_H100),
        ("E-llama4-Scout-17Bx16E-tco2e", 5.0e6, m.Systems.Nodes.DGX_H100),
        ("E-llama4-Maverick-17Bx128E-tco2e", 2.38e6, m.Systems.Nodes.DGX_H100),
        ("E-llama2-70B-tco2e", 1_720_320, dgx_a100),
    ):
        r = su.solve(m.Fleet(name="card", node=node, count=1, fabric=hdr), gh / 8 / 24, datacenter=us)
        preds[pid] = r.carbon_footprint_kg / 1000

    # ---- F
    rm = m.ReliabilityModel()
    h100 = m.Systems.Nodes.DGX_H100
    llama = m.Fleet(name="Llama3 16K", node=h100, count=2048, fabric=m.Systems.Fabrics.InfiniBand_NDR)
    r = rm.solve(llama, 54 * 24)
    preds["F-llama3-interruptions-per-day"] = 24 / r.fleet_mtbf.to("h").magnitude
    preds["F-llama3-effective-training-time"] = rm.solve(llama, 54 * 24, 60, 660).goodput_ratio
    preds["F-kokolis-mttf-8gpu"] = (
        rm.solve(m.Fleet(name="1", node=dgx_a100, count=1, fabric=hdr), 24).fleet_mtbf.to("h").magnitude
    )
    preds["F-kokolis-projected-mttf-131072"] = (
        rm.solve(m.Fleet(name="131k", node=dgx_a100, count=16384, fabric=hdr), 24).fleet_mtbf.to("h").magnitude
    )
    preds["F-opt175b-total-hw-restarts-per-day"] = (
        24 / rm.solve(m.Fleet(name="OPT", node=dgx_a100, count=124, fabric=hdr), 24).fleet_mtbf.to("h").magnitude
    )
    return {"predictions": preds, "skipped": skipped}


# --------------------------------------------------------------------------- summary (our venv)


def summarise(res: dict) -> dict:
    from mlsysim_validation import run

    ours = run()
    counted = {r.id for r in ours.rows if r.counted}  # compare on the points our harness counts
    recs = {r["id"]: r for r in json.loads(MEAS.read_text())}
    points, by_group = [], {}
    for pid, pred in res["predictions"].items():
        meas = float(recs[pid]["value"])
        err = (pred - meas) / meas
        points.append(
            {
                "id": pid,
                "group": recs[pid]["group"],
                "predicted": pred,
                "measured": meas,
                "error": err,
                "counted": pid in counted,
            }
        )
        if pid in counted:
            by_group.setdefault(recs[pid]["group"], []).append(abs(err))
    for pid, why in res["skipped"].items():
        points.append({"id": pid, "group": recs[pid]["group"], "skipped": why})
    summary = {}
    for g in "ABCDEF":
        errs = by_group.get(g, [])
        ours_g = [abs(r.error) for r in ours.rows if r.group == g and r.counted and r.id in res["predictions"]]
        summary[g] = {
            "counted": len(errs),
            "median_abs_error": statistics.median(errs) if errs else None,
            "max_abs_error": max(errs) if errs else None,
            "ours_on_same_points_median": statistics.median(ours_g) if ours_g else None,
            "skipped_upstream": sum(1 for p in points if p["group"] == g and "skipped" in p),
        }
    return {"version": "0.1.1", "summary": summary, "points": points}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream-python", default="/tmp/mlsysim-upstream-venv/bin/python")
    ap.add_argument("--phase2", metavar="GEOMETRY_JSON", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase2:
        print(json.dumps(upstream(args.phase2)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        geo = Path(tmp) / "geometry.json"
        dump_geometry(geo)
        # run outside the repository so `import mlsysim` finds upstream, not this checkout
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        out = subprocess.run(
            [args.upstream_python, str(Path(__file__).resolve()), "--phase2", str(geo)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    res = summarise(json.loads(out.stdout))
    OUT.write_text(json.dumps(res, indent=1) + "\n")
    for g, s in res["summary"].items():
        med = s["median_abs_error"]
        ours = s["ours_on_same_points_median"]
        print(
            f"group {g}: upstream median |error| {'-' if med is None else f'{med:.1%}'} over {s['counted']} points "
            f"(ours on the same points {'-' if ours is None else f'{ours:.1%}'}); {s['skipped_upstream']} not "
            "expressible in 0.1.1"
        )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    sys.exit(main())
