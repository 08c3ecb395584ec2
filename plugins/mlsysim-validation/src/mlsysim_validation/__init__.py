"""Accuracy: the solvers' predictions checked against published measurements.

``run()`` maps every record of ``data/measurements.json`` (a copy of the shared calibration set) to
solver calls through the reviewed mapping in :mod:`mlsysim_validation.points`, and returns a
:class:`Report` of predicted vs measured, the error per point and the median/max error per group
(A inference, B serving, C training, D economics, E energy/carbon/water, F reliability, L and M
serving under load: TTFT and ITL, S speculative decoding).

    >>> from mlsysim_validation import run
    >>> print(run(groups=["B"]).table())          # doctest: +SKIP

Command line: ``mlsysim validate [--group B] [--json] [--plot out.png]`` (added through the
``mlsysim_cli_commands`` hook); ``python -m mlsysim_validation --record`` re-records the ratchet.
Names are imported on first use, so plugin discovery does not load the harness.
"""

from mlsysim_core.lazy import lazy_exports

_LAZY = {
    name: ".harness"
    for name in ("GROUPS", "Mapping", "Report", "Row", "load_measurements", "recorded_errors", "run", "upstream_errors")
}
__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
