"""Typed, frozen, validated catalog values: hardware, workloads, nodes, fleets, grids, datacenters.

Physical fields are pint Quantities (strings such as ``"80 GB"`` are parsed on construction, a
wrong dimension or a zero/negative value raises :class:`InvalidInputError` naming the field).
Each value also carries ``si``: the same numbers as plain SI floats, computed once, which the solver
kernels read (bytes, FLOP, s, W, USD, kg, m^3 are never mixed because the units were checked here).
Vary one field with ``attrs.evolve(mlsysim.Hardware.Cloud.H100, tdp="500 W")``.
"""

from __future__ import annotations

import copyreg
import math
from collections.abc import Mapping
from types import MappingProxyType, SimpleNamespace
from typing import TYPE_CHECKING, Any

import attrs
from attrs import field, frozen

from .errors import InvalidInputError
from .fieldwise import ByFields

if TYPE_CHECKING:
    from .units import Quantity

#: Bytes per element of each precision name mlsysim understands.
PRECISION_BYTES: Mapping[str, float] = MappingProxyType(
    {
        "fp64": 8.0,
        "fp32": 4.0,
        "tf32": 4.0,
        "bf16": 2.0,
        "fp16": 2.0,
        "fp8": 1.0,
        "fp6": 0.75,
        "fp4": 0.5,
        "int8": 1.0,
        "int4": 0.5,
    }
)


#: Which precision a part computes in when its catalog entry names no ``default_precision``: the
#: first of these it has a dense peak for (16-bit training/inference formats first).
PRECISION_PREFERENCE = ("bf16", "fp16", "fp32", "tf32", "fp8", "int8", "fp64", "fp6", "fp4", "int4")


def precision_bytes(precision: Any, argument: str = "precision") -> float:
    """Bytes per element for a precision name; unknown names are an error listing the valid ones."""
    b = PRECISION_BYTES.get(precision) if isinstance(precision, str) else None
    if b is None:
        raise InvalidInputError(argument, precision, "one of " + ", ".join(PRECISION_BYTES))
    return b


# --------------------------------------------------------------------------- field helpers

_QUANTITY = "mlsysim_quantity"  # field metadata: the unit of a Quantity field


def as_tuple(value: Any) -> tuple:  # attrs reads a builtin converter's signature via tokenize: ~8 ms at import
    return tuple(value)


def _to_quantity(unit_name: str, optional: bool, allow_zero: bool):
    def convert(value: Any, self_: Any, fld: attrs.Attribute) -> Any:
        from .units import _parse_units, magnitude, parse_quantity  # pint: only when a value is built

        unit = _parse_units(unit_name)
        if value is None:
            if optional:
                return None
            raise InvalidInputError(fld.name, value, f"a quantity in {unit:~P}")
        if isinstance(value, str):
            value = parse_quantity(value, unit, name=fld.name)
        m = magnitude(value, unit, name=fld.name)
        if not isinstance(m, (int, float)) or not math.isfinite(m) or m < 0 or (m == 0 and not allow_zero):
            raise InvalidInputError(
                fld.name, value, f"a finite {'non-negative' if allow_zero else 'positive'} quantity in {unit:~P}"
            )
        return value

    return attrs.Converter(convert, takes_self=True, takes_field=True)


def qty(unit: str, *, optional: bool = False, allow_zero: bool = False, default: Any = attrs.NOTHING):
    """An attrs field holding a validated Quantity of ``unit``'s dimension."""
    if optional and default is attrs.NOTHING:
        default = None
    return field(converter=_to_quantity(unit, optional, allow_zero), default=default, metadata={_QUANTITY: unit})


#: Largest count a catalog value may hold (parameters, layers, node counts): 2**53, beyond which
#: the SI floats the kernels compute with no longer represent every integer.
MAX_INT = 2**53


def _check_int(minimum: int, optional: bool = False):
    def check(inst: Any, fld: attrs.Attribute, value: Any) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_INT:
            raise InvalidInputError(fld.name, value, f"an integer in [{minimum}, 2**53]")

    return check


