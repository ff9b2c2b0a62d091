"""The lab's registered analyses, one module per measurement type (see ``analysis.registry``)."""

from analysis.analyses import ccd, cycling, density, eis, hardness, stripping, xrd

__all__ = ["ccd", "cycling", "density", "eis", "hardness", "stripping", "xrd"]
