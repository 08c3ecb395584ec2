"""Disaggregated layouts: a prefill pool and a decode pool (hardware, GPU count, the parallel degrees of
one replica) and the fabric that carries the KV cache between them, from objects or the command line's
text ``prefill=H100x8:tp8,decode=H200x8:tp4`` (also ``H200x16:tp8pp2``, ``H100x32:dp16ep16``, and
``H100x72:dp72ep72r32`` with 32 redundant experts) and ``--fabric IB_NDR``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.plugins import catalog  # (loaded with the plugin: plugin.py imports it)
from mlsysim_core.types import HardwareNode, IOInterconnect, NetworkFabric

from .memo import Memo

#: fabric names that are not catalog network fabrics: the pools' own links
SCALE_UP, HOST_LINK = "NVLink", "PCIe"
_POOL = re.compile(r"^(?P<hw>.+)x(?P<gpus>\d+):(?P<degrees>(?:(?:tp|pp|ep|dp|r)\d+)+)$", re.IGNORECASE)
_DEGREE = re.compile(r"(tp|pp|ep|dp|r)(\d+)", re.IGNORECASE)
_OWN_LINKS = ("nvlink", "nvl72", "scale_up", "pcie", "host_link")
_FORMAT = (
    "prefill=HWxGPUS:tpN,decode=HWxGPUS:tpN (each replica: tpN, optionally ppN, epN, dpN, "
    "rN redundant experts with epN; without tpN, tp = ep / dp, or 1 without epN), "
    "e.g. prefill=H100x8:tp8,decode=H200x8:tp4"
)


@attrs.frozen
class Pool:
    """``gpus`` accelerators of one part serving one phase as replicas of tp * pp * dp GPUs each: ``tp``
    tensor-parallel, ``pp`` pipeline stages, ``dp`` attention data-parallel ranks and ``ep`` expert
    parallelism (1, or tp * dp: ServingModel's ``pp_size``, ``ep_size``, ``dp_attention``), ``redundant``
    extra physical expert copies with ep > 1 (``redundant_experts``: ep divides experts + redundant)."""

    hardware: HardwareNode
    gpus: int
    tp: int
    pp: int = 1
    ep: int = 1
    dp: int = 1
    redundant: int = 0

    @property
    def replica_gpus(self) -> int:
        return self.split()[0]

    @property
    def replicas(self) -> int:
        return self.split()[1]

    def split(self) -> tuple[int, int]:
        """(GPUs of one replica, replicas of the pool): tp x pp x dp (:attr:`replica_gpus`) and gpus // it
        (:attr:`replicas`), in one call (a disaggregated set-up reads both: one frame, not a property's inside it)."""
        n = self.tp * self.pp * self.dp
        return n, self.gpus // n

    def degrees(self) -> str:
        """The replica's degrees as the text writes them: tp8, tp8pp2, tp1dp16ep16, tp1dp72ep72r32."""
        extra = (("pp", self.pp), ("dp", self.dp), ("ep", self.ep))
        text = f"tp{self.tp}" + "".join(f"{k}{v}" for k, v in extra if v != 1)
        return text + (f"r{self.redundant}" if self.redundant else "")

    def label(self) -> str:
        return f"{self.hardware.name} x{self.gpus} ({self.replicas} x {self.degrees()})"


@attrs.frozen
class Disagg:
    """A prefill pool and a decode pool (they may be different parts, even different vendors)."""

    prefill: Pool
    decode: Pool


@attrs.frozen
class KVLink:
    """What carries one GPU's share of a request's KV cache: per-direction bandwidth (B/s) and latency (s)."""

    name: str
    bandwidth: float
    latency: float
    note: str | None = None


def _hardware(name: str, value: str) -> HardwareNode:
    entries = catalog().entries["hardware"].values()
    for e in entries:
        if name.lower() == e.key.lower() or name.lower() in (a.lower() for a in e.aliases):
            return e.value
    raise InvalidInputError(
        "disagg", value, f"pools on catalog hardware ({name!r} is not one; mlsysim catalog hardware)"
    )


def _tp(degrees: dict[str, int], value: Any) -> int:
    """A replica's tensor-parallel degree: tpN, or without it the one expert parallelism implies (ep = tp x dp,
    the experts spread over all GPUs of a stage: :class:`Pool`), so ep / dp, and 1 without epN."""
    dp, ep = degrees.get("dp", 1), degrees.get("ep", 1)
    if "tp" in degrees or ep == 1:
        return degrees.get("tp", 1)
    if ep % dp:
        raise InvalidInputError("disagg", value, f"tpN, or epN a multiple of dpN (tp = ep / dp); got ep{ep} dp{dp}")
    return ep // dp


def _pool(role: str, spec: Any, value: Any) -> Pool:
    if isinstance(spec, Pool):
        pool = spec
    elif isinstance(spec, str):
        m = _POOL.match(spec.strip())
        if m is None:
            raise InvalidInputError("disagg", value, _FORMAT)
        found = [(k.lower(), int(v)) for k, v in _DEGREE.findall(m["degrees"])]
        degrees = dict(found)
        if len(degrees) != len(found):
            raise InvalidInputError("disagg", value, _FORMAT)
        redundant = degrees.pop("r", 0)  # checked with the layout (ep divides experts + redundant)
        if min(degrees.values(), default=0) < 1:
            raise InvalidInputError("disagg", value, _FORMAT)
        dp, ep = degrees.get("dp", 1), degrees.get("ep", 1)
        pool = Pool(
            _hardware(m["hw"], value), int(m["gpus"]), _tp(degrees, value), degrees.get("pp", 1), ep, dp, redundant
        )
    else:
        raise InvalidInputError("disagg", value, f"a Disagg, or the text {_FORMAT}")
    if not isinstance(pool.hardware, HardwareNode):
        raise InvalidInputError("disagg", value, f"a {role} pool whose hardware is a HardwareNode")
    counts = (pool.gpus, pool.tp, pool.pp, pool.ep, pool.dp)
    if not all(isinstance(x, int) and x >= 1 for x in counts) or pool.replica_gpus > pool.gpus:
        raise InvalidInputError(
            "disagg",
            value,
            f"a {role} pool of replicas of tp x pp x dp in [1, gpus] GPUs (got {pool.gpus} GPUs, {pool.degrees()})",
        )
    if pool.gpus % pool.replica_gpus:
        raise InvalidInputError(
            "disagg",
            value,
            f"a {role} pool whose GPU count is a multiple of its replica's tp x pp x dp = {pool.replica_gpus} "
            f"({pool.gpus} GPUs, {pool.degrees()})",
        )
    return pool


def parse_disagg(value: Any) -> Disagg:
    """A :class:`Disagg` from itself or from the text ``prefill=H100x8:tp8,decode=H200x8:tp4`` (a text's
    layout memoized per catalog: the same object again while the catalog is the same)."""
    if isinstance(value, Disagg):
        pools = _pool("prefill", value.prefill, value), _pool("decode", value.decode, value)
        return value if pools == (value.prefill, value.decode) else Disagg(*pools)
    if not isinstance(value, str):
        raise InvalidInputError("disagg", value, f"a Disagg, or the text {_FORMAT}")
    return _per_catalog(_parsed, value, _parse_text)


#: :func:`parse_disagg`'s texts and :func:`_fabric_entry`'s names: (catalog looked up in, answer)
_parsed, _fabrics = Memo(), Memo()


def _per_catalog(memo: Memo, name: str, build: Callable[[str], Any]) -> Any:
    """``build(name)`` (catalog names looked up), memoized in ``memo`` while the catalog is the same object
    (loading a catalog file replaces it); a call that raises caches nothing."""
    book = catalog()
    hit = memo.get(name)
    if hit is None or hit[0] is not book:
        hit = memo.put(name, (book, build(name)))
    return hit[1]


def _parse_text(value: str) -> Disagg:
    """The layout the text ``prefill=...,decode=...`` describes (:func:`parse_disagg`)."""
    parts: dict[str, str] = {}
    for item in value.replace(";", ",").split(","):
        role, _, spec = item.partition("=")
        role = role.strip().lower()
        if role not in ("prefill", "decode") or role in parts or not spec:
            raise InvalidInputError("disagg", value, _FORMAT)
        parts[role] = spec
    if len(parts) != 2:
        raise InvalidInputError("disagg", value, _FORMAT)
    return Disagg(_pool("prefill", parts["prefill"], value), _pool("decode", parts["decode"], value))


def _fabric_entry(name: str) -> NetworkFabric | None:
    """The catalog network fabric a key or alias names (any case), or None."""
    return _per_catalog(_fabrics, name, _find_fabric)


def _find_fabric(name: str) -> NetworkFabric | None:
    for e in catalog().entries["fabrics"].values():
        if name.lower() == e.key.lower() or name.lower() in (a.lower() for a in e.aliases):
            return e.value
    return None


def resolve_fabric(fabric: Any) -> Any:
    """A catalog fabric's name (``"InfiniBand_NDR"``, alias ``"IB_NDR"``; any case) as its
    :class:`NetworkFabric`; anything else (None, a NetworkFabric, ``"NVLink"``, ``"PCIe"``) as given."""
    if not isinstance(fabric, str) or fabric.lower() in _OWN_LINKS:
        return fabric
    entry = _fabric_entry(fabric)
    if entry is None:
        from mlsysim_core.errors import did_you_mean

        names = [n for e in catalog().entries["fabrics"].values() for n in (e.key, *e.aliases)]
        raise InvalidInputError(
            "fabric",
            fabric,
            f"a catalog fabric (mlsysim catalog systems: InfiniBand_NDR, IB_NDR, RoCE_400G, ...), "
            f"{SCALE_UP!r} or {HOST_LINK!r}{did_you_mean(fabric, [*names, SCALE_UP, HOST_LINK])}",
        )
    return entry


def kv_link(fabric: Any, layout: Disagg, gpus_per_node: int) -> KVLink:
    """The link one GPU's KV share crosses: a catalog network fabric (one NIC port per GPU, as DGX/HGX
    nodes carry: 8 x 400 Gb/s for 8 GPUs), the scale-up link when both pools sit in one scale-up domain
    (NVLink, NVL72), or the host link (PCIe) when both sit in one node of ``gpus_per_node`` GPUs."""
    p, d = layout.prefill, layout.decode
    valid = f"a catalog fabric (mlsysim catalog systems: InfiniBand_NDR, RoCE_400G, ...), {SCALE_UP!r} or {HOST_LINK!r}"
    if isinstance(fabric, NetworkFabric):
        if fabric.si.latency is None:
            raise InvalidInputError(
                "fabric", fabric, f"a fabric with a latency in the catalog ({fabric.name} has none)"
            )
        return KVLink(fabric.name, fabric.si.bandwidth, fabric.si.latency)
    if not isinstance(fabric, str):
        raise InvalidInputError("fabric", fabric, valid)
    if fabric.lower() in (SCALE_UP.lower(), "nvl72", "scale_up"):
        links = (p.hardware.scale_up, d.hardware.scale_up)
        domain = links[0].domain if links[0] is not None else None
        if p.hardware is not d.hardware or links[0] is None or domain is None or p.gpus + d.gpus > domain:
            size = "no scale-up domain" if domain is None else f"{domain} GPUs"
            raise InvalidInputError(
                "fabric",
                fabric,
                f"{valid}: a scale-up link joins GPUs of one domain of one part ({p.hardware.name}: {size}); "
                f"the pools hold {p.gpus} {p.hardware.name} + {d.gpus} {d.hardware.name}",
            )
        return _link(links[0])
    if fabric.lower() in (HOST_LINK.lower(), "host_link"):
        a, b = p.hardware.interconnect, d.hardware.interconnect
        if a is None or b is None or p.gpus + d.gpus > gpus_per_node:
            raise InvalidInputError(
                "fabric",
                fabric,
                f"{valid}: a host link joins GPUs of one node ({gpus_per_node} GPUs, each with a host link in the "
                f"catalog); the pools hold {p.gpus} + {d.gpus}",
            )
        return _link(a if a.si.bandwidth <= b.si.bandwidth else b)
    entry = _fabric_entry(fabric)
    if entry is None:
        raise InvalidInputError("fabric", fabric, valid)
    return kv_link(entry, layout, gpus_per_node)


def _link(link: IOInterconnect) -> KVLink:
    from mlsysim_physics import efficiency as E

    latency, note = E.link_latency(link, link.name)
    return KVLink(link.name, link.si.bandwidth, latency, note)