def count(minimum: int = 1, *, optional: bool = False, default: Any = attrs.NOTHING):
    """An attrs field holding an integer count >= ``minimum``."""
    if optional and default is attrs.NOTHING:
        default = None
    return field(validator=_check_int(minimum, optional), default=default)


def _check_ratio(low: float, high: float, optional: bool = False):
    def check(inst: Any, fld: attrs.Attribute, value: Any) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= value <= high):
            raise InvalidInputError(fld.name, value, f"a number in [{low}, {high}]")

    return check


def _check_str(inst: Any, fld: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, str) or (fld.name == "name" and not value.strip()):
        raise InvalidInputError(fld.name, value, "a non-empty string" if fld.name == "name" else "a string")


def _check_bool(inst: Any, fld: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidInputError(fld.name, value, "true or false")


def text(default: Any = attrs.NOTHING):
    return field(validator=_check_str, default=default)


def _instance_of(cls: type, optional: bool = False):
    def check(inst: Any, fld: attrs.Attribute, value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, cls):
            raise InvalidInputError(fld.name, value, f"a {cls.__name__}")

    return check


def _si(q: Quantity | None, unit: str) -> float | None:
    """SI base-unit float of a validated Quantity (None stays None)."""
    from .units import to_si

    return None if q is None else float(to_si(q, unit, name="value"))


class Deferred(tuple):
    """A Quantity as the catalog cache stores it, (magnitude, units text), so a cached catalog loads
    without pint; the fields of :func:`_lazy_quantities` and FrozenMap build it on first read."""

    __slots__ = ()

    def quantity(self) -> Quantity:
        from .units import _rebuild

        return _rebuild(*self)


def _lazy_quantities(*classes: type) -> None:
    """Read each class's Quantity slots through a property replacing a :class:`Deferred` on first read."""

    def lazy(slot: Any) -> property:
        def get(obj: Any) -> Any:
            v = slot.__get__(obj)
            if v.__class__ is Deferred:
                slot.__set__(obj, v := v.quantity())
            return v

        return property(get, slot.__set__)

    for cls in classes:
        names = frozenset(f.name for f in attrs.fields(cls) if _QUANTITY in f.metadata)
        for name in names & cls.__dict__.keys():
            setattr(cls, name, lazy(cls.__dict__[name]))
        cls._lazy_quantities = names  # type: ignore[attr-defined]  # read by catalog_cache._Pickler


class FrozenMap(Mapping):
    """A read-only, hashable mapping (so catalog values can be set members and dict keys)."""

    __slots__ = ("_d", "_h")
    _d: dict[str, Any]
    _h: int | None

    def __init__(self, items: Any = ()):
        object.__setattr__(self, "_d", dict(items or {}))
        object.__setattr__(self, "_h", None)

    def __getitem__(self, key: str) -> Any:
        v = self._d[key]
        if v.__class__ is Deferred:
            v = self._d[key] = v.quantity()
        return v

    def __iter__(self):
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        h = self._h
        if h is None:
            h = hash(frozenset((k, str(v)) for k, v in self.items()))
            object.__setattr__(self, "_h", h)
        return h

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("FrozenMap is read-only")

    def __reduce__(self) -> tuple:
        return (FrozenMap, (self._d,))  # pickle (dask/multiprocessing workers) without __setattr__

    def __repr__(self) -> str:
        return f"FrozenMap({dict(self.items())!r})"


def _read_only(d: dict) -> MappingProxyType:
    return MappingProxyType(d)


def _mappingproxy(m: MappingProxyType) -> tuple:
    return (_read_only, (dict(m),))


# Catalog values hold read-only views (MappingProxyType), which pickle cannot copy by default:
# rebuild them over a copy, so catalog objects reach dask / multiprocessing workers.
copyreg.pickle(MappingProxyType, _mappingproxy)


def _frozen_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, FrozenMap) else FrozenMap(value)


