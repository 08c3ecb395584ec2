"""``python -m mlsysim_validation [--record] [--group X ...] [-v]``: print the accuracy table;
``--record`` writes the current per-group medians/maxima to data/recorded_errors.json (the ratchet
that tests/test_accuracy.py holds the harness to). Record only after an improvement you can explain."""

from __future__ import annotations

import argparse
import json

from .harness import data_path, run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group", action="append", help="group letter (repeatable); default all")
    ap.add_argument("--record", action="store_true", help="write data/recorded_errors.json")
    ap.add_argument("-v", "--verbose", action="store_true", help="print how and assumptions per point")
    args = ap.parse_args()
    report = run(groups=args.group)
    print(report.table(verbose=args.verbose))
    if args.record:
        if args.group:
            ap.error("--record needs all groups")
        out = {
            g: {"median_abs_error": s["median_abs_error"], "max_abs_error": s["max_abs_error"], "counted": s["counted"]}
            for g, s in report.summary().items()
        }
        data_path("recorded_errors.json").write_text(json.dumps(out, indent=1) + "\n")
        print(f"recorded {data_path('recorded_errors.json')}")


if __name__ == "__main__":
    main()
