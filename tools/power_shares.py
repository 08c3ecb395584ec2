"""Print the least-squares fit of the accelerator power model's shares of TDP (``mlsysim_physics.efficiency``
POWER_IDLE/COMPUTE/MEMORY_FRACTION) to the calibration set's measured board draws, each with its standard
error (its range in ``mlsysim_uncertainty.ranges``), and every point's draw at the fit and at the shipped
shares. The fit: ``mlsysim_validation.power_points.fit``; ``plugins/mlsysim-validation/tests/test_power_points.py``
fails when the shipped shares or their ranges no longer round from it.

    .venv/bin/python tools/power_shares.py
"""

from __future__ import annotations


def main() -> None:
    from mlsysim_validation import harness
    from mlsysim_validation import power_points as P

    from mlsysim_physics import efficiency as E

    measured = P.measured_points(harness.load_measurements() + harness.added_measurements())
    shares, errors = P.fit(measured)
    shipped = (E.POWER_IDLE_FRACTION, E.POWER_COMPUTE_FRACTION, E.POWER_MEMORY_FRACTION)
    for name, x, se, now in zip(("IDLE", "COMPUTE", "MEMORY"), shares, errors, shipped):
        print(f"{name:8s} fit {x:.3f} +- {se:.3f}  range {x - se:.2f}-{x + se:.2f}  shipped {now:.2f}")
    for pid, watts in measured.items():
        tdp, u_c, u_m = P.busy(pid)
        at_fit, shipped_w = P.power(pid, *shares), P.power(pid, *shipped)
        print(f"{pid:46s} u_c {u_c:.3f} u_m {u_m:.3f}  measured {watts:6.1f} W", end="")
        print(f"  fit {at_fit:6.1f}  shipped {shipped_w:6.1f}")


if __name__ == "__main__":
    main()