def _set_si(obj: Any, **values: Any) -> None:
    """Attach the plain-SI-float view the kernels read (built once per value)."""
    object.__setattr__(obj, "si", SimpleNamespace(**values))


def _si_field() -> Any:
    return field(init=False, repr=False, eq=False, default=None)


# --------------------------------------------------------------------------- hardware


def _named_repr(self: Any) -> str:
    """A catalog object in one line: its type and name (every field: attrs.asdict(obj))."""
    return f"{type(self).__name__}({getattr(self, 'name', None) or getattr(self, 'part', '')!r})"


@frozen(kw_only=True, eq=False)
class Catalogued(ByFields):
    """A catalog entry's value: each number's tier and range (``mlsysim_uncertainty.provenance``)."""

    provenance: Mapping[str, Any] = field(factory=dict, converter=_frozen_map)


@frozen(kw_only=True, eq=False)
class ComputeCore(ByFields):
    """Dense peak FLOP/s per precision; ``peak_flops`` is the peak at ``default_precision``
    (default: the first of :data:`PRECISION_PREFERENCE` the part has a peak for)."""

    precision_flops: Mapping[str, Quantity] = field(converter=_frozen_map)
    default_precision: str | None = field(default=None)
    si: Any = _si_field()

    def __attrs_post_init__(self) -> None:
        from .units import FLOP_PER_S, parse_quantity, to_si

        if not self.precision_flops:
            raise InvalidInputError("precision_flops", {}, "at least one precision with its dense peak")
        peaks = {}
        for prec, value in self.precision_flops.items():
            precision_bytes(prec, f"precision_flops.{prec}")
            if isinstance(value, str):
                value = parse_quantity(value, FLOP_PER_S, name=f"precision_flops.{prec}")
            m = to_si(value, FLOP_PER_S, name=f"precision_flops.{prec}")
            if not math.isfinite(m) or m <= 0:
                raise InvalidInputError(f"precision_flops.{prec}", value, "a finite positive FLOP/s")
            peaks[prec] = (value, float(m))
        object.__setattr__(self, "precision_flops", FrozenMap({k: v[0] for k, v in peaks.items()}))
        if self.default_precision is None:
            object.__setattr__(self, "default_precision", next(p for p in PRECISION_PREFERENCE if p in peaks))
        if self.default_precision.__class__ is not str or self.default_precision not in peaks:
            raise InvalidInputError("default_precision", self.default_precision, "one of " + ", ".join(peaks))
        _set_si(self, peaks=MappingProxyType({k: v[1] for k, v in peaks.items()}))

    @property
    def peak_flops(self) -> Quantity:
        """Dense peak at the default precision (fp16/bf16 where the part has it)."""
        assert self.default_precision is not None  # set in __attrs_post_init__
        return self.precision_flops[self.default_precision]

    def peak(self, precision: str) -> float:
        """Dense peak FLOP/s (SI float) at ``precision``; an unsupported precision lists the valid ones."""
        try:
            return self.si.peaks[precision]
        except (KeyError, TypeError):
            precision_bytes(precision)  # unknown name -> error listing every precision
            raise InvalidInputError(
                "precision", precision, "one this hardware supports: " + ", ".join(self.si.peaks)
            ) from None


@frozen(kw_only=True, eq=False)
class MemoryHierarchy(ByFields):
    """Main memory: ``capacity`` is the total the part reports to software (nvidia-smi / rocm-smi /
    hl-smi, or the vendor's GiB figure), which is what a deployment can plan against; the marketing
    figure ("80 GB", often GiB-sized in practice) is kept apart as ``capacity_stated``."""

    capacity: Quantity = qty("B")
    bandwidth: Quantity = qty("B/s")
    type: str = text("")
    capacity_stated: Quantity | None = qty("B", optional=True)
    si: Any = _si_field()

    def __attrs_post_init__(self) -> None:
        stated = _si(self.capacity_stated, "B")
        _set_si(self, capacity=_si(self.capacity, "B"), bandwidth=_si(self.bandwidth, "B/s"), capacity_stated=stated)


