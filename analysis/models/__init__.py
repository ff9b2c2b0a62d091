"""The analysis app's models: measurements, analysis runs, result revisions and flags."""

from analysis.models.flags import Flag
from analysis.models.measurements import ColumnMappingTemplate, Measurement
from analysis.models.runs import AnalysisRun, ResultRevision, ResultValue

__all__ = [
    "AnalysisRun",
    "ColumnMappingTemplate",
    "Flag",
    "Measurement",
    "ResultRevision",
    "ResultValue",
]
