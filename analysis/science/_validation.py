"""Input checks shared by the science modules.

Every public function validates its inputs here so that a bad value ends in a ``ValueError``
that names the parameter, never in a silent wrong number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def positive(name: str, value: float) -> float:
    """Return ``value`` as float; raise unless it is finite and > 0."""
    number = finite(name, value)
    if number <= 0.0:
        raise ValueError(f"{name} must be > 0, got {number!r}")
    return number


def non_negative(name: str, value: float) -> float:
    """Return ``value`` as float; raise unless it is finite and >= 0."""
    number = finite(name, value)
    if number < 0.0:
        raise ValueError(f"{name} must be >= 0, got {number!r}")
    return number


def finite(name: str, value: float) -> float:
    """Return ``value`` as float; raise unless it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a real number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number!r}")
    return number


def array_1d(
    name: str, values: ArrayLike, *, min_size: int = 1, allow_nan: bool = False
) -> FloatArray:
    """Return ``values`` as a 1-D float64 array; raise on wrong shape, too few points or NaN/inf."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size < min_size:
        raise ValueError(f"{name} needs at least {min_size} value(s), got {array.size}")
    if not allow_nan and not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValueError(f"{name} contains a non-finite value (NaN or inf) at index {bad}")
    return array


def same_length(**arrays: Sequence[float] | FloatArray | NDArray[np.complex128]) -> None:
    """Raise unless all arrays have the same length, naming them."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(f"arrays must have the same length: {described}")