@frozen(kw_only=True, eq=False)
class IOInterconnect(ByFields):
    """A link: bandwidth per direction, latency per hop and, for a scale-up fabric, ``domain``: how
    many accelerators it joins in one all-to-all domain (8 in an HGX board, 72 in a GB200 NVL72 rack).
    An unpublished latency stays ``None`` (``si.latency`` too): solvers then apply
    :func:`link_latency`'s documented default and say so in the result's notes, never a silent 0."""

    name: str = text()
    bandwidth: Quantity = qty("B/s")
    latency: Quantity | None = qty("s", optional=True, allow_zero=True)
    domain: int | None = count(1, optional=True)
    si: Any = _si_field()

    def __attrs_post_init__(self) -> None:
        _set_si(self, bandwidth=_si(self.bandwidth, "B/s"), latency=_si(self.latency, "s"))


@frozen(kw_only=True, eq=False)
class HardwareNode(Catalogued):
    """One accelerator (or a rack-scale system treated as one) as its datasheet states it."""

    name: str = text()
    compute: ComputeCore = field(validator=_instance_of(ComputeCore))
    memory: MemoryHierarchy = field(validator=_instance_of(MemoryHierarchy))
    vendor: str = text("")
    release_year: int | None = count(1940, optional=True)
    interconnect: IOInterconnect | None = field(default=None, validator=_instance_of(IOInterconnect, True))
    scale_up: IOInterconnect | None = field(default=None, validator=_instance_of(IOInterconnect, True))
    tdp: Quantity | None = qty("W", optional=True)
    unit_cost: Quantity | None = qty("USD", optional=True)
    embodied_carbon: Quantity | None = qty("kg", optional=True)
    dispatch_tax: Quantity = qty("s", allow_zero=True, default="10 us")
    source: str = text("")
    notes: str = text("")
    field_sources: Mapping[str, str] = field(factory=dict, converter=_frozen_map)
    calibration: Mapping[str, Any] = field(factory=dict, converter=_frozen_map)  # mlsysim_uncertainty.calibration
    si: Any = _si_field()

    def __attrs_post_init__(self) -> None:
        _set_si(
            self,
            capacity=self.memory.si.capacity,
            bandwidth=self.memory.si.bandwidth,
            tdp=_si(self.tdp, "W"),
            unit_cost=_si(self.unit_cost, "USD"),
            embodied_carbon=_si(self.embodied_carbon, "kg"),
            dispatch_tax=_si(self.dispatch_tax, "s"),
        )

    # upstream-compatible shortcuts
    @property
    def peak_flops(self) -> Quantity:
        return self.compute.peak_flops

    @property
    def memory_bw(self) -> Quantity:
        return self.memory.bandwidth

    @property
    def memory_capacity(self) -> Quantity:
        return self.memory.capacity

    @property
    def embodied_carbon_kg(self) -> float | None:
        return self.si.embodied_carbon

    def precision_or_default(self, precision: str | None) -> tuple[str, str | None]:
        """(precision to compute in, note): ``precision`` if given (an unknown or unsupported one is an
        error naming this part and its precisions), else the part's ``default_precision`` and a note
        saying so, for the result's notes."""
        if precision is None:
            p = self.compute.default_precision
            assert p is not None  # set in ComputeCore.__attrs_post_init__
            return p, f"precision: {p} ({self.name}'s default_precision; none was given)"
        if precision.__class__ is not str or precision not in self.compute.si.peaks:
            precision_bytes(precision)  # unknown name -> error listing every precision
            raise InvalidInputError(
                "precision",
                precision,
                f"a precision {self.name} has a dense peak for: " + ", ".join(self.compute.si.peaks),
            )
        return precision, None

    def ridge_point(self, precision: str | None = None) -> Quantity:
        """Ridge point F/W in FLOP/byte (Williams et al. 2009) at ``precision`` (default peak)."""
        from .units import FLOP_PER_BYTE, Q_

        peak = self.compute.peak(precision or self.precision_or_default(None)[0])
        return Q_(peak / self.si.bandwidth, FLOP_PER_BYTE)

    def __repr__(self) -> str:
        return f"HardwareNode({self.name!r}, {self.release_year})"


