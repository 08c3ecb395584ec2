"""The default mlsysim catalog: TOML data files in ``data/``, provided through the plugin hooks.

It is an ordinary registry provider (entry point ``default_catalog`` in the ``mlsysim`` group):
disable it with ``MLSYSIM_DISABLE_PLUGINS=default_catalog`` to run on another catalog alone.
Validate the data with ``mlsysim catalog --check``; the format is ``SCHEMA.md``.
"""
