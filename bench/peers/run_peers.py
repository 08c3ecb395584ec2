"""Run every peer adapter in its own scratch virtualenv and record bench/peers/peer_results.json.

Manual, not CI. The peers live outside this repository and the project never depends on them:

    python3.11 -m venv /work/peer-venvs/llm-analysis
    /work/peer-venvs/llm-analysis/bin/pip install <llm-analysis checkout>
    python3.11 -m venv /work/peer-venvs/genz && /work/peer-venvs/genz/bin/pip install <GenZ-LLM-Analyzer checkout>
    python3.11 -m venv /work/peer-venvs/calculon
    /work/peer-venvs/calculon/bin/pip install <calculon checkout> numpy pandas
    python bench/peers/run_peers.py [--venvs /work/peer-venvs] [--sources /work/peer-venvs/src]

``--sources`` holds the git checkouts the peers were installed from (their commits are recorded);
then ``python bench/peers/table.py --write`` regenerates the docs/accuracy.md section.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from peer_configs import inputs

#: peer name -> (venv folder, distribution, source repository, checkout folder, adapter script)
PEERS = {
    "llm-analysis": (
        "llm-analysis",
        "llm-analysis",
        "github.com/cli99/llm-analysis",
        "cli99+llm-analysis",
        "peer_llm_analysis.py",
    ),
    "GenZ": (
        "genz",
        "genz_llm",
        "github.com/abhibambhaniya/GenZ-LLM-Analyzer",
        "abhibambhaniya+GenZ-LLM-Analyzer",
        "peer_genz.py",
    ),
    "Calculon": ("calculon", "calculon", "github.com/calculon-ai/calculon", "calculon-ai+calculon", "peer_calculon.py"),
}
RESULTS = os.path.join(HERE, "peer_results.json")


def run_peer(name: str, venvs: str, sources: str) -> dict:
    venv, dist, repo, checkout, script = PEERS[name]
    python = os.path.join(venvs, venv, "bin", "python")
    version = subprocess.run(
        [python, "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "-C", os.path.join(sources, checkout), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    out = subprocess.run(
        [python, os.path.join(HERE, script)], check=True, capture_output=True, text=True, cwd=HERE
    ).stdout
    return {
        "version": version,
        "repository": repo,
        "commit": commit,
        "adapter": f"bench/peers/{script}",
        "results": json.loads(out),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venvs", default="/work/peer-venvs")
    ap.add_argument("--sources", default="/work/peer-venvs/src")
    args = ap.parse_args()
    record = {
        "recorded": datetime.date.today().isoformat(),
        "python": sys.version.split()[0],
        "inputs": inputs(),
        "peers": {name: run_peer(name, args.venvs, args.sources) for name in PEERS},
    }
    with open(RESULTS, "w") as f:
        json.dump(record, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
