"""Our numbers for the peer cross-check configurations, through mlsysim's public API (live)."""

from __future__ import annotations

import warnings

import attrs

import mlsysim

#: Catalog parts and clusters of each configuration's hardware: H100 nodes on 400 Gb/s NDR
#: InfiniBand (Frontier_8K's nodes and fabric), A100 nodes on 200 Gb/s HDR (Selene_2520's).
PART = {"H100": "H100", "A100": "A100"}
CLUSTER = {"H100": "Frontier_8K", "A100": "Selene_2520"}


def model(key: str):
    return getattr(mlsysim.Models.Language, key)


def _solve_serving(c: dict):
    return mlsysim.ServingModel().solve(
        model=model(c["model"]),
        hardware=getattr(mlsysim.Hardware.Cloud, PART[c["hw"]]),
        seq_len=c["isl"],
        batch_size=c["batch"],
        tp_size=c["tp"],
        precision="bf16",
        output_len=c["osl"],
    )


def serving(c: dict) -> dict:
    r = _solve_serving(c)
    return {"ttft": r.ttft.to("s").magnitude, "itl": r.itl.to("s").magnitude}


def itl_parts(c: dict) -> dict:
    """Where our ITL goes (s): the roofline term, the fixed per-step costs and the TP all-reduces."""
    r = _solve_serving(c)
    roofline = max(r.decode_compute_time.to("s").magnitude, r.decode_memory_time.to("s").magnitude)
    return {
        "roofline": roofline,
        "fixed": r.overhead.to("s").magnitude,
        "comm": r.decode_communication_time.to("s").magnitude,
    }


def training(c: dict) -> dict:
    cluster = getattr(mlsysim.Systems.Clusters, CLUSTER[c["hw"]])
    fleet = attrs.evolve(cluster, count=c["gpus"] // cluster.node.accelerators_per_node)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every configuration here is a realizable schedule
        r = mlsysim.DistributedModel().solve(
            model=model(c["model"]),
            fleet=fleet,
            batch_size=c["batch"],
            tp_size=c["tp"],
            pp_size=c["pp"],
            microbatch_count=c["microbatches"],
            precision="bf16",
            seq_len=c["seq"],
            zero_stage=c["zero"],
        )
    return {"step_time": r.step_time.to("s").magnitude, "memory": r.memory_per_gpu.to("B").magnitude}


def compute(c: dict) -> dict:
    """Our values of one configuration, in SI units (s, B)."""
    return serving(c) if c["kind"] == "serving" else training(c)
