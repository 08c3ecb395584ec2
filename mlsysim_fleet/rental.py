"""What a GPU cloud would charge to rent a fleet for a committed term: the defaults and their sources
(EconomicsModel's rental estimate; the margin's range in ``mlsysim_uncertainty.RANGES``).

A provider's revenue is its operating cost divided by (1 - operating margin), by the definition of the
margin (operating income / revenue; operating income is before interest, so the margin pays the
provider's interest and profit). Its operating cost for a fleet rented for a committed term of T
years, every hour billed, is an owner's: the purchase written off over the term (nothing counted on
after it) plus energy and maintenance. Per accelerator-hour:
rate = (CapEx / T + OpEx per unit time) / (accelerators x (1 - m)).
"""

from __future__ import annotations

#: Operating margin of a GPU cloud (operating income / revenue). CoreWeave 2024: 324.4 of 1,915.4 M USD
#: = 0.169 (Form 10-K for 2024, consolidated statements of operations; the one filer whose revenue is GPU
#: rental alone). Range: Google Cloud 2024, 6.1 of 43.2 B USD = 0.141 (Alphabet Form 10-K for 2024,
#: segment results) to AWS 2024, 39.8 of 107.6 B USD = 0.370 (Amazon Form 10-K for 2024, note 10 segment
#: information); both segments also rent CPUs, storage and services.
DEFAULT_RENTAL_MARGIN = 0.169
RENTAL_MARGIN_RANGE = (0.141, 0.370)
#: Committed term (years) the rental estimate prices by default: the longest term AWS (3-year reserved
#: instances), Azure (3-year reservations) and Google Cloud (3-year committed use discounts) list for GPU
#: instances (``mlsysim_registry/data/prices.toml``, ``reserved_3yr``).
DEFAULT_RENTAL_YEARS = 3.0
#: Shortest term inside the estimate's domain (years): a provider renting a part for less expects to rent
#: it again afterwards (GPU clouds depreciate GPUs over 4 years, Nebius, to 6, CoreWeave since 2023; both
#: sell mostly committed take-or-pay capacity: 96 % of CoreWeave's revenue, S-1 2025), so writing the
#: purchase off within a shorter term overstates the price (an upper bound).
SHORTEST_TERM_YEARS = 3.0
