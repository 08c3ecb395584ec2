"""A mapping that is one ``ServingModel`` solve: called, it returns the solve's field in ms; as a row
(:meth:`ServingCall.row`), the same solve is a measurement ``mlsysim calibrate`` reads
(:mod:`.runs`), so the calibration set's serving points can be calibrated on as a user's would be."""

from __future__ import annotations

from typing import Any

import attrs

from .runs import KNOWN, LOADS, SETTINGS


@attrs.frozen(eq=False)
class ServingCall:
    """``ServingModel().solve(model, hardware, seq_len[, batch_size], engine=engine, **arguments).field`` in ms
    (the catalog's ``Models.Language`` and ``Hardware.Cloud`` names)."""

    model: str
    hardware: str
    seq_len: int
    field: str
    engine: str | None
    arguments: dict[str, Any]
    batch_size: int | None = None

    def __call__(self) -> float:
        import mlsysim

        batch = () if self.batch_size is None else (self.batch_size,)
        r = mlsysim.ServingModel().solve(
            getattr(mlsysim.Models.Language, self.model),
            getattr(mlsysim.Hardware.Cloud, self.hardware),
            self.seq_len,
            *batch,
            engine=self.engine,  # selects a calibration scoped to the engine where the hardware has one
            **self.arguments,
        )
        return float(getattr(r, self.field).to("ms").magnitude)

    def row(self, value: float) -> dict[str, Any]:
        """This solve as a ``mlsysim calibrate`` row measured at ``value`` ms."""
        a = dict(self.arguments)
        row = dict(
            model=self.model,
            hardware=self.hardware,
            seq_len=self.seq_len,
            batch_size=self.batch_size,
            output_len=a.pop("output_len", None),
            precision=a.pop("precision", None),
            tp=a.pop("tp_size", None),
            engine=self.engine,
            quantity=self.field,
            value=value,
            unit="ms",
        )
        row |= {k: f"{a.pop(k)!r} s" for k in KNOWN if k in a}
        unread = sorted(set(a) - set(SETTINGS) - set(LOADS))
        if unread:
            raise ValueError(f"{', '.join(unread)}: not a column mlsysim calibrate reads (mlsysim_validation.runs)")
        return {k: v for k, v in (row | a).items() if v is not None}
