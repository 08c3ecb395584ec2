"""Entry point ``ui`` (group ``mlsysim``): adds ``mlsysim ui`` and ``mlsysim report`` to the command line.

Only click is imported here; FastAPI, uvicorn, Jinja2 and plotly load when a command runs.
"""

from mlsysim_core import hookimpl


@hookimpl
def mlsysim_cli_commands() -> list:
    from mlsysim_cli.api import LazyCommand  # the commands module is imported when its command runs

    return [LazyCommand("ui", "mlsysim_ui.cli:ui"), LazyCommand("report", "mlsysim_ui.cli:report")]