# --------------------------------------------------------------------------- workloads


@frozen(kw_only=True, eq=False)
class Workload(Catalogued):
    """A model as a bag of per-sample costs: FLOPs, parameters and activation elements.

    ``flops_per_sample`` is one forward pass of one sample (2 FLOP per multiply-accumulate);
    ``activations_per_sample`` counts output elements written per sample (read back once).
    """

    name: str = text()
    parameters: int = count(1)
    flops_per_sample: Quantity | None = qty("FLOP", optional=True)
    activations_per_sample: int | None = count(0, optional=True)
    layers: int | None = count(1, optional=True)
    architecture: str = text("workload")
    input: str = text("")
    source: str = text("")
    notes: str = text("")
    si: Any = _si_field()

    def __attrs_post_init__(self) -> None:
        _set_si(self, flops_per_sample=_si(self.flops_per_sample, "FLOP"))

    def omissions(self) -> tuple[str, ...]:
        """Result notes for optional fields this entry leaves out that a solver counts as zero (never silently)."""
        notes: tuple[str, ...] = ()
        if self.activations_per_sample is None:
            notes += (f"{self.name}: activations_per_sample not given, activation traffic counted as 0",)
        if self.layers is None:
            notes += (f"{self.name}: layers not given, per-layer overhead counted once",)
        return notes

    def weight_bytes(self, precision: str = "fp16") -> float:
        """Bytes of weights at ``precision`` = parameters x bytes per element."""
        return self.parameters * precision_bytes(precision)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


@frozen(kw_only=True, eq=False)
class CNNWorkload(Workload):
    """A convolutional (or other fixed-shape) network; FLOPs per sample are required."""

    architecture: str = text("cnn")

    def __attrs_post_init__(self) -> None:
        if self.flops_per_sample is None:
            raise InvalidInputError("flops_per_sample", None, "a FLOP count per sample for a CNN")
        super().__attrs_post_init__()


#: What a transformer's forward pass is: "decoder" (causal, autoregressive: prefill then one token per
#: decode step, GPT/Llama), "encoder" (bidirectional, every token of the sequence in one forward pass,
#: no decode step: BERT, a ViT's or T5's encoder stack) or "encoder-decoder" (T5: an encoder pass over
#: the input, then autoregressive decoding).
TRANSFORMER_STACKS = ("decoder", "encoder", "encoder-decoder")
MLP_KINDS = ("gelu", "relu", "swiglu", "geglu")  # y = W2 act(W1 x); gated: W_d (act(W_g x) * W_u x) (Shazeer 2020)


def _check_choice(name: str, choices: tuple):
    def check(inst: Any, fld: attrs.Attribute, value: Any) -> None:
        if value not in choices:
            raise InvalidInputError(name, value, "one of " + ", ".join(repr(c) for c in choices))

    return check


