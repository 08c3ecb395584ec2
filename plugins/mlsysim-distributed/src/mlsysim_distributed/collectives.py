"""Collective communication and pipeline-schedule equations of distributed training, on SI floats or
numpy arrays (same code for both). Each docstring states the equation and its source. Units: s, B, B/s."""

from __future__ import annotations

import numpy as np


def ring_allreduce_time(message_bytes, n, bandwidth, latency):
    """Ring all-reduce: 2(n-1)/n * M/beta + 2(n-1)*alpha  (Patarasuk & Yuan 2009; Thakur et al. 2005).

    ``bandwidth`` is per-direction per-device link bandwidth; 0 when n == 1.
    """
    n = np.asarray(n, dtype=float) if isinstance(n, np.ndarray) else float(n)
    t = 2.0 * (n - 1.0) / n * message_bytes / bandwidth + 2.0 * (n - 1.0) * latency
    return np.where(n > 1, t, 0.0) if isinstance(t, np.ndarray) else (t if n > 1 else 0.0)


def ring_reduce_scatter_time(message_bytes, n, bandwidth, latency):
    """Reduce-scatter (or all-gather) on a ring: (n-1)/n * M/beta + (n-1)*alpha (Thakur et al. 2005)."""
    n = float(n)
    return (n - 1.0) / n * message_bytes / bandwidth + (n - 1.0) * latency if n > 1 else 0.0


def all_to_all_time(message_bytes, n, bandwidth, latency):
    """All-to-all (pairwise exchange): (n-1)/n * M/beta + (n-1)*alpha, M = bytes each rank holds."""
    n = float(n)
    return (n - 1.0) / n * message_bytes / bandwidth + (n - 1.0) * latency if n > 1 else 0.0


def forwarded_all_to_all_time(
    message_bytes, up_copies, out_copies, nodes, local, bw_intra, lat_intra, bw_inter, lat_inter
):
    """Expert all-to-all forwarded through the node (node-limited MoE routing: DeepSeek-V3 report, arXiv
    2412.19437, sec. 2.1.2 and 3.2.2; DeepEP's normal kernels), the group's ranks ``local`` = g to a node over
    N = ``nodes`` nodes: of the M bytes (one copy of each token) a rank holds, c_out copies cross the fabric
    (once per other target node) and c_up are forwarded over the intra-node link
    (``mlsysim_physics.equations.dispatch_copies``), both links at once, one message to each other node and
    each node peer: max(c_out*M/beta_inter, c_up*M/beta_intra) + (N-1)*alpha_inter + (g-1)*alpha_intra."""
    out, up = out_copies * message_bytes / bw_inter, up_copies * message_bytes / bw_intra
    return (
        (np.maximum(out, up) if isinstance(out, np.ndarray) else max(out, up))
        + (nodes - 1.0) * lat_inter
        + (local - 1.0) * lat_intra
    )


def p2p_time(message_bytes, bandwidth, latency):
    """Point-to-point send: alpha + M/beta (Hockney 1994)."""
    return latency + message_bytes / bandwidth


def pipeline_bubble_fraction(p, m, v=1):
    """1F1B / interleaved bubble share of the pipelined step: (p-1) / (v*m + p - 1)
    (Narayanan et al., SC 2021, eq. for interleaved schedules)."""
    return (p - 1.0) / (v * m + p - 1.0)
