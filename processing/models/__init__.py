"""Materials and how they were made: chemical lots, equipment, LLZO synthesis, foils, pieces."""

from processing.models.atmosphere import GloveboxReading
from processing.models.foils import ElectrodePiece, FoldPass, MetalFoil
from processing.models.materials import ChemicalLot, Equipment
from processing.models.protocols import ProtocolStep, ProtocolTemplate, parameters_problem
from processing.models.synthesis import (
    Pellet,
    ProcessStep,
    Separator,
    SynthesisBatch,
    WeighingEntry,
)

__all__ = [
    "ChemicalLot",
    "ElectrodePiece",
    "Equipment",
    "FoldPass",
    "GloveboxReading",
    "MetalFoil",
    "Pellet",
    "ProcessStep",
    "ProtocolStep",
    "ProtocolTemplate",
    "Separator",
    "SynthesisBatch",
    "WeighingEntry",
    "parameters_problem",
]
