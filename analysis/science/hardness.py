"""Martens hardness from instrumented indentation (ISO 14577-1) and its summary statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.science._result import ResultMixin
from analysis.science._validation import array_1d

__all__ = ["INDENTER_GEOMETRY_FACTORS", "HardnessSummary", "martens_hardness", "summarize"]

#: Area function factor k in HM = F / (k h^2) (F in N, h in mm), ISO 14577-1:2015 Annex A:
#: Vickers 26.43, modified Berkovich 26.44.
INDENTER_GEOMETRY_FACTORS: dict[str, float] = {"vickers": 26.43, "berkovich": 26.44}


@overload
def martens_hardness(force_mN: float, depth_um: float, indenter: str = "vickers") -> float: ...
@overload
def martens_hardness(
    force_mN: ArrayLike, depth_um: ArrayLike, indenter: str = "vickers"
) -> NDArray[np.float64]: ...
def martens_hardness(
    force_mN: ArrayLike, depth_um: ArrayLike, indenter: str = "vickers"
) -> float | NDArray[np.float64]:
    """Martens hardness HM in N/mm^2 (= MPa).

    HM = F / (k h^2) with F the maximum force in N, h the depth at maximum force in mm and
    k = 26.43 for a Vickers indenter (26.44 Berkovich). Here F is given in mN and h in um,
    so HM = (F_mN * 1e-3) / (k (h_um * 1e-3)^2). Scalars in -> float out; arrays (one value
    per indent) in -> array out. Reference: ISO 14577-1:2015, sect. 4.1 and Annex A.
    """
    key = indenter.lower() if isinstance(indenter, str) else indenter
    if key not in INDENTER_GEOMETRY_FACTORS:
        raise ValueError(
            f"indenter must be one of {sorted(INDENTER_GEOMETRY_FACTORS)}, got {indenter!r}"
        )
    force = np.asarray(force_mN, dtype=np.float64)
    depth = np.asarray(depth_um, dtype=np.float64)
    if force.shape != depth.shape:
        raise ValueError(
            f"force_mN and depth_um must have the same shape, got {force.shape} and {depth.shape}"
        )
    for name, array in (("force_mN", force), ("depth_um", depth)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains a non-finite value (NaN or inf)")
        if np.any(array <= 0.0):
            raise ValueError(f"{name} must be > 0 everywhere")
    hm = (force * 1e-3) / (INDENTER_GEOMETRY_FACTORS[key] * (depth * 1e-3) ** 2)
    if hm.ndim == 0:
        return float(hm)
    return hm


@dataclass(frozen=True)
class HardnessSummary(ResultMixin):
    """Statistics of one sample's indents, optionally against a reference sample.

    ``change_percent`` = 100 (mean - reference mean) / reference mean; its uncertainty
    ``change_std_error_percent`` propagates both standard errors of the mean.
    """

    n: int
    mean_N_mm2: float
    std_N_mm2: float
    median_N_mm2: float
    std_error_N_mm2: float
    reference_n: int | None = None
    reference_mean_N_mm2: float | None = None
    change_percent: float | None = None
    change_std_error_percent: float | None = None


def summarize(
    values: Sequence[float] | ArrayLike, reference: Sequence[float] | ArrayLike | None = None
) -> HardnessSummary:
    """n, mean, sample std (ddof=1), median, standard error of the mean of HM values (N/mm^2).

    With ``reference`` (the reference foil's HM values) also the percent change of the mean,
    100 (mean - mean_ref) / mean_ref, and its standard error by first-order propagation:
    100 (mean / mean_ref) sqrt((se / mean)^2 + (se_ref / mean_ref)^2).
    Reference: JCGM 100:2008 (GUM), sect. 5.1 (law of propagation of uncertainty).
    """
    sample = _stats("values", values)
    if reference is None:
        return HardnessSummary(*sample)
    ref = _stats("reference", reference)
    _n, mean, _std, _median, se = sample
    ref_n, ref_mean, _ref_std, _ref_median, ref_se = ref
    change = 100.0 * (mean - ref_mean) / ref_mean
    change_se = 100.0 * (mean / ref_mean) * math.hypot(se / mean, ref_se / ref_mean)
    return HardnessSummary(
        *sample,
        reference_n=ref_n,
        reference_mean_N_mm2=ref_mean,
        change_percent=change,
        change_std_error_percent=change_se,
    )


def _stats(
    name: str, values: Sequence[float] | ArrayLike
) -> tuple[int, float, float, float, float]:
    array = array_1d(name, values)
    if np.any(array <= 0.0):
        raise ValueError(f"{name} must all be > 0 (hardness values)")
    n = int(array.size)
    std = float(np.std(array, ddof=1)) if n > 1 else math.nan
    return n, float(np.mean(array)), std, float(np.median(array)), std / math.sqrt(n)
