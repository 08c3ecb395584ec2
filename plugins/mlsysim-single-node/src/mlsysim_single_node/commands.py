"""The single-node commands: ``mlsysim roofline`` (and its sweep) and ``mlsysim compare``.

Declared with the public CLI API (``mlsysim_cli.api``); imports click and the host only, so listing
commands stays fast (the solver and matplotlib load when a command runs).
"""

from __future__ import annotations

import math
from typing import Any

import click

from mlsysim_cli.api import (
    PRECISIONS,
    Param,
    SolverCommand,
    csv_text,
    dumps,
    flatten,
    lookup,
    option_names,
    save_plot,
    table,
    value,
)
from mlsysim_core.results import shown


def _plot(result: Any, kwargs: dict) -> Any:
    from .plots import plot_roofline

    return plot_roofline(kwargs["hardware"], [result])


def _sweep_plot(points: list, varied: list, objectives: tuple) -> Any:
    from mlsysim_plots import pick, plot_sweep

    x = pick(varied, "batch_size", "seq_len")
    return plot_sweep(points, x, ["latency", "throughput"], series=[v for v in varied if v != x])


ROOFLINE = SolverCommand(
    name="roofline",
    solver="SingleNodeModel",
    summary="How fast is one step of MODEL on one HARDWARE accelerator, and which wall bounds it?",
    example="mlsysim roofline Llama3_8B H100 --batch-size 8 --precision fp8",
    sweep_example="mlsysim sweep roofline --model Llama3_8B --hardware A100,H100,B200 --batch-size 1,8,64,256 "
    "--precision fp16,fp8 --csv out.csv",
    params=(
        Param("model", "MODEL", "model", required=True, help="Catalog model key (mlsysim catalog models)."),
        Param(
            "hardware", "HARDWARE", "hardware", required=True, help="Catalog hardware key (mlsysim catalog hardware)."
        ),
        Param("batch_size", "--batch-size", "int", 1, help="Samples per step (LLM decode: sequences, one token each)."),
        Param(
            "precision",
            "--precision",
            "choice",
            choices=PRECISIONS,
            help="Weights/compute precision (default: the part's default_precision).",
        ),
        Param(
            "efficiency",
            "--efficiency",
            "float",
            help="Achieved fraction of peak FLOP/s in (0, 1] (default 0.6 at 16-bit).",
        ),
        Param(
            "seq_len",
            "--seq-len",
            "int",
            help="Transformer tokens per sequence: KV context of a decode step, prompt of a prefill, whole sequence "
            "of an encoder (default: its max_seq_len).",
        ),
        Param(
            "phase",
            "--phase",
            "choice",
            choices=("decode", "prefill"),
            help="Decoder LLM phase: decode (default, one token per sequence) or prefill (the prompt's forward pass).",
        ),
    ),
    key_fields=(
        "latency",
        "throughput",
        "bottleneck",
        "mfu",
        "feasible",
        "memory_footprint",
        "memory_available",
        "arithmetic_intensity",
        "ridge_point",
        "latency_compute",
        "latency_memory",
        "latency_overhead",
        "energy_per_sample",
    ),
    strict="raise_errors",
    pareto=(("latency", "min"), ("throughput", "max")),
    title=lambda r, i: f"{r.model} on {r.hardware} ({r.precision}, batch {r.batch_size})",
    plot=_plot,
    sweep_plot=_sweep_plot,
)


def _wall(r: Any) -> tuple[str, str]:
    """(wall, reason) of a SingleNodeModel result: capacity, overhead (more than either roofline term), memory or
    compute."""
    if not r.feasible:
        spill = r.offload_spill_bytes is not None and math.isfinite(r.latency.magnitude)
        return "capacity", (
            f"needs {r.memory_footprint.to('GB').magnitude:.4g} GB > "
            f"{r.memory_available.to('GB').magnitude:.4g} GB usable" + ("; spills over the host link" if spill else "")
        )
    share = r.overhead_share()
    if share is not None:
        return "overhead", f"fixed overhead {share:.0%} of the latency (roofline: {r.bottleneck.lower()})"
    ai, ridge = r.arithmetic_intensity.magnitude, r.ridge_point.magnitude
    if r.bottleneck == "Memory":
        return "memory", f"intensity {ai:.3g} < ridge {ridge:.3g} FLOP/B"
    return "compute", f"intensity {ai:.3g} >= ridge {ridge:.3g} FLOP/B"


