"""Import and first-use costs, each measured in fresh interpreters (median of N runs).

    python bench/bench_import.py [runs]

Prints: `import mlsysim`; first plugin discovery (first solver lookup); first catalog build
(`mlsysim.Hardware`); and the whole path to a first answer when the solvers are installed.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

SNIPPETS = {
    "import mlsysim": ("", "import mlsysim"),
    "plugin discovery (first solver lookup)": ("import mlsysim", "import mlsysim_core.plugins as p; p.solvers()"),
    "catalog build (first mlsysim.Hardware)": ("import mlsysim", "mlsysim.Hardware"),
    "import + catalog + first SingleNodeModel solve": (
        "",
        "import mlsysim; mlsysim.SingleNodeModel().solve(mlsysim.Models.ResNet50, mlsysim.Hardware.Cloud.A100)",
    ),
}

TEMPLATE = """
import time, warnings
warnings.simplefilter("ignore")
{setup}
t0 = time.perf_counter()
{body}
print((time.perf_counter() - t0) * 1e3)
"""


def measure(setup: str, body: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        code = TEMPLATE.format(setup=setup, body=body)
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if res.returncode != 0:
            return []
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    print(f"{'what':52s} {'median ms':>10s} {'min ms':>8s}  (n={runs}, fresh interpreter each)")
    for name, (setup, body) in SNIPPETS.items():
        times = measure(setup, body, runs)
        if not times:
            print(f"{name:52s} {'n/a (solver plugin not installed)':>10s}")
            continue
        print(f"{name:52s} {statistics.median(times):10.1f} {min(times):8.1f}")


if __name__ == "__main__":
    main()
