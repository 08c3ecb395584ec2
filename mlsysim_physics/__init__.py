"""Physics several solver plugins share: first-order equations (``equations``) and the named default
efficiencies and overheads with their sources (``efficiency``).

Shipped by ``mlsysim-core`` beside the host, not inside it: the host loads plugins and owns the
catalog; these are the solvers' physics. It imports the host (never the other way round).
"""
