"""The FastAPI application behind ``mlsysim ui`` (served by uvicorn; htmx swaps the answers in)."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

import mlsysim

from . import catalog_view, render
from .pages import Page
from .site import page as find_page

_CACHE = {"Cache-Control": "public, max-age=86400"}


def _page(slug: str) -> Page:
    try:
        return find_page(slug)
    except KeyError:
        raise HTTPException(404, f"no page {slug!r}") from None


def create_app() -> FastAPI:
    """The app; plotly.min.js is served from the installed plotly wheel, htmx and styles from this package."""
    import plotly

    app = FastAPI(title="mlsysim explorer", docs_url=None, redoc_url=None, openapi_url=None)
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_min_js() -> FileResponse:
        return FileResponse(plotly_js, media_type="text/javascript", headers=_CACHE)

    app.mount("/static", StaticFiles(directory=render.STATIC), name="static")

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        return _index("home", "mlsysim explorer")

    @app.get("/solvers", response_class=HTMLResponse)
    def solvers() -> str:
        return _index("solvers", "All installed solvers")

    @app.get("/catalog", response_class=HTMLResponse)
    def catalog(q: str = "", section: str = "") -> str:
        return render.template("catalog.html").render(
            slug="catalog",
            title="Catalog",
            nav=render.nav(),
            q=q,
            section=section,
            sections=catalog_view.SECTIONS,
            items=render.catalog_rows(q, section),
        )

    @app.get("/catalog/rows", response_class=HTMLResponse)
    def catalog_rows(q: str = "", section: str = "") -> str:
        return render.template("_catalog_rows.html").render(items=render.catalog_rows(q, section))

    @app.get("/suggest", response_class=HTMLResponse)
    def suggest(request: Request, field: str, sections: str) -> str:
        wanted = tuple(s for s in sections.split(",") if s in catalog_view.SECTIONS)
        items = catalog_view.search(wanted, request.query_params.get(field, ""))
        return render.template("_suggest.html").render(items=items, field=field, sections=", ".join(wanted))

    @app.get("/p/{slug:path}", response_class=HTMLResponse)
    def full_page(slug: str, request: Request) -> str:
        page = _page(slug)
        return render.page_html(page, render.values_for(page, request.query_params))

    @app.get("/a/{slug:path}", response_class=HTMLResponse)
    def answer(slug: str, request: Request) -> HTMLResponse:
        page = _page(slug)
        values = dict(request.query_params)
        return HTMLResponse(
            render.answer_html(page, values), headers={"HX-Push-Url": f"/p/{slug}?{render.query_of(values)}"}
        )

    @app.get("/export/{slug:path}")
    def export(slug: str, request: Request) -> Response:
        page = _page(slug)
        html = render.standalone_html(page, render.values_for(page, request.query_params))
        name = "mlsysim-" + slug.replace("/", "-") + ".html"
        return Response(html, media_type="text/html", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return app


def _index(slug: str, title: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a broken plugin is shown in the table, not raised
        solvers, plugins = mlsysim.solvers(), mlsysim.plugins()
    return render.template("index.html").render(
        slug=slug, title=title, nav=render.nav(), solvers=solvers, plugins=plugins
    )


@contextmanager
def running(port: int = 0, app: FastAPI | None = None) -> Iterator[str]:
    """``app`` (default: :func:`create_app`) served by uvicorn in a background thread on 127.0.0.1
    (``port=0``: a free port); yields its base URL and stops it on exit (tests and bench/bench_ui.py)."""
    import uvicorn

    app = create_app() if app is None else app
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the explorer's server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
