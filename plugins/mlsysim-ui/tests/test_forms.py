"""Forms from solve() signatures: kinds, defaults, help, conversion and error messages.

A third-party-style solver is declared here, so these tests need no solver plugin installed.
"""

from __future__ import annotations

from typing import Any

import pytest
from mlsysim_ui.forms import FormError, arg_docs, arguments, convert, field_of_error, fields_of

import mlsysim
from mlsysim import HardwareNode


class ThirdPartyModel:
    """A solver the explorer has never heard of."""

    def solve(
        self,
        hardware: HardwareNode,
        runs: int,
        scale: float = 1.0,
        label: str = "x",
        fast: bool = False,
        fleet: Any = None,
        budget: Any = None,
        *,
        note: str | None = None,
    ) -> None:
        """Solve it.

        Args:
            hardware: one accelerator, ``mlsysim.Hardware.H100``.
            runs: how many runs (integer >= 1).
            scale, label: two things described
                on two lines.
            fast: go fast (see :class:`Other`).
            fleet: a cluster.
            budget: USD or a Quantity.
            note: free text.
        """


def by_name() -> dict:
    return {f.name: f for f in fields_of(ThirdPartyModel)}


def test_kinds_defaults_and_required_come_from_the_signature():
    f = by_name()
    assert list(f) == ["hardware", "runs", "scale", "label", "fast", "fleet", "budget", "note"]
    assert (f["hardware"].kind, f["hardware"].sections, f["hardware"].required) == ("catalog", ("hardware",), True)
    assert (f["runs"].kind, f["runs"].required) == ("int", True)
    assert (f["scale"].kind, f["scale"].default, f["scale"].advanced) == ("float", 1.0, False)
    assert (f["fast"].kind, f["fast"].placeholder) == ("bool", "false")
    assert (f["fleet"].kind, f["fleet"].sections, f["fleet"].advanced) == ("catalog", ("clusters",), True)
    assert (f["budget"].kind, f["note"].kind) == ("any", "str")


def test_help_comes_from_the_args_section_without_markup():
    docs = arg_docs(ThirdPartyModel.solve)
    assert docs["hardware"] == "one accelerator, mlsysim.Hardware.H100."
    assert docs["scale"] == docs["label"] == "two things described on two lines."
    assert docs["fast"] == "go fast (see Other)."


def test_values_convert_to_numbers_quantities_booleans_and_catalog_parts():
    f = by_name()
    assert convert(f["runs"], " 12 ") == 12 and convert(f["scale"], "2.5") == 2.5
    assert convert(f["budget"], "3") == 3 and convert(f["budget"], "1e3") == 1000.0
    q = convert(f["budget"], "30 d")
    assert isinstance(q, mlsysim.Quantity) and q.to("h").magnitude == pytest.approx(720)
    assert convert(f["fast"], "TRUE") is True and convert(f["fast"], "false") is False
    assert convert(f["hardware"], "h100") is mlsysim.Hardware.Cloud.H100  # case-insensitive key
    # text that is not a number goes to the solver unchanged, so its own validation speaks
    assert convert(f["runs"], "many") == "many" and convert(f["label"], "12") == "12"


def test_quantity_text_is_parsed_strictly_not_evaluated():
    """pint's own parser evaluates expressions ("9 s*9**9**9" ran for minutes; "2**3 ms" was 8 ms): a form
    field takes "VALUE UNIT" only, anything else goes to the solver as text."""
    f = by_name()
    assert convert(f["budget"], "300ms") == mlsysim.Q_(300.0, "ms")
    for text in ("9 s*9**9**9", "2**3 ms", "1 ms + 2 s", "(1+1) d"):
        assert convert(f["budget"], text) == text


def test_empty_fields_take_the_solver_default_and_required_ones_are_named():
    with pytest.raises(FormError) as e:
        arguments(fields_of(ThirdPartyModel), {"hardware": "H100", "scale": ""})
    assert e.value.errors == {"runs": "runs is required"}
    kwargs = arguments(fields_of(ThirdPartyModel), {"hardware": "H100", "runs": "2", "scale": " "})
    assert set(kwargs) == {"hardware", "runs"}


def test_an_unknown_catalog_name_gets_the_catalogs_one_line_message_next_to_its_field():
    with pytest.raises(FormError) as e:
        arguments(fields_of(ThirdPartyModel), {"hardware": "H1OO", "runs": "1"})
    msg = e.value.errors["hardware"]
    assert "H1OO" in msg and "H100" in msg and "\n" not in msg
    with pytest.raises(mlsysim.UnknownEntryError) as direct:
        mlsysim.Hardware.get("H1OO")
    assert msg == " ".join(str(direct.value).split())


def test_an_invalid_input_error_is_placed_on_the_field_it_names():
    names = ["fleet", "runs"]
    assert field_of_error(mlsysim.InvalidInputError("runs", 0, ">= 1"), names) == "runs"
    assert field_of_error(mlsysim.InvalidInputError("fleet.node.count", 0, ">= 1"), names) == "fleet"
    assert field_of_error(mlsysim.InvalidInputError("other", 0, ">= 1"), names) == ""
    assert field_of_error(ValueError("x"), names) == ""
