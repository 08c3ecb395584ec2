"""mlsysim-catalog-example: a lab's catalog shipped as TOML data through ``mlsysim_catalog_files``."""

from pathlib import Path

DATA_FILE = Path(__file__).with_name("data") / "example_lab.toml"

__all__ = ["DATA_FILE"]
