"""What a GPU cloud would charge to rent a fleet for a committed term: the defaults, their sources and
the capital recovery factor (EconomicsModel's rental estimate; ranges in ``mlsysim_uncertainty.RANGES``).

A provider that buys the fleet with money costing ``r`` per year and rents it for a term of ``T``
years, every hour billed (a committed, take-or-pay term), recovers the purchase with the annuity
CapEx x CRF(r, T), CRF = r / (1 - (1 + r)^-T) (the capital recovery factor of engineering economics;
1/T at r = 0), pays the same energy and maintenance an owner pays, and keeps an operating margin m of
its revenue: rate = (CapEx x CRF / year + OpEx per unit time) / (accelerators x (1 - m)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Operating margin of a GPU cloud (operating income / revenue). CoreWeave 2024: 324.4 of 1,915.4 M USD
#: = 0.169 (Form 10-K for 2024, consolidated statements of operations; the one filer whose revenue is GPU
#: rental alone). Range: Google Cloud 2024, 6.1 of 43.2 B USD = 0.141 (Alphabet Form 10-K for 2024,
#: segment results) to AWS 2024, 39.8 of 107.6 B USD = 0.370 (Amazon Form 10-K for 2024, Note 10 segment
#: information); both segments also rent CPUs, storage and services.
DEFAULT_RENTAL_MARGIN = 0.169
RENTAL_MARGIN_RANGE = (0.141, 0.370)
#: Yearly cost of the money a GPU cloud buys accelerators with: CoreWeave's delayed-draw term loan DDTL 2.0,
#: its largest facility (3.84 B USD at 2024-12-31), secured by GPUs and their customer contracts, effective
#: interest rate 11 % (Form 10-Q for 2025-06-30, note 10 Debt: https://www.sec.gov/Archives/edgar/data/
#: 1769628/000114036125032095/R41.htm). Range: the same table's effective rates, 7 % (revolving credit
#: facility) to 15 % (DDTL 1.0).
DEFAULT_FINANCING_RATE = 0.11
FINANCING_RATE_RANGE = (0.07, 0.15)
#: Committed term (years) the rental estimate prices by default: the longest term AWS (3-year reserved
#: instances and savings plans), Azure (3-year reservations) and Google Cloud (3-year committed use
#: discounts) list for GPU instances (``mlsysim_registry/data/prices.toml``, ``reserved_3yr``).
DEFAULT_RENTAL_YEARS = 3.0


def capital_recovery_factor(rate: Any, years: Any) -> Any:
    """CRF(r, T) = r / (1 - (1 + r)^-T) per year, 1/T at r = 0: the yearly payment that repays 1 USD
    with interest r over T years (scalars or numpy arrays)."""
    r = np.asarray(rate, dtype=float)
    t = np.asarray(years, dtype=float)
    safe = np.where(r > 0.0, r, 1.0)  # no 0/0 on the r = 0 branch
    crf = np.where(r > 0.0, safe / -np.expm1(-t * np.log1p(safe)), 1.0 / t)
    return float(crf) if crf.ndim == 0 else crf
