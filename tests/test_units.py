import pytest

from mlsysim_core.errors import InvalidInputError
from mlsysim_core.units import BYTE_PER_S, FLOP_PER_S, Q_, DimensionalityError, parse_quantity, to_si, ureg


def test_flops_never_become_bytes():
    with pytest.raises(DimensionalityError):
        Q_(1, "TFLOP/s").to("B/s")
    with pytest.raises(DimensionalityError):
        Q_(1, "USD").to("B")
    with pytest.raises(DimensionalityError):
        Q_(1, "GB").to("FLOP")


def test_decimal_and_binary_prefixes():
    assert Q_(80, "GB").to("B").magnitude == 80e9
    assert Q_(1, "GiB").to("B").magnitude == 2**30
    assert Q_(1, "TB/s").to("GB/s").magnitude == pytest.approx(1000)
    assert Q_(400, "Gbit/s").to("GB/s").magnitude == pytest.approx(50)


def test_guide_unit_string_parses():
    q = (Q_(989, "TFLOP/s") / Q_(700, "W")).to("TFLOPs/s/kW")
    assert q.magnitude == pytest.approx(1412.857, rel=1e-4)


def test_si_base_units():
    assert to_si(Q_(1, "kWh"), ureg.Unit("J"), name="e") == pytest.approx(3.6e6)
    assert to_si(Q_(20, "g/kWh"), ureg.Unit("g/kWh"), name="c") == pytest.approx(0.02 / 3.6e6)
    assert to_si(Q_(3.35, "TB/s"), BYTE_PER_S, name="bw") == pytest.approx(3.35e12)


def test_wrong_dimension_names_argument():
    with pytest.raises(InvalidInputError, match="bandwidth"):
        to_si(Q_(1, "TFLOP/s"), BYTE_PER_S, name="bandwidth")
    with pytest.raises(InvalidInputError, match="bandwidth"):
        to_si(3.0, BYTE_PER_S, name="bandwidth")
    # a compound unit is named as written, not in its base units (USD·s²/kg/m²: fuzz17's finding)
    with pytest.raises(InvalidInputError, match=r"kwh_price=.* expected a quantity convertible to USD/kWh$"):
        to_si(Q_(1, "USD/s"), ureg.Unit("USD/kWh"), name="kwh_price")
    with pytest.raises(InvalidInputError, match=r"expected a pint Quantity in g/kWh \(e\.g\. Q_\(1, 'g/kWh'\)\)$"):
        to_si(3.0, "g/kWh", name="carbon")


@pytest.mark.parametrize("text", ["", "abc", "1 +", "__import__('os') B/s", "1 FLOP/s", "1e3 GB/s extra"])
def test_parse_quantity_rejects(text):
    with pytest.raises(InvalidInputError):
        parse_quantity(text, BYTE_PER_S, name="bw")


def test_parse_quantity_accepts():
    assert parse_quantity("989.5 TFLOP/s", FLOP_PER_S, name="x").to("FLOP/s").magnitude == pytest.approx(989.5e12)
    assert parse_quantity("3.35TB/s", BYTE_PER_S, name="x").to("B/s").magnitude == pytest.approx(3.35e12)


def test_from_si_builds_the_quantity_pints_constructor_would():
    import pickle

    import numpy as np

    from mlsysim_core.units import from_si

    ms = from_si(0.004, "ms")
    assert ms == Q_(4.0, "ms") and ms.units == ureg.Unit("ms") and type(ms) is type(Q_(4.0, "ms"))
    assert ms.magnitude == pytest.approx(4.0)
    assert (ms + Q_(1, "s")).to("s").magnitude == pytest.approx(1.004)
    assert pickle.loads(pickle.dumps(ms)) == ms
    gb = from_si(np.array([1e9, 2.5e9]), "GB")
    assert gb.magnitude.tolist() == [1.0, 2.5] and f"{gb.units:~P}" == "GB"
    assert f"{from_si(2e12, 'TFLOP/s'):~P}" == "2.0 TFLOP/s"


def test_units_print_in_the_order_written():
    """TFLOP/s per kW prints as written, not sorted by unit name (pint's default gave 'TFLOP/kW/s'); a product
    keeps its factors' order too."""
    assert str(Q_(1, "TFLOPs/s/kW")) == "1 TFLOP/s/kW" and f"{Q_(2.5, 'TFLOP/s/kW'):~}" == "2.5 TFLOP / s / kW"
    assert str(Q_(3, "TFLOP/s") / Q_(1, "kW")) == "3.0 TFLOP/s/kW"
