"""Inputs shared by the fleet-level solver plugins (economics, sustainability): see ``inputs``.

Shipped by ``mlsysim-core`` beside the host, not inside it: only those two plugins need it, and it
imports the host (never the other way round).
"""
