"""The default catalog: every entry validates, has a source, and sits at upstream's attribute paths."""

from __future__ import annotations

import attrs
import pytest

import mlsysim
from mlsysim_core.errors import CatalogError, InvalidInputError, UnknownEntryError
from mlsysim_core.plugins import catalog

# Attribute paths users of upstream mlsysim 0.1.1 know (reference section 4) plus the guide's.
UPSTREAM_PATHS = """
Hardware.Cloud.V100 Hardware.Cloud.A100 Hardware.Cloud.H100 Hardware.Cloud.H200 Hardware.Cloud.B200
Hardware.Cloud.GB200_NVL72 Hardware.Cloud.MI300X Hardware.Cloud.MI250X Hardware.Cloud.Gaudi2
Hardware.Cloud.Gaudi3 Hardware.Cloud.Trainium2 Hardware.Cloud.TPUv5p Hardware.Cloud.TPUv6
Hardware.Cloud.T4 Hardware.Cloud.Cerebras_CS3 Hardware.Edge.JetsonOrinNX Hardware.Edge.Coral
Hardware.Workstation.DGX_Spark Hardware.Workstation.MacBookM3Max Hardware.Mobile.iPhone15Pro
Hardware.Mobile.Pixel8 Hardware.Mobile.Snapdragon8Gen3 Hardware.Tiny.ESP32_S3 Hardware.Tiny.nRF52840
Hardware.H100 Hardware.A100 Hardware.Networks.InfiniBand_NDR
Models.ResNet50 Models.Vision.ResNet50 Models.Vision.MobileNetV2 Models.Vision.YOLOv8_Nano
Models.Vision.AlexNet Models.Language.Llama3_8B Models.Language.Llama3_70B Models.Language.Llama2_70B
Models.Language.GPT2 Models.Language.GPT3 Models.Language.GPT4 Models.Language.BERT_Base
Models.Language.BERT_Large Models.Tiny.DS_CNN Models.Tiny.WakeVision Models.Tiny.AnomalyDetector
Models.Recommendation.DLRM Models.StateSpace.Mamba_130M Models.StateSpace.Mamba_2_8B
Models.GenerativeVision.StableDiffusion_v1_5 Models.Llama3_8B
Systems.Nodes.DGX_H100 Systems.Nodes.DGX_A100 Systems.Nodes.DGX_B200
Systems.Fabrics.Ethernet_10G Systems.Fabrics.Ethernet_100G Systems.Fabrics.InfiniBand_HDR
Systems.Fabrics.InfiniBand_NDR Systems.Clusters.Research_256 Systems.Clusters.Production_2K
Systems.Clusters.Frontier_8K Systems.Clusters.Mega_100K
Infra.Grids.Quebec Infra.Grids.Norway Infra.Grids.US_Avg Infra.Grids.Poland Infra.Quebec Infra.US_Avg
""".split()


@pytest.mark.parametrize("path", UPSTREAM_PATHS)
def test_upstream_paths_resolve(path):
    obj = mlsysim
    for part in path.split("."):
        obj = getattr(obj, part)
    assert obj.name


def test_every_entry_validates_and_has_a_source():
    cat = catalog()
    entries = cat.all_entries()
    assert len(entries) > 100
    for e in entries:
        assert e.value.source.strip(), f"{e.section}.{e.key} has no source"
        if e.section == "hardware":
            assert e.value.compute.peak_flops.to("FLOP/s").magnitude > 0
            assert e.value.memory.capacity.to("B").magnitude > 0
        # re-validation through attrs.evolve (converters are idempotent)
        attrs.evolve(e.value)


def test_no_plugin_failed_loading_the_default_catalog():
    catalog()
    failed = [r for r in mlsysim.plugins() if r.status == "failed"]
    assert not failed, failed


def test_fixed_upstream_errors():
    h = mlsysim.Hardware
    # capacity as the part reports it (nvidia-smi totals), the vendor's figure kept apart
    assert h.Cloud.H100.memory.capacity.to("MiB").magnitude == 81559
    assert h.Cloud.H100.memory.capacity_stated.to("GB").magnitude == pytest.approx(80)
    assert h.Cloud.A100.memory.capacity.to("MiB").magnitude == 81920
    assert h.Cloud.H200.memory.capacity.to("MiB").magnitude == 143771
    assert h.Cloud.B200.memory.capacity.to("MiB").magnitude == 183359  # '180 GB' (HGX/DGX) and '192 GB' (launch)
    assert h.Cloud.B200.memory.capacity_stated.to("GB").magnitude == pytest.approx(180)
    assert mlsysim.Models.Language.Llama2_70B.kv_heads == 8  # GQA
    assert h.Cloud.GB200_NVL72.compute.default_precision in ("fp16", "bf16")
    assert "v4" in h.Cloud.TPUv4.name and h.Cloud.TPUv4 is not h.Cloud.TPUv5p  # no longer an alias of v5p


