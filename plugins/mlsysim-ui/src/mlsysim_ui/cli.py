"""``mlsysim ui`` (the local web explorer) and ``mlsysim report`` (one page as a static HTML file)."""

from __future__ import annotations

import socket
import threading
import webbrowser

import click

_CTX = {"help_option_names": ["-h", "--help"]}


def _free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


@click.command("ui", context_settings=_CTX)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
def ui(port: int, no_browser: bool) -> None:
    """A local web explorer of every installed solver and the catalog (offline; Ctrl-C stops it).

    \b
    Example:
      mlsysim ui --port 8765
    """
    import uvicorn

    from .app import create_app

    host = "127.0.0.1"
    if port and not _free(host, port):
        raise click.BadParameter(f"{port} is in use; choose another or 0 for any free port", param_hint="--port")
    server = uvicorn.Server(uvicorn.Config(create_app(), host=host, port=port, log_level="warning"))

    def announce() -> None:
        while not server.started:
            threading.Event().wait(0.05)
        bound = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://{host}:{bound}/"
        click.echo(f"mlsysim explorer on {url} (Ctrl-C stops it)")
        if not no_browser:
            webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    server.run()


@click.command("report", context_settings=_CTX)
@click.argument("page")
@click.argument("values", nargs=-1, metavar="[FIELD=VALUE ...]")
@click.option(
    "--html",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="Write the page to this file (self-contained: styles and charts inline).",
)
def report(page: str, values: tuple, out: str) -> None:
    """Write one explorer PAGE with FIELD=VALUE inputs (the page's URL query) as a static HTML file.

    PAGE: roofline, serving, training, fleet, sweep, or solver/NAME for any installed solver.

    \b
    Example:
      mlsysim report serving model=Llama3_8B hardware=H100 seq_len=2048 --html serving.html
    """
    from mlsysim_core.errors import InvalidInputError

    from . import render
    from .forms import unbounded
    from .pages import unknown_field
    from .site import PAGES
    from .site import page as find_page

    try:
        p = find_page(page)
    except KeyError:
        import mlsysim
        from mlsysim_core.errors import did_you_mean

        head, _, name = page.rpartition("/")  # solver/NAME: NAME against the installed solvers' names
        if head:
            hint = did_you_mean(name, [*mlsysim.solvers()]).replace("mean ", "mean solver/").replace(", ", ", solver/")
        else:
            hint = did_you_mean(page, [*PAGES])
        raise InvalidInputError("PAGE", page, "one of " + ", ".join([*PAGES, "solver/NAME"]) + hint) from None
    pairs: dict[str, str] = {}
    for item in values:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise InvalidInputError("FIELD=VALUE", item, "FIELD=VALUE, e.g. seq_len=2048")
        if key in pairs:  # seq_len=1024 seq_len=2048 answered 2048, the first dropped without a word
            raise InvalidInputError(key, text, f"one value of {key} (it is also given as {pairs[key]!r})")
        pairs[key] = text
    bad = unknown_field(p.fields(pairs), pairs)
    if bad is not None:
        raise bad
    with unbounded():  # offline: the explorer's bounds on one page's work (forms.WORK_LIMITS) hold no server here
        answer = p.answer(pairs or render.values_for(p, {}))
        if answer.errors:
            raise click.ClickException(next(iter(answer.errors.values())))
        html = render.standalone_html(p, pairs or render.values_for(p, {}))
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(html)
    click.echo(f"wrote {out}")
