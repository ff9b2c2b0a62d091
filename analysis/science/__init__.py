"""LiNa LIMS science library: pure numpy/scipy/pandas, no Django, usable from a notebook.

Modules: :mod:`composition`, :mod:`density`, :mod:`hardness`, :mod:`stripping`, :mod:`eis`,
:mod:`ccd`, :mod:`cycling`. Every public function states its formula, units and a reference;
results are dataclasses with units in their field names and a JSON-ready ``to_dict()``.
"""

ANALYSIS_VERSION = "1.0.0"