def test_frontier_8k():
    f = mlsysim.Systems.Clusters.Frontier_8K
    assert f.count == 1024 and f.total_accelerators == 8192
    assert "NDR" in f.fabric.name


def test_unknown_name_lists_close_matches():
    with pytest.raises(UnknownEntryError, match="H100"):
        mlsysim.Hardware.Cloud.H10
    with pytest.raises(AttributeError):  # hasattr() keeps working
        mlsysim.Hardware.NoSuchThing
    assert mlsysim.Hardware.get("h100") is mlsysim.Hardware.Cloud.H100


def test_catalog_is_read_only_and_evolvable():
    h100 = mlsysim.Hardware.Cloud.H100
    with pytest.raises(AttributeError):
        mlsysim.Hardware.Cloud.H100 = None
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        h100.tdp = None
    slow = attrs.evolve(h100, tdp="500 W")
    assert slow.tdp.to("W").magnitude == 500 and h100.tdp.to("W").magnitude == 700


def test_unsupported_precision_lists_valid_ones():
    a100 = mlsysim.Hardware.Cloud.A100
    with pytest.raises(InvalidInputError, match="fp16"):
        a100.compute.peak("fp8")
    with pytest.raises(InvalidInputError, match="fp32"):
        a100.compute.peak("FP16")


BAD_FILES = {
    "malformed": ("[hardware.X\nname = 1", "not valid TOML"),
    "wrong_unit": (
        '[hardware.X]\nname="x"\npeak_flops={fp16="1 TB/s"}\nmemory={capacity="1 GB", bandwidth="1 GB/s"}\nsource="s"',
        "peak_flops",
    ),
    "missing_unit": (
        '[hardware.X]\nname="x"\npeak_flops={fp16="100"}\nmemory={capacity="1 GB", bandwidth="1 GB/s"}\nsource="s"',
        "peak_flops",
    ),
    "zero": (
        '[hardware.X]\nname="x"\npeak_flops={fp16="1 TFLOP/s"}\n'
        'memory={capacity="0 GB", bandwidth="1 GB/s"}\nsource="s"',
        "capacity",
    ),
    "unknown_field": ('[hardware.X]\nname="x"\npeak_flop={fp16="1 TFLOP/s"}\nsource="s"', "peak_flop"),
    "duplicate_key": ('[grids.G]\nname="g"\n[grids.G]\nname="h"', "not valid TOML"),
    "code_string": (
        "[hardware.X]\nname=\"x\"\npeak_flops={fp16=\"__import__('os').system('echo hi') FLOP/s\"}\n"
        'memory={capacity="1 GB", bandwidth="1 GB/s"}\nsource="s"',
        "peak_flops",
    ),
    "bad_reference": ('[nodes.N]\nname="n"\naccelerator="H1000"\naccelerators_per_node=8\nsource="s"', "H100"),
    "unknown_section": ('[gpus.X]\nname="x"', "unknown section"),
    "deep": ("[grids.G]\nname='g'\nx={a={b={c={d={e={f={g=1}}}}}}}", "nested"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_user_catalog_file_is_a_clear_error_and_loads_nothing(case, tmp_path):
    text, expected = BAD_FILES[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    before = len(catalog().all_entries())
    with pytest.raises(CatalogError, match=expected) as info:
        mlsysim.load_catalog(path)
    assert str(path) in str(info.value)
    assert len(catalog().all_entries()) == before


def test_catalog_values_are_hashable_by_value():
    h100 = mlsysim.Hardware.Cloud.H100
    assert {h100, attrs.evolve(h100)} == {h100}
    assert len({mlsysim.Systems.Clusters.Frontier_8K, mlsysim.Infra.Grids.Quebec, mlsysim.Models.Llama3_8B}) == 3


def test_catalog_values_and_results_compare_field_by_field():
    """``==`` and ``hash`` without generated code (mlsysim_core.fieldwise, issue 21): equal values of one class
    are equal and hash alike; one different field, or another class with the same fields, is unequal; a field
    with ``eq=False`` (``si``) is not compared."""
    h100, llama = mlsysim.Hardware.Cloud.H100, mlsysim.Models.Llama3_8B
    twin = attrs.evolve(h100)
    object.__setattr__(twin, "si", None)
    assert twin == h100 and hash(twin) == hash(h100) and not twin != h100
    assert attrs.evolve(h100, vendor="other") != h100 and h100 != llama and h100 != "H100"
    assert attrs.evolve(llama, name="x") != llama and (llama == 1) is False
    solve = mlsysim.ServingModel().solve
    a, b = solve("Llama3_8B", "H100", seq_len=2048), solve("Llama3_8B", "H100", seq_len=2048)
    assert a is not b and a == b and hash(a) == hash(b)
    assert solve("Llama3_8B", "H100", seq_len=1024) != a
