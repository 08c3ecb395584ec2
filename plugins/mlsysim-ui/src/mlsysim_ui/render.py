"""HTML of a page (live or standalone) from its form values: the one renderer behind the server,
the "Download HTML" button and ``mlsysim report --html``."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2

import mlsysim

from . import catalog_view
from .answers import Answer
from .forms import one_line
from .pages import Page, unknown_field
from .site import PAGES

HERE = Path(__file__).parent
STATIC = HERE / "static"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
)


def template(name: str) -> jinja2.Template:
    return _env.get_template(name)


def nav() -> list[Page]:
    return list(PAGES.values())


def query_of(values: Mapping[str, str]) -> str:
    """The URL query that restores ``values`` (empty fields dropped)."""
    return urlencode({k: v for k, v in values.items() if v})


def values_for(page: Page, query: Mapping[str, str]) -> dict[str, str]:
    """The form values of a request: the query as given, or the page's example when there is none."""
    return dict(query) if query else dict(page.example)


def context(page: Page, values: Mapping[str, str], **extra: Any) -> dict:
    fields = page.fields(values)
    bad = unknown_field(fields, values)
    answer = page.answer(values) if bad is None else Answer(errors={"": one_line(bad)})
    # optional fields the page's example sets are shown first, the rest under "more options"
    main = [f for f in fields if not f.advanced or f.name in page.example]
    sources = {name: source for name, _, source in answer.parts}
    solvers = page.available() if page.solvers else []
    return {
        "page": page,
        "slug": page.slug,
        "title": page.title,
        "nav": nav(),
        "values": dict(values),
        "fields": fields,
        "main_fields": main,
        "more_fields": [f for f in fields if f not in main],
        "answer": answer,
        "errors": answer.errors,
        "sources": sources,
        "query": query_of(values),
        "solvers": solvers,
        "missing": [s for s in page.solvers if s not in solvers],
        "all_solvers": list(mlsysim.solvers()),
        "version": mlsysim.__version__,
        "charts_possible": True,
        "precisions": list(mlsysim.PRECISION_BYTES),
        **extra,
    }


def page_html(page: Page, values: Mapping[str, str]) -> str:
    return template("page.html").render(context(page, values, standalone=False))


def answer_html(page: Page, values: Mapping[str, str]) -> str:
    return template("_answer.html").render(context(page, values, oob=True))


@lru_cache(maxsize=1)
def _inline_assets() -> tuple[str, str]:
    from plotly.offline import get_plotlyjs

    return (STATIC / "app.css").read_text(), get_plotlyjs()


def standalone_html(page: Page, values: Mapping[str, str]) -> str:
    """One self-contained file: styles and plotly.js inline, no server, no network."""
    css, plotly_js = _inline_assets()
    return template("page.html").render(context(page, values, standalone=True, css=css, plotly_js=plotly_js))


def catalog_rows(q: str, section: str) -> list:
    sections = (section,) if section in catalog_view.SECTIONS else catalog_view.SECTIONS
    return catalog_view.search(sections, q, limit=300)