@click.command("compare", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("hardware", nargs=-1, required=True, metavar="HW1 HW2 [...]")
@click.option("--model", required=True, help="Catalog model key.")
@click.option("--batch-size", type=int, default=1, show_default=True, help="Samples (decode sequences) per step.")
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS, case_sensitive=False),
    help="Precision (default: each part's own default_precision).",
)
@click.option("--seq-len", type=int, help="Transformer KV context per sequence (decode step).")
@click.option("--efficiency", type=float, help="Achieved fraction of peak FLOP/s in (0, 1].")
@click.option(
    "--bands",
    is_flag=True,
    help="Latency and throughput of each part over the efficiency ranges and model error (docs/accuracy.md, Bands).",
)
@click.option("--json", "as_json", is_flag=True, help='JSON: {"solver", "inputs", "baseline", "rows": [...]}.')
@click.option("--csv", "as_csv", is_flag=True, help="CSV rows.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    metavar="FILE.png",
    help="Rooflines of every part with the workload on each.",
)
def compare(
    hardware: tuple,
    model: str,
    batch_size: int,
    precision: str,
    seq_len: int | None,
    efficiency: float | None,
    bands: bool,
    as_json: bool,
    as_csv: bool,
    plot: str | None,
) -> None:
    """Side by side: one step of --model on each accelerator, the ratio to the first, and which wall
    each hits (compute, memory bandwidth, fixed overhead, or capacity).

    \b
    Example:
      mlsysim compare A100 H100 B200 --model Llama3_8B --batch-size 8
    """
    option_names(
        model="--model",
        hardware="HW",
        batch_size="--batch-size",
        precision="--precision",
        seq_len="--seq-len",
        efficiency="--efficiency",
    )
    mkey, mobj = lookup("model", model, "--model")
    results, warns = [], []
    for key, hw in [lookup("hardware", h, f"HW {h!r}") for h in hardware]:
        kwargs, _ = ROOFLINE.build(
            {
                "model": (mkey, mobj),
                "hardware": (key, hw),
                "batch_size": batch_size,
                "precision": precision,
                "seq_len": seq_len,
                "efficiency": efficiency,
            }
        )
        r, w = ROOFLINE.solve(kwargs, bands=bands)
        warns += w
        results.append((key, hw, r))
    base_lat = results[0][2].latency.to("s").magnitude
    rows, data_rows = [], []
    for key, _hw, r in results:
        lat = r.latency.to("s").magnitude
        speedup = base_lat / lat if lat and math.isfinite(lat) and math.isfinite(base_lat) else None
        wall, reason = _wall(r)
        data_rows.append(
            {"hardware": key, "speedup_vs_baseline": speedup, "wall": wall, "reason": reason, "result": r.to_dict()}
        )
        rows.append(
            [
                key,
                shown(r, "latency"),
                shown(r, "throughput"),
                f"{speedup:.3g}x" if speedup else "-",
                wall,
                reason,
                f"{r.mfu:.1%}",
                value(r.memory_footprint),
            ]
        )
    inputs = {
        "model": mkey,
        "batch_size": batch_size,
        "precision": precision,
        "seq_len": seq_len,
        "efficiency": efficiency,
    }
    if as_json:
        click.echo(dumps({"solver": ROOFLINE.solver, "inputs": inputs, "baseline": results[0][0], "rows": data_rows}))
    elif as_csv:
        click.echo(
            csv_text(
                [
                    {k: d[k] for k in ("hardware", "speedup_vs_baseline", "wall", "reason")}
                    | flatten("", {"result": d["result"]}, {})
                    for d in data_rows
                ]
            ),
            nl=False,
        )
    else:
        click.echo(
            f"{results[0][2].model} ({precision or 'each part at its default precision'}, batch {batch_size}"
            + (f", context {seq_len}" if seq_len else "")
            + f"); speedup vs {results[0][0]}\n"
        )
        click.echo(table(["hardware", "latency", "throughput", "speedup", "wall", "why", "MFU", "memory"], rows))
        outside = [f"  {key}: {line}" for key, _hw, r in results for line in r.out_of_domain]
        if outside:
            click.echo("\n".join(["", "out of domain (beyond the calibration set):", *outside]))
    for warning in dict.fromkeys(warns):
        click.echo(f"warning: {warning}", err=True)
    if plot:
        from .plots import plot_roofline

        hws, runs = [hw for _, hw, _ in results], [r for _, _, r in results]
        save_plot(lambda: plot_roofline(hws, runs, precisions=sorted({r.precision for r in runs})), plot)