@frozen(kw_only=True, eq=False)
class TransformerWorkload(Workload):
    """A transformer by its geometry (dense, GQA/MQA, MoE, or MLA attention).

    Decoder forward FLOPs per token ~= 2 * matmul parameters + 4 * L * context * heads * head_dim
    (Kaplan et al. 2020, "Scaling Laws", Table 1; attention halved by the causal mask in prefill).
    """

    architecture: str = text("transformer")
    stack: str = field(default="decoder", validator=_check_choice("stack", TRANSFORMER_STACKS))
    layers: int = count(1)
    hidden_dim: int = count(1)
    heads: int = count(1)
    kv_heads: int | None = count(1, optional=True)
    head_dim: int | None = count(1, optional=True)
    ffn_dim: int | None = count(1, optional=True)
    vocab_size: int | None = count(1, optional=True)
    max_seq_len: int | None = count(1, optional=True)
    tied_embeddings: bool = field(default=False, validator=_check_bool)
    mlp: str | None = field(default=None, validator=attrs.validators.optional(_check_choice("mlp", MLP_KINDS)))
    experts: int | None = count(1, optional=True)
    active_experts: int | None = count(1, optional=True)
    active_parameters: int | None = count(1, optional=True)
    kv_lora_rank: int | None = count(1, optional=True)
    qk_rope_head_dim: int | None = count(1, optional=True)
    routing_node_limit: int | None = count(1, optional=True)  # MoE: scale-up domains a token's experts span
    moe_layers: int | None = count(1, optional=True)  # MoE: layers with routed experts (default: every layer)

    def __attrs_post_init__(self) -> None:
        kv = self.kv_heads or self.heads
        if kv > self.heads or self.heads % kv:
            raise InvalidInputError("kv_heads", self.kv_heads, f"a divisor of heads={self.heads}")
        if (self.experts is None) != (self.active_experts is None):
            raise InvalidInputError("active_experts", self.active_experts, "given together with experts")
        if self.experts is not None and self.active_experts is not None and self.active_experts > self.experts:
            raise InvalidInputError("active_experts", self.active_experts, f"<= experts={self.experts}")
        if self.moe_layers is not None and (not self.is_moe or self.moe_layers > self.layers):
            raise InvalidInputError("moe_layers", self.moe_layers, f"<= layers={self.layers}, for a MoE model")
        if self.active_parameters is not None and self.active_parameters > self.parameters:
            raise InvalidInputError("active_parameters", self.active_parameters, f"<= parameters={self.parameters}")
        hd = self.head_dim or self.hidden_dim // self.heads
        if hd < 1:
            raise InvalidInputError(
                "heads",
                self.heads,
                f"<= hidden_dim={self.hidden_dim} (head_dim = hidden_dim // heads), or give head_dim",
            )
        embed = (self.vocab_size or 0) * self.hidden_dim
        active = self.active_parameters or self.parameters
        # Parameters touched by matmuls per token: active minus the input embedding (a lookup),
        # the LM head stays (it is a matmul whether or not it is tied).
        matmul = active - (embed if not self.tied_embeddings else 0)
        if matmul <= 0:
            matmul = active
        if self.kv_lora_rank is not None:
            kv_elems = self.layers * (self.kv_lora_rank + (self.qk_rope_head_dim or 0))
        else:
            kv_elems = 2 * self.layers * kv * hd
        _set_si(
            self,
            head_dim=hd,
            kv_heads=kv,
            active_parameters=active,
            matmul_parameters=matmul,
            kv_elements_per_token=kv_elems,
            attn_dim=self.heads * hd,
            flops_per_sample=_si(self.flops_per_sample, "FLOP"),
        )

    def omissions(self) -> tuple[str, ...]:
        """Notes for geometry left out: without ``vocab_size`` no embedding/LM head counted apart, no logits sized."""
        if self.vocab_size is None:
            return (f"{self.name}: vocab_size not given, embedding/LM head and logits counted as 0",)
        return ()

    @property
    def is_moe(self) -> bool:
        return self.experts is not None and self.experts > 1

    def kv_cache_bytes(self, seq_len: float, batch_size: float = 1, precision: str = "fp16") -> float:
        """KV cache bytes = 2 * L * h_kv * d_h * S * B * b (GQA; MLA: L * (r_kv + d_rope) * S * B * b)."""
        return self.si.kv_elements_per_token * seq_len * batch_size * precision_bytes(precision)


# --------------------------------------------------------------------------- systems


