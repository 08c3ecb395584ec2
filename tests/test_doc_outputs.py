"""Every output a document shows is what the program prints now (tools/doc_outputs.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("doc_outputs", Path(__file__).parents[1] / "tools" / "doc_outputs.py")
doc_outputs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(doc_outputs)


@pytest.mark.parametrize("path", doc_outputs.DOCUMENTS)
def test_document_outputs_are_current(path):
    diff = doc_outputs.stale(path)
    assert not diff, "\n".join(diff[:80]) + "\n\nregenerate: python tools/doc_outputs.py"


@pytest.mark.parametrize("path", (*doc_outputs.DOCUMENTS, *doc_outputs.CONSTANT_DOCUMENTS))
def test_documents_state_the_named_defaults_in_force(path):
    assert not doc_outputs.stale_constants(path)


def test_output_blocks_are_found_and_a_changed_number_is_caught():
    text = "```\n$ mlsysim plugins --json\n[]\n```\n\n```python\nprint(6 * 7)\n```\n\n```output\n41\n```\n"
    new = doc_outputs.regenerate(text)
    assert "\n42\n" in new and "\n41\n" not in new and '"default_catalog"' in new
