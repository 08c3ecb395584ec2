"""``mlsysim ui`` through the host's command line: the hook adds it, it serves, --port is checked."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

MLSYSIM = Path(sys.executable).with_name("mlsysim")
pytestmark = pytest.mark.skipif(not MLSYSIM.exists(), reason=f"no mlsysim console script beside {sys.executable}")


def test_mlsysim_lists_the_plugins_commands():
    out = subprocess.run([str(MLSYSIM), "--help"], capture_output=True, text=True, timeout=120, check=True).stdout
    assert "ui " in out and "report " in out
    help_ = subprocess.run(
        [str(MLSYSIM), "ui", "--help"], capture_output=True, text=True, timeout=120, check=False
    ).stdout
    assert "--port" in help_ and "--no-browser" in help_


def test_mlsysim_ui_serves_on_the_port_it_prints():
    proc = subprocess.Popen(
        [str(MLSYSIM), "ui", "--port", "0", "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("mlsysim explorer on http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split()[3]
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.status == 200 and "mlsysim explorer" in r.read().decode()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_a_port_in_use_is_one_line_and_exit_1():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = subprocess.run(
            [str(MLSYSIM), "ui", "--port", str(port), "--no-browser"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and f"{port} is in use" in res.stderr