@frozen(kw_only=True, eq=False)
class NetworkFabric(Catalogued):
    """A network: per-port, per-direction bandwidth, latency, topology, oversubscription."""

    __repr__ = _named_repr

    name: str = text()
    bandwidth: Quantity = qty("B/s")
    latency: Quantity | None = qty("s", optional=True, allow_zero=True)
    topology: str = text("fat-tree")
    oversubscription: float = field(default=1.0, validator=_check_ratio(1.0, 1e3))
    source: str = text("")
    si: Any = _si_field()

    def __attrs_post_init__(self) -> None:
        from .units import to_si

        _set_si(
            self,
            bandwidth=float(to_si(self.bandwidth, "B/s", name="bandwidth")) / self.oversubscription,
            latency=_si(self.latency, "s"),
        )


#: what a Component's failures are: a part breaking, a software fault, or an operations event
#: (maintenance); a hardware-only failure count takes the first only
FAILURE_KINDS = ("hardware", "software", "operations")


@frozen(kw_only=True, eq=False)
class Component(ByFields):
    """A cause of job interruptions on a node (a part, or a software/operations cause): how many per
    node, the mean time between its failures per unit, its kind, where it was measured and the source."""

    __repr__ = _named_repr

    part: str = text()
    count: int = count(1)
    mttf: Quantity = qty("h")
    kind: str = field(default="hardware", validator=_check_choice("kind", FAILURE_KINDS))
    measured_on: str = text("")  # the cluster the rate was measured on ("" when derived or unknown)
    source: str = text("")


@frozen(kw_only=True, eq=False)
class Node(Catalogued):
    """A server: accelerators, the link between them, NICs, power draw and reliability parts."""

    __repr__ = _named_repr

    name: str = text()
    accelerator: HardwareNode = field(validator=_instance_of(HardwareNode))
    accelerators_per_node: int = count(1)
    intra_node: NetworkFabric | None = field(default=None, validator=_instance_of(NetworkFabric, True))
    nics_per_node: int = count(0, default=1)
    psus_per_node: int = count(0, default=2)
    power_max: Quantity | None = qty("W", optional=True)
    power_idle: Quantity | None = qty("W", optional=True)
    host_cost: Quantity | None = qty("USD", optional=True, allow_zero=True)
    components: tuple = field(factory=tuple, converter=as_tuple)
    source: str = text("")
    field_sources: Mapping[str, str] = field(factory=dict, converter=_frozen_map)
    si: Any = _si_field()

    def __attrs_post_init__(self) -> None:
        for c in self.components:
            if not isinstance(c, Component):
                raise InvalidInputError("components", c, "a tuple of Component")
        pmax, pidle = _si(self.power_max, "W"), _si(self.power_idle, "W")
        if pmax is not None and pidle is not None and pidle > pmax:
            raise InvalidInputError("power_idle", self.power_idle, f"<= power_max={self.power_max}")
        link = self.intra_node
        _set_si(
            self,
            power_max=pmax,
            power_idle=pidle,
            host_cost=_si(self.host_cost, "USD"),
            intra_bandwidth=link.si.bandwidth if link else None,
            intra_latency=link.si.latency if link else None,
        )

    @property
    def intra_node_bw(self) -> Quantity | None:
        return self.intra_node.bandwidth if self.intra_node else None


@frozen(kw_only=True, eq=False)
class GridProfile(Catalogued):
    """An electricity grid: carbon intensity, price, off-site water, and its typical datacenter."""

    __repr__ = _named_repr

    name: str = text()
    carbon_intensity: Quantity = qty("g/kWh", allow_zero=True)
    electricity_price: Quantity | None = qty("USD/kWh", optional=True)
    water_intensity: Quantity | None = qty("L/kWh", optional=True, allow_zero=True)
    typical_pue: float = field(default=1.2, validator=_check_ratio(1.0, 5.0))
    typical_wue: Quantity = qty("L/kWh", allow_zero=True, default="0 L/kWh")
    source: str = text("")
    si: Any = _si_field()

    def __attrs_post_init__(self) -> None:
        _set_si(
            self,
            carbon_intensity=_si(self.carbon_intensity, "g/kWh"),  # kg/J
            electricity_price=_si(self.electricity_price, "USD/kWh"),
            water_intensity=_si(self.water_intensity, "L/kWh"),
            typical_wue=_si(self.typical_wue, "L/kWh"),
        )

    # upstream-compatible names
    @property
    def carbon_intensity_g_kwh(self) -> float:
        return float(self.carbon_intensity.to("g/kWh").magnitude)

    @property
    def pue(self) -> float:
        return self.typical_pue

    @property
    def wue(self) -> float:
        """Typical on-site WUE in L/kWh (upstream name)."""
        return float(self.typical_wue.to("L/kWh").magnitude)


STORAGE_KINDS = ("parallel-filesystem", "object-store", "node-local")


@frozen(kw_only=True, eq=False)
class StorageTier(Catalogued):
    """Where checkpoints are written: the aggregate write bandwidth of a shared system (all clients
    together) and/or the write bandwidth one node reaches (its storage NICs or local drives); a
    node-local tier has only the latter. A checkpoint of B bytes from n nodes takes
    max(B / aggregate, B / (n x node)) (the slower of the shared system and the clients)."""

    name: str = text()
    kind: str = field(default="parallel-filesystem", validator=_check_choice("kind", STORAGE_KINDS))
    write_bandwidth: Quantity | None = qty("B/s", optional=True)
    node_write_bandwidth: Quantity | None = qty("B/s", optional=True)
    source: str = text("")
    si: Any = _si_field()

    def __attrs_post_init__(self) -> None:
        if self.write_bandwidth is None and self.node_write_bandwidth is None:
            raise InvalidInputError(
                "write_bandwidth", None, "an aggregate write bandwidth, a node_write_bandwidth, or both"
            )
        if self.kind == "node-local" and self.write_bandwidth is not None:
            raise InvalidInputError(
                "write_bandwidth",
                self.write_bandwidth,
                "None for a node-local tier (give node_write_bandwidth: each node writes to its own drives)",
            )
        _set_si(
            self,
            write_bandwidth=_si(self.write_bandwidth, "B/s"),
            node_write_bandwidth=_si(self.node_write_bandwidth, "B/s"),
        )


@frozen(kw_only=True, eq=False)
class Datacenter(Catalogued):
    """A facility on a grid: PUE (>= 1) and on-site WUE (litres per IT kWh)."""

    __repr__ = _named_repr

    name: str = text()
    grid: GridProfile = field(validator=_instance_of(GridProfile))
    pue: float = field(validator=_check_ratio(1.0, 5.0))
    wue: Quantity = qty("L/kWh", allow_zero=True)
    source: str = text("")
    si: Any = _si_field()

    def __attrs_post_init__(self) -> None:
        _set_si(self, wue=_si(self.wue, "L/kWh"))


@frozen(kw_only=True, eq=False)
class Fleet(Catalogued):
    """A cluster: ``count`` identical nodes on a fabric, optionally in a datacenter."""

    name: str = text()
    node: Node = field(validator=_instance_of(Node))
    count: int = count(1)
    fabric: NetworkFabric | None = field(default=None, validator=_instance_of(NetworkFabric, True))
    datacenter: Datacenter | None = field(default=None, validator=_instance_of(Datacenter, True))
    mtbf: Quantity | None = qty("h", optional=True)
    source: str = text("")

    @property
    def total_accelerators(self) -> int:
        return self.count * self.node.accelerators_per_node

    def __repr__(self) -> str:
        return f"Fleet({self.name!r}, {self.count} x {self.node.name!r}, {self.total_accelerators} accelerators)"

    @property
    def accelerator(self) -> HardwareNode:
        return self.node.accelerator


Cluster = Fleet

CATALOG_TYPES = (HardwareNode, Workload, NetworkFabric, Node, Fleet, GridProfile, Datacenter)
_lazy_quantities(*CATALOG_TYPES, MemoryHierarchy, IOInterconnect, Component, StorageTier)  # subclasses inherit
