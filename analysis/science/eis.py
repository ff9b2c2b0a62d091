"""Impedance spectroscopy: equivalent-circuit parsing, evaluation and fitting; Kramers-Kronig
check; CPE capacitance, arc assignment, ASR and conductivity.

Pure numpy/scipy. Frequencies in Hz, impedances in ohm (complex, Z = Z' + j Z'', so a
capacitive arc has Z'' < 0), capacitances in F, areas in cm^2, thicknesses in mm.

Circuit strings use impedance.py's syntax: elements joined in series by ``-``, ``p(a,b,...)``
puts its comma-separated branches in parallel, branches may be series chains and nest:
``R0-p(R1,CPE1)-p(R2,CPE2)``, ``L0-R0-p(R1,CPE1)-p(R2-Wo2,CPE2)``. Elements:

=========  ===========================================  ===========================
element    impedance                                    parameters (units)
=========  ===========================================  ===========================
R          R                                            R (ohm)
C          1 / (j w C)                                  C (F)
L          j w L                                        L (H)
CPE        1 / (Q (j w)^n)                              Q (F s^(n-1)), n (0 < n <= 1)
W          A_W (1 - j) / sqrt(w)  (semi-infinite)       A_W (ohm s^-1/2)
Wo         R coth(sqrt(j w tau)) / sqrt(j w tau)        R (ohm), tau (s)
Ws         R tanh(sqrt(j w tau)) / sqrt(j w tau)        R (ohm), tau (s)
=========  ===========================================  ===========================

with w = 2 pi f. References: E. Barsoukov, J. R. Macdonald, Impedance Spectroscopy, 3rd ed.
(Wiley 2018), ch. 2; M. E. Orazem, B. Tribollet, Electrochemical Impedance Spectroscopy,
2nd ed. (Wiley 2017), ch. 9, 19.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares, nnls
from scipy.signal import find_peaks

from analysis.science._result import ResultMixin
from analysis.science._validation import FloatArray, finite, positive

__all__ = [
    "ArcAssignment",
    "ArcResult",
    "Circuit",
    "CircuitComparison",
    "DRTResult",
    "FitResult",
    "KramersKronigResult",
    "asr",
    "assign_arcs",
    "compare",
    "conductivity",
    "cpe_capacitance",
    "drt",
    "fit",
    "kramers_kronig",
    "parse_circuit",
    "suggest_circuit",
]

ComplexArray = NDArray[np.complexfloating[Any, Any]]

# ---------------------------------------------------------------------------------------------
# Circuit model
# ---------------------------------------------------------------------------------------------

#: Per element type: parameter suffixes and units. A one-parameter element's parameter is
#: named like the element ("R0"); others get a suffix ("CPE1_Q", "CPE1_n").
ELEMENT_PARAMETERS: dict[str, tuple[tuple[str, str], ...]] = {
    "R": (("", "ohm"),),
    "C": (("", "F"),),
    "L": (("", "H"),),
    "CPE": (("Q", "F s^(n-1)"), ("n", "")),
    "W": (("", "ohm s^-1/2"),),
    "Wo": (("R", "ohm"), ("tau", "s")),
    "Ws": (("R", "ohm"), ("tau", "s")),
}
# Longest prefixes first, so "CPE1" is a CPE and "Wo1" an open Warburg.
_ELEMENT_PATTERN = re.compile(r"(CPE|Wo|Ws|W|R|C|L)([A-Za-z0-9_]*)")
_TOKEN_PATTERN = re.compile(r"\s*(p\(|[(),\-]|[A-Za-z][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class _Element:
    kind: str
    name: str
    index: int  # position of its first parameter in the parameter vector


@dataclass(frozen=True)
class _Series:
    children: tuple[_Node, ...]


@dataclass(frozen=True)
class _Parallel:
    children: tuple[_Node, ...]


_Node = _Element | _Series | _Parallel


class Circuit:
    """A parsed equivalent circuit: parameter names/units and vectorised impedance.

    Build with :func:`parse_circuit`. ``impedance(freq_Hz, parameters)`` evaluates it.
    """

    def __init__(self, text: str, root: _Node, parameter_names: list[str], units: dict[str, str]):
        self.text = text
        self.root = root
        self.parameter_names = parameter_names
        self.units = units
        self.is_exponent = np.array(
            [name.endswith("_n") and _kind_of(name) == "CPE" for name in parameter_names]
        )

    def __repr__(self) -> str:
        return f"Circuit({self.text!r})"

    def impedance(
        self, freq_Hz: ArrayLike, parameters: Mapping[str, float] | Sequence[float]
    ) -> ComplexArray:
        """Z(f) in ohm for the given parameters (dict by name, or a sequence in name order)."""
        freq = np.asarray(freq_Hz, dtype=np.float64)
        if freq.ndim != 1 or np.any(~np.isfinite(freq)) or np.any(freq <= 0):
            raise ValueError("freq_Hz must be a 1-D array of finite frequencies > 0")
        values = self.vector(parameters)
        z, _ = _evaluate(self.root, values, 2j * np.pi * freq, need_jacobian=False)
        return z

    def vector(self, parameters: Mapping[str, float] | Sequence[float]) -> FloatArray:
        """Parameter vector in ``parameter_names`` order, validated (> 0; CPE n in (0, 1])."""
        if isinstance(parameters, Mapping):
            unknown = set(parameters) - set(self.parameter_names)
            missing = [n for n in self.parameter_names if n not in parameters]
            if unknown or missing:
                raise ValueError(
                    f"parameters: unknown {sorted(unknown)}, missing {missing} for {self.text!r}"
                )
            values = np.array([float(parameters[n]) for n in self.parameter_names])
        else:
            values = np.asarray(parameters, dtype=np.float64)
            if values.shape != (len(self.parameter_names),):
                raise ValueError(
                    f"parameters must have {len(self.parameter_names)} values "
                    f"({', '.join(self.parameter_names)}), got shape {values.shape}"
                )
        for name, value in zip(self.parameter_names, values, strict=True):
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"parameter {name} must be finite and > 0, got {value}")
        if np.any(values[self.is_exponent] > 1.0):
            raise ValueError("CPE exponents n must be in (0, 1]")
        return values


def _kind_of(parameter_name: str) -> str:
    match = _ELEMENT_PATTERN.fullmatch(parameter_name.split("_")[0]) or _ELEMENT_PATTERN.match(
        parameter_name
    )
    assert match is not None
    return match.group(1)


def parse_circuit(text: str) -> Circuit:
    """Parse an impedance.py-style circuit string into a :class:`Circuit`.

    Grammar: ``chain := term ('-' term)*``, ``term := element | 'p(' chain (',' chain)+ ')'``;
    elements R, C, L, CPE, W, Wo, Ws followed by a unique label (``R0``, ``CPE1``). Raises
    ``ValueError`` with the position of the first problem.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("circuit must be a non-empty string")
    tokens: list[tuple[str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        match = _TOKEN_PATTERN.match(text, pos)
        if match is None:
            raise ValueError(
                f"invalid circuit {text!r}: unexpected character {text[pos]!r} at position {pos}"
            )
        tokens.append((match.group(1), match.start(1)))
        pos = match.end()
    names: list[str] = []
    units: dict[str, str] = {}
    cursor = 0

    def error(message: str) -> ValueError:
        where = tokens[cursor][1] if cursor < len(tokens) else len(text)
        return ValueError(f"invalid circuit {text!r}: {message} at position {where}")

    def chain() -> _Node:
        nonlocal cursor
        items = [term()]
        while cursor < len(tokens) and tokens[cursor][0] == "-":
            cursor += 1
            items.append(term())
        return items[0] if len(items) == 1 else _Series(tuple(items))

    def term() -> _Node:
        nonlocal cursor
        if cursor >= len(tokens):
            raise error("expected an element")
        token = tokens[cursor][0]
        if token == "p(":
            cursor += 1
            branches = [chain()]
            while cursor < len(tokens) and tokens[cursor][0] == ",":
                cursor += 1
                branches.append(chain())
            if cursor >= len(tokens) or tokens[cursor][0] != ")":
                raise error("expected ')' or ','")
            if len(branches) < 2:
                raise error("p(...) needs at least two branches")
            cursor += 1
            return _Parallel(tuple(branches))
        if token in {"-", ",", ")", "("}:
            raise error(f"expected an element, got {token!r}")
        match = _ELEMENT_PATTERN.fullmatch(token)
        if match is None:
            raise error(f"unknown element {token!r} (known: {', '.join(ELEMENT_PARAMETERS)})")
        kind = match.group(1)
        if token in {n.split("_")[0] for n in names} or token in names:
            raise error(f"element {token!r} appears twice")
        cursor += 1
        element = _Element(kind, token, len(names))
        for suffix, unit in ELEMENT_PARAMETERS[kind]:
            name = f"{token}_{suffix}" if suffix else token
            names.append(name)
            units[name] = unit
        return element

    root = chain()
    if cursor != len(tokens):
        raise error(f"unexpected {tokens[cursor][0]!r}")
    return Circuit(text, root, names, units)


def _evaluate(
    node: _Node, p: FloatArray, jw: ComplexArray, need_jacobian: bool
) -> tuple[ComplexArray, dict[int, ComplexArray]]:
    """Impedance of ``node`` and, if asked, dZ/d(theta_i) for the parameters below it.

    theta_i = ln(p_i) for every parameter except CPE exponents (theta = n), matching the
    fit's variables. Returns (Z, {parameter index: dZ/dtheta}).
    """
    if isinstance(node, _Element):
        return _element(node, p, jw, need_jacobian)
    parts = [_evaluate(child, p, jw, need_jacobian) for child in node.children]
    if isinstance(node, _Series):
        z = np.sum([zc for zc, _ in parts], axis=0)
        grads: dict[int, ComplexArray] = {}
        for _, g in parts:
            grads.update(g)
        return z, grads
    admittance = np.sum([1.0 / zc for zc, _ in parts], axis=0)
    z = 1.0 / admittance
    grads = {}
    if need_jacobian:
        for zc, g in parts:
            # d(1/Y)/dp = Z^2 / Zc^2 * dZc/dp for branch c
            factor = (z / zc) ** 2
            for index, dz in g.items():
                grads[index] = factor * dz
    return z, grads


def _element(
    element: _Element, p: FloatArray, jw: ComplexArray, need_jacobian: bool
) -> tuple[ComplexArray, dict[int, ComplexArray]]:
    i = element.index
    kind = element.kind
    grads: dict[int, ComplexArray] = {}
    if kind == "R":
        z = np.full(jw.shape, p[i], dtype=np.complex128)
        grads[i] = z
    elif kind == "C":
        z = 1.0 / (jw * p[i])
        grads[i] = -z
    elif kind == "L":
        z = jw * p[i]
        grads[i] = z
    elif kind == "CPE":
        q, n = p[i], p[i + 1]
        z = 1.0 / (q * jw**n)
        grads[i] = -z
        grads[i + 1] = -z * np.log(jw)
    elif kind == "W":
        omega = jw.imag
        z = p[i] * (1.0 - 1.0j) / np.sqrt(omega)
        grads[i] = z
    else:  # Wo, Ws
        r, tau = p[i], p[i + 1]
        s = np.sqrt(jw * tau)
        t = np.tanh(s)
        if kind == "Wo":
            shape = 1.0 / (t * s)
            # d/dln(tau) of coth(s)/s with ds/dln(tau) = s/2; csch^2 = coth^2 - 1
            dshape = -((1.0 / t) ** 2 - 1.0 + 1.0 / (t * s)) / 2.0
        else:
            shape = t / s
            dshape = ((1.0 - t**2) - t / s) / 2.0
        z = r * shape
        grads[i] = z
        grads[i + 1] = r * dshape
    return z, grads if need_jacobian else {}


# ---------------------------------------------------------------------------------------------
# Element-level helpers
# ---------------------------------------------------------------------------------------------


def cpe_capacitance(r_ohm: float, q: float, n: float) -> float:
    """Effective capacitance of an R||CPE arc, F (Hsu-Mansfeld).

    C = Q^(1/n) R^((1-n)/n), with Q in F s^(n-1), R in ohm, 0 < n <= 1 (n = 1 gives C = Q).
    Reference: C. H. Hsu, F. Mansfeld, Corrosion 57, 747 (2001); B. Hirschorn et al.,
    Electrochim. Acta 55, 6218 (2010).
    """
    r = positive("r_ohm", r_ohm)
    q_value = positive("q", q)
    exponent = positive("n", n)
    if exponent > 1.0:
        raise ValueError(f"n must be in (0, 1], got {exponent}")
    return float(q_value ** (1.0 / exponent) * r ** ((1.0 - exponent) / exponent))


def asr(r_ohm: float, area_cm2: float, interfaces: int = 2) -> float:
    """Area-specific resistance per interface, ohm cm^2: ASR = R A / interfaces.

    For a symmetric cell (two identical electrode|electrolyte interfaces in series) the
    interfacial resistance R is split over ``interfaces=2``; pass 1 for a single interface.
    Reference: e.g. Sharafi et al., J. Mater. Chem. A 4, 15313 (2016) (Li|LLZO ASR).
    """
    r = positive("r_ohm", r_ohm)
    area = positive("area_cm2", area_cm2)
    if (
        isinstance(interfaces, bool)
        or not isinstance(interfaces, int | np.integer)
        or interfaces < 1
    ):
        raise ValueError(f"interfaces must be a positive integer, got {interfaces!r}")
    return r * area / int(interfaces)


def conductivity(r_ohm: float, thickness_mm: float, area_cm2: float) -> float:
    """Ionic conductivity sigma = L / (R A), S/cm, with L the thickness converted to cm.

    Reference: Barsoukov & Macdonald, Impedance Spectroscopy, 3rd ed., sect. 4.1.
    """
    r = positive("r_ohm", r_ohm)
    length_cm = positive("thickness_mm", thickness_mm) * 0.1
    return length_cm / (r * positive("area_cm2", area_cm2))


#: Capacitance ranges used by :func:`assign_arcs`, F, as [low, high). They follow
#: J. T. S. Irvine, D. C. Sinclair, A. R. West, Adv. Mater. 2, 132 (1990), table 1, for
#: pellets of ordinary geometry (cell constant L/A ~ 0.1-1 cm^-1): bulk 1e-12-1e-11,
#: grain boundary 1e-11-1e-8, electrode interface 1e-7-1e-5 F (extended up to 1e-4 here
#: for metal|LLZO interfaces). 1e-8 to 1e-7 F lies between two classes: ambiguous.
DEFAULT_ARC_CLASSES: tuple[tuple[str, float, float], ...] = (
    ("bulk", 1e-13, 1e-11),
    ("grain_boundary", 1e-11, 1e-8),
    ("interface", 1e-7, 1e-4),
)


@dataclass(frozen=True)
class ArcAssignment(ResultMixin):
    """The label of one arc and why: "bulk", "grain_boundary", "interface", "ambiguous"
    (between two classes or near a class border) or "unassigned" (outside all classes)."""

    capacitance_F: float
    label: str
    reason: str


def assign_arcs(
    capacitances_F: Sequence[float],
    classes: Sequence[tuple[str, float, float]] = DEFAULT_ARC_CLASSES,
    border_factor: float = 1.5,
) -> list[ArcAssignment]:
    """Label arcs from their (effective) capacitances.

    A capacitance inside one class range and more than ``border_factor`` away from that
    range's borders with a neighbouring class gets the class label; within ``border_factor``
    of a border shared by two classes (e.g. 1e-11 F, bulk/grain boundary) or in a gap between
    classes (1e-8-1e-7 F) it is "ambiguous" with both candidates named; outside all ranges it
    is "unassigned". Ranges: :data:`DEFAULT_ARC_CLASSES` (Irvine, Sinclair, West,
    Adv. Mater. 2, 132 (1990)). They assume an ordinary pellet geometry; for very thin or
    large-area samples scale them by the cell constant.
    """
    border = positive("border_factor", border_factor)
    if border < 1.0:
        raise ValueError("border_factor must be >= 1")
    result = []
    for c in capacitances_F:
        value = positive("capacitances_F", c)
        inside = [name for name, lo, hi in classes if lo <= value < hi]
        near = [name for name, lo, hi in classes if lo / border <= value < hi * border]
        if len(near) > 1:
            result.append(
                ArcAssignment(value, "ambiguous", f"near the border of {' and '.join(near)}")
            )
        elif inside:
            lo, hi = next((lo, hi) for name, lo, hi in classes if name == inside[0])
            result.append(
                ArcAssignment(value, inside[0], f"{value:.2e} F in [{lo:.0e}, {hi:.0e}) F")
            )
        else:
            below = [name for name, lo, _ in classes if value < lo]
            above = [name for name, _, hi in classes if value >= hi]
            if below and above:
                result.append(
                    ArcAssignment(
                        value, "ambiguous", f"{value:.2e} F lies between {above[-1]} and {below[0]}"
                    )
                )
            else:
                result.append(
                    ArcAssignment(value, "unassigned", f"{value:.2e} F outside every class range")
                )
    return result


# ---------------------------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------------------------


def _spectrum(freq_Hz: ArrayLike, z_ohm: ArrayLike) -> tuple[FloatArray, ComplexArray, bool]:
    """Validate a spectrum; return it sorted by decreasing frequency and whether it was not."""
    freq = np.asarray(freq_Hz, dtype=np.float64)
    if freq.ndim != 1:
        raise ValueError(f"freq_Hz must be one-dimensional, got shape {freq.shape}")
    if not np.iscomplexobj(z_ohm):
        raise ValueError("z_ohm must be complex (Z' + 1j*Z''); build it as re + 1j*im")
    z = np.asarray(z_ohm, dtype=np.complex128)
    if z.shape != freq.shape:
        raise ValueError(
            f"freq_Hz and z_ohm must have the same shape, got {freq.shape} and {z.shape}"
        )
    if freq.size < 3:
        raise ValueError(f"freq_Hz needs at least 3 points, got {freq.size}")
    if not np.all(np.isfinite(freq)) or np.any(freq <= 0):
        raise ValueError("freq_Hz must be finite and > 0 everywhere")
    if not np.all(np.isfinite(z)):
        raise ValueError("z_ohm contains a non-finite value (NaN or inf)")
    if np.any(z == 0):
        raise ValueError("z_ohm contains an exact zero: not a measured impedance")
    order = np.argsort(-freq, kind="stable")
    was_unsorted = bool(np.any(order != np.arange(freq.size)))
    return freq[order], z[order], was_unsorted


# ---------------------------------------------------------------------------------------------
# Kramers-Kronig (lin-KK)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KramersKronigResult(ResultMixin):
    """lin-KK test of one spectrum (frequencies in decreasing order, as tested).

    Residuals are relative to |Z|: (Z_data - Z_KK) / |Z|. ``valid`` is False when their RMS
    exceeds ``max_rms_residual_percent``; ``outlier_indices`` are points (in the tested order)
    whose residual exceeds ``max_point_residual_percent``.
    """

    valid: bool
    n_rc: int
    mu: float
    rms_residual_percent: float
    max_residual_percent: float
    max_rms_residual_percent: float
    max_point_residual_percent: float
    outlier_indices: list[int]
    freq_Hz: FloatArray
    residual_real: FloatArray
    residual_imag: FloatArray
    sorted_input: bool


def kramers_kronig(
    freq_Hz: ArrayLike,
    z_ohm: ArrayLike,
    mu_criterion: float = 0.85,
    max_rms_residual_percent: float = 1.0,
    max_point_residual_percent: float = 5.0,
) -> KramersKronigResult:
    """Linear Kramers-Kronig validity test (lin-KK).

    The spectrum is fitted, by linear least squares weighted by 1/|Z|, with a KK-compliant
    model: a series resistance, a series inductance, a series capacitance (as 1/C) and M Voigt
    elements R_k / (1 + j w tau_k) with tau_k log-spaced from 1/w_max to 1/w_min. M grows from
    two per decade of the spectrum until mu = 1 - sum(|R_k|, R_k < 0) / sum(|R_k|, R_k >= 0) drops below ``mu_criterion``
    (0.85, the value proposed by Schoenleber et al.) - the point where further elements start
    to fit noise. A spectrum whose relative residual RMS (real and imaginary parts together)
    is above ``max_rms_residual_percent`` (1 %, a common acceptance level for lin-KK residuals)
    is flagged invalid: it drifted, is non-linear or too noisy to fit confidently.
    References: B. A. Boukamp, J. Electrochem. Soc. 142, 1885 (1995); M. Schoenleber,
    D. Klotz, E. Ivers-Tiffee, Electrochim. Acta 131, 20 (2014).
    """
    freq, z, unsorted = _spectrum(freq_Hz, z_ohm)
    finite("mu_criterion", mu_criterion)
    omega = 2 * np.pi * freq
    weight = 1.0 / np.abs(z)
    n_points = freq.size
    max_m = max(1, min(n_points - 4, 100))
    # Fewer than about two Voigt elements per decade cannot follow even a KK-compliant
    # spectrum, and mu is erratic there (the free L and 1/C terms swing): start at two.
    decades = math.log10(float(freq.max() / freq.min()))
    min_m = min(max(2, math.ceil(2 * decades)), max_m)
    chosen = None
    for m in range(min_m, max_m + 1):
        coefficients, fitted = _linkk_fit(omega, z, weight, m)
        r_k = coefficients[3:]
        positive_sum = float(np.sum(np.abs(r_k[r_k >= 0])))
        negative_sum = float(np.sum(np.abs(r_k[r_k < 0])))
        mu = 1.0 - negative_sum / positive_sum if positive_sum > 0 else 0.0
        chosen = (m, mu, fitted)
        if mu < mu_criterion:
            break
    assert chosen is not None
    m, mu, fitted = chosen
    residual = (z - fitted) / np.abs(z)
    res_re, res_im = residual.real, residual.imag
    rms = float(np.sqrt(np.mean(np.concatenate([res_re, res_im]) ** 2))) * 100.0
    point = np.maximum(np.abs(res_re), np.abs(res_im)) * 100.0
    return KramersKronigResult(
        valid=rms <= max_rms_residual_percent,
        n_rc=m,
        mu=mu,
        rms_residual_percent=rms,
        max_residual_percent=float(point.max()),
        max_rms_residual_percent=max_rms_residual_percent,
        max_point_residual_percent=max_point_residual_percent,
        outlier_indices=[int(i) for i in np.flatnonzero(point > max_point_residual_percent)],
        freq_Hz=freq,
        residual_real=res_re,
        residual_imag=res_im,
        sorted_input=unsorted,
    )


def _linkk_fit(
    omega: FloatArray, z: ComplexArray, weight: FloatArray, m: int
) -> tuple[FloatArray, ComplexArray]:
    if m == 1:
        tau = np.array([1.0 / math.sqrt(omega.max() * omega.min())])
    else:
        tau = np.geomspace(1.0 / omega.max(), 1.0 / omega.min(), m)
    basis = np.empty((omega.size, m + 3), dtype=np.complex128)
    basis[:, 0] = 1.0
    basis[:, 1] = 1j * omega  # L
    basis[:, 2] = 1.0 / (1j * omega)  # 1/C
    basis[:, 3:] = 1.0 / (1.0 + 1j * omega[:, None] * tau[None, :])
    a = np.concatenate([(basis * weight[:, None]).real, (basis * weight[:, None]).imag])
    b = np.concatenate([(z * weight).real, (z * weight).imag])
    # Columns span decades in magnitude; scale them so lstsq's rank cut-off is meaningful.
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0
    solution, *_ = np.linalg.lstsq(a / scale, b, rcond=None)
    coefficients = solution / scale
    return coefficients, basis @ coefficients


# ---------------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------------

#: A parameter whose relative standard error exceeds this is reported as undetermined.
UNDETERMINED_RELATIVE_ERROR = 0.5
#: Floor on the residual standard deviation (relative to |Z|) used for the standard errors:
#: 0.1 %, the accuracy class of common potentiostat FRAs. Without it a noise-free synthetic
#: spectrum would give zero errors and hide parameters the spectrum cannot determine.
NOISE_FLOOR_RELATIVE = 1e-3

_LOG_MIN, _LOG_MAX = math.log(1e-18), math.log(1e18)


@dataclass(frozen=True)
class ArcResult(ResultMixin):
    """One R||C or R||CPE arc of the top-level series chain."""

    resistance_name: str
    resistance_ohm: float
    resistance_std_error_ohm: float
    capacitance_F: float
    characteristic_freq_Hz: float
    determined: bool
    inside_window: bool
    assignment: ArcAssignment


@dataclass(frozen=True)
class FitResult(ResultMixin):
    """Result of :func:`fit`.

    ``parameters`` are the fitted values with ``std_errors`` (same units, see ``units``).
    ``undetermined`` lists parameters whose relative standard error exceeds
    ``undetermined_relative_error``; ``parameters_determined`` repeats ``parameters`` with
    those set to ``None``. ``combined_resistances_ohm`` gives sums that ARE determined when
    single resistances are not (e.g. ``"R0+R1"`` when R1's arc lies above the highest measured
    frequency). ``relative_rms_residual`` = sqrt(mean(|Z_fit - Z|^2 / |Z|^2)).

    Arc order: interchangeable R||C or R||CPE arcs of the top-level series chain are numbered
    by characteristic frequency, highest first (R1 is the fastest arc, usually the bulk), so a
    label never depends on the optimiser's path. ``arc_labels`` gives, beside each arc's
    resistance name, its assignment by capacitance (:func:`assign_arcs`): ``{"R1": "bulk"}``.

    Fit quality: ``correlations[a][b]`` is the correlation coefficient of parameters a and b
    (from the covariance below; 1 on the diagonal). ``weighting`` is "modulus" (w = 1/|Z|) or
    "unit" (w = 1). ``chi_square`` = sum |w (Z_fit - Z)|^2 over the ``n_points`` frequencies
    (real and imaginary parts: 2 ``n_points`` values), dimensionless with modulus weighting
    and ohm^2 with unit weighting; ``reduced_chi_square`` = chi_square / (2 n_points -
    n_parameters). ``aic`` = n ln(chi_square / n) + 2 k and ``bic`` = n ln(chi_square / n) +
    k ln n with n = 2 ``n_points`` and k = ``n_parameters`` (least-squares forms; only
    differences between circuits fitted to the same spectrum with the same weighting mean
    anything, lower is better). ``suggested_by_drt``: the circuit was chosen by
    :func:`suggest_circuit` because the caller gave none.
    """

    circuit: str
    parameters: dict[str, float]
    std_errors: dict[str, float]
    units: dict[str, str]
    undetermined: list[str]
    parameters_determined: dict[str, float | None]
    combined_resistances_ohm: dict[str, float]
    combined_std_errors_ohm: dict[str, float]
    arcs: list[ArcResult]
    relative_rms_residual: float
    freq_Hz: FloatArray
    z_fit_ohm: ComplexArray
    initial_guess: dict[str, float]
    guessed: bool
    n_starts: int
    sorted_input: bool
    undetermined_relative_error: float
    arc_labels: dict[str, str]
    correlations: dict[str, dict[str, float]]
    weighting: str
    n_points: int
    n_parameters: int
    chi_square: float
    reduced_chi_square: float
    aic: float
    bic: float
    suggested_by_drt: bool = False
    notes: list[str] = field(default_factory=list)


def fit(
    freq_Hz: ArrayLike,
    z_ohm: ArrayLike,
    circuit: str | Circuit | None = None,
    initial_guess: Mapping[str, float] | Sequence[float] | None = None,
    weighting: Literal["modulus", "unit"] = "modulus",
    undetermined_relative_error: float = UNDETERMINED_RELATIVE_ERROR,
    max_starts: int = 8,
) -> FitResult:
    """Fit an equivalent circuit to a spectrum by complex non-linear least squares.

    Minimises sum_k |w_k (Z_model(f_k) - Z_k)|^2 over real and imaginary parts with
    ``scipy.optimize.least_squares`` (trust-region reflective, analytic Jacobian). Weights
    w_k = 1/|Z_k| ("modulus", default: every decade of |Z| counts alike) or 1 ("unit").
    Parameters are fitted as ln(p), which keeps them > 0, and CPE exponents n within (0, 1].

    Without ``circuit``, :func:`suggest_circuit` picks R0 and one R||CPE arc per DRT peak.
    Without ``initial_guess`` the start is found from the spectrum: a non-negative
    distribution of relaxation times (NNLS on Voigt elements) and the peaks of -Z'' give the
    arcs' resistances and time constants (w R C = 1 at the apex), the real-part span gives the
    series resistance; arcs the spectrum does not show are tried above and below the
    window. Several such starts are refined and the best kept.

    Standard errors: cov = s^2 (J^T J)^-1 with J the Jacobian at the optimum and s^2 the
    residual variance sum(r^2)/(2N - P), s floored at :data:`NOISE_FLOOR_RELATIVE` (modulus
    weighting); ln-parameters' errors map to SE(p) = p SE(ln p).
    Reference: M. E. Orazem, B. Tribollet, Electrochemical Impedance Spectroscopy, 2nd ed.
    (Wiley 2017), ch. 19 (regression, error structure); J. R. Macdonald, L. D. Potter,
    Solid State Ionics 24, 61 (1987) (CNLS).
    """
    freq, z, unsorted = _spectrum(freq_Hz, z_ohm)
    suggested = circuit is None
    if circuit is None:
        circuit = suggest_circuit(freq, z)
    model = circuit if isinstance(circuit, Circuit) else parse_circuit(circuit)
    threshold = positive("undetermined_relative_error", undetermined_relative_error)
    n_params = len(model.parameter_names)
    if 2 * freq.size <= n_params:
        raise ValueError(
            f"{freq.size} frequencies give {2 * freq.size} values, too few for {n_params} parameters"
        )
    if weighting not in ("modulus", "unit"):
        raise ValueError(f"weighting must be 'modulus' or 'unit', got {weighting!r}")
    jw = 2j * np.pi * freq
    weight = 1.0 / np.abs(z) if weighting == "modulus" else np.ones(freq.size)
    exponent = model.is_exponent

    def to_theta(values: FloatArray) -> FloatArray:
        return np.where(exponent, values, np.log(values))

    def to_values(theta: FloatArray) -> FloatArray:
        return np.where(exponent, theta, np.exp(np.where(exponent, 0.0, theta)))

    def residuals(theta: FloatArray) -> FloatArray:
        zm, _ = _evaluate(model.root, to_values(theta), jw, need_jacobian=False)
        diff = (zm - z) * weight
        return np.concatenate([diff.real, diff.imag])

    def jacobian(theta: FloatArray) -> FloatArray:
        _, grads = _evaluate(model.root, to_values(theta), jw, need_jacobian=True)
        jac = np.empty((2 * freq.size, n_params))
        for index in range(n_params):
            column = grads[index] * weight
            jac[: freq.size, index] = column.real
            jac[freq.size :, index] = column.imag
        return jac

    lower = np.where(exponent, 1e-3, _LOG_MIN)
    upper = np.where(exponent, 1.0, _LOG_MAX)

    def solve(start: FloatArray, max_nfev: int | None) -> Any:
        theta0 = np.clip(to_theta(start), lower + 1e-12, upper - 1e-12)
        return least_squares(
            residuals, theta0, jac=jacobian, bounds=(lower, upper), method="trf",
            x_scale="jac", max_nfev=max_nfev, xtol=1e-12, ftol=1e-12, gtol=1e-12,
        )  # fmt: skip

    notes: list[str] = []
    if suggested:
        notes.append(f"no circuit given: {model.text} suggested by the DRT's peaks")
    if unsorted:
        notes.append("frequencies were not in decreasing order: sorted before fitting")
    # A fit as good as the flexible non-negative Voigt decomposition's leaves nothing better
    # to find; a worse one may sit in a local minimum.
    target = 1.5 * _drt_cost(freq, z, weight)
    best = None
    starts: list[FloatArray] = []
    if initial_guess is not None:
        starts.append(model.vector(initial_guess))
        best = solve(starts[0], None)
        if best.cost > target:
            notes.append("the given initial guess ended in a poor fit: guessed starts tried too")
    if best is None or best.cost > target:
        # Short runs from the guessed starts, most promising first, stopping at the target;
        # then the best one to convergence.
        best_trial = None
        for start in _candidate_starts(model, freq, z)[: max(1, int(max_starts))]:
            starts.append(start)
            trial = solve(start, 20 * (n_params + 1))
            if best_trial is None or trial.cost < best_trial.cost:
                best_trial = trial
            if best_trial.cost <= target:
                break
        assert best_trial is not None
        refined = solve(to_values(best_trial.x), None)
        if refined.cost > best_trial.cost:
            refined = best_trial
        if best is None or refined.cost < best.cost:
            best = refined
    theta = best.x[_canonical_permutation(model, to_values(best.x))]
    values = to_values(theta)
    z_fit, _ = _evaluate(model.root, values, jw, need_jacobian=False)
    relative_rms = float(np.sqrt(np.mean(np.abs(z_fit - z) ** 2 / np.abs(z) ** 2)))

    jac = jacobian(theta)
    n_values = 2 * freq.size
    dof = max(n_values - n_params, 1)
    chi_square = float(np.sum(residuals(theta) ** 2))
    # ln(0) for a noise-free spectrum: floor chi-square so AIC/BIC stay finite and comparable.
    log_likelihood_term = n_values * math.log(max(chi_square, 1e-300) / n_values)
    s2 = chi_square / dof
    floor = (
        NOISE_FLOOR_RELATIVE
        if weighting == "modulus"
        else NOISE_FLOOR_RELATIVE * float(np.median(np.abs(z)))
    )
    s2 = max(s2, floor**2)
    cov_theta = _covariance(jac) * s2
    se_theta = np.sqrt(np.clip(np.diag(cov_theta), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = np.clip(cov_theta / np.outer(se_theta, se_theta), -1.0, 1.0)
    std_errors = np.where(exponent, se_theta, values * se_theta)
    relative = np.where(exponent, se_theta / values, se_theta)

    names = model.parameter_names
    undetermined = [n for n, rel in zip(names, relative, strict=True) if not rel <= threshold]
    parameters = {n: float(v) for n, v in zip(names, values, strict=True)}
    arcs, combined, combined_se = _arcs_and_combinations(
        model, values, std_errors, cov_theta, undetermined, freq, threshold
    )
    if undetermined:
        notes.append(
            f"undetermined (relative standard error > {threshold:g}): {', '.join(undetermined)}"
        )
    return FitResult(
        circuit=model.text,
        parameters=parameters,
        std_errors={n: float(e) for n, e in zip(names, std_errors, strict=True)},
        units=dict(model.units),
        undetermined=undetermined,
        parameters_determined={
            n: (None if n in undetermined else v) for n, v in parameters.items()
        },
        combined_resistances_ohm=combined,
        combined_std_errors_ohm=combined_se,
        arcs=arcs,
        relative_rms_residual=relative_rms,
        freq_Hz=freq,
        z_fit_ohm=z_fit,
        initial_guess={n: float(v) for n, v in zip(names, starts[0], strict=True)},
        guessed=initial_guess is None,
        n_starts=len(starts),
        sorted_input=unsorted,
        undetermined_relative_error=threshold,
        arc_labels={a.resistance_name: a.assignment.label for a in arcs},
        correlations={
            a: {b: float(np.nan_to_num(correlation[i, j])) for j, b in enumerate(names)}
            for i, a in enumerate(names)
        },
        weighting=weighting,
        n_points=int(freq.size),
        n_parameters=n_params,
        chi_square=chi_square,
        reduced_chi_square=chi_square / dof,
        aic=log_likelihood_term + 2 * n_params,
        bic=log_likelihood_term + n_params * math.log(n_values),
        suggested_by_drt=suggested,
        notes=notes,
    )


def _canonical_permutation(model: Circuit, values: FloatArray) -> NDArray[np.intp]:
    """Index array that renumbers interchangeable top-level arcs by characteristic frequency.

    Arcs p(R, C) or p(R, CPE) in series commute, so the optimiser may put the grain-boundary
    arc where the bulk arc was expected. Within each group of arcs of one kind (R||C, R||CPE)
    the positions, in circuit order, receive the arcs sorted by time constant, shortest first
    (highest characteristic frequency first). ``values[perm]`` is the reordered vector.
    """
    perm = np.arange(values.size)
    groups: dict[str, list[list[int]]] = {}
    for node in _top_level(model):
        parts = _arc_parts(node)
        if parts is None:
            continue
        r_el, c_el = parts
        indices = [r_el.index] + [c_el.index + k for k in range(len(ELEMENT_PARAMETERS[c_el.kind]))]
        groups.setdefault(c_el.kind, []).append(indices)
    for members in groups.values():
        if len(members) < 2:
            continue
        by_tau = sorted(members, key=lambda idx: _arc_tau(values, idx))
        for target, source in zip(members, by_tau, strict=True):
            perm[target] = source
    return perm


def _arc_tau(values: FloatArray, indices: list[int]) -> float:
    """Time constant of an arc from its parameter indices [R, C] or [R, Q, n], s."""
    if len(indices) == 2:
        return float(values[indices[0]] * values[indices[1]])
    r, q, n = (float(values[i]) for i in indices)
    return math.exp(min((math.log(r) + math.log(q)) / n, 700.0))


def _covariance(jac: FloatArray) -> FloatArray:
    """(J^T J)^-1 via SVD; directions the data cannot see get a huge (not infinite) variance."""
    _, singular, vt = np.linalg.svd(jac, full_matrices=False)
    cutoff = singular.max() * 1e-12 if singular.size else 0.0
    inverse_sq = 1.0 / np.maximum(singular, max(cutoff, 1e-300)) ** 2
    return (vt.T * inverse_sq) @ vt


def _top_level(model: Circuit) -> tuple[_Node, ...]:
    return model.root.children if isinstance(model.root, _Series) else (model.root,)


def _arc_parts(node: _Node) -> tuple[_Element, _Element] | None:
    """(R, C-or-CPE) when ``node`` is a simple two-branch arc p(R, C|CPE)."""
    if not isinstance(node, _Parallel) or len(node.children) != 2:
        return None
    kinds = {child.kind: child for child in node.children if isinstance(child, _Element)}
    if "R" in kinds and ("C" in kinds or "CPE" in kinds) and len(kinds) == 2:
        return kinds["R"], kinds.get("CPE") or kinds["C"]
    return None


def _arcs_and_combinations(
    model: Circuit,
    values: FloatArray,
    std_errors: FloatArray,
    cov_theta: FloatArray,
    undetermined: list[str],
    freq: FloatArray,
    threshold: float,
) -> tuple[list[ArcResult], dict[str, float], dict[str, float]]:
    arcs: list[ArcResult] = []
    series_r = [n for n in _top_level(model) if isinstance(n, _Element) and n.kind == "R"]
    above_window: list[_Element] = []
    below_window: list[_Element] = []
    f_max, f_min = float(freq.max()), float(freq.min())
    for node in _top_level(model):
        parts = _arc_parts(node)
        if parts is None:
            continue
        r_el, c_el = parts
        r = float(values[r_el.index])
        if c_el.kind == "CPE":
            q, n = float(values[c_el.index]), float(values[c_el.index + 1])
            capacitance = cpe_capacitance(r, q, n)
            tau = _arc_tau(values, [r_el.index, c_el.index, c_el.index + 1])
        else:
            capacitance = float(values[c_el.index])
            tau = r * capacitance
        f_c = 1.0 / (2 * math.pi * max(tau, 1e-300))
        inside = f_min <= f_c <= f_max
        determined = r_el.name not in undetermined
        arc_params = [model.parameter_names[r_el.index]] + [
            model.parameter_names[c_el.index + k] for k in range(len(ELEMENT_PARAMETERS[c_el.kind]))
        ]
        arc_determined = not any(name in undetermined for name in arc_params)
        if not determined and not inside:
            (above_window if f_c > f_max else below_window).append(r_el)
        arcs.append(
            ArcResult(
                resistance_name=r_el.name,
                resistance_ohm=r,
                resistance_std_error_ohm=float(std_errors[r_el.index]),
                capacitance_F=capacitance,
                characteristic_freq_Hz=f_c,
                determined=determined,
                inside_window=inside,
                assignment=assign_arcs([capacitance])[0]
                if arc_determined
                else ArcAssignment(
                    capacitance, "undetermined", "the spectrum does not determine this arc"
                ),
            )
        )
    combined: dict[str, float] = {}
    combined_se: dict[str, float] = {}

    def add(members: list[_Element]) -> None:
        gradient = np.zeros(values.size)
        for member in members:
            gradient[member.index] = values[member.index]  # d(sum R)/d(ln R_i) = R_i
        total = float(sum(values[m.index] for m in members))
        label = "+".join(m.name for m in members)
        combined[label] = total
        combined_se[label] = float(np.sqrt(max(float(gradient @ cov_theta @ gradient), 0.0)))

    if above_window and series_r:
        # An arc beyond the top frequency looks like a resistor: only its sum with the
        # series resistance shows in the spectrum.
        add(series_r + above_window)
    all_r = series_r + [
        m for node in _top_level(model) if (parts := _arc_parts(node)) for m in parts[:1]
    ]
    if len(all_r) > 1:
        add(all_r)  # the DC resistance, determined whenever the low-frequency end is reached
    for label in list(combined):
        if combined_se[label] > threshold * combined[label]:
            combined_se[label] = combined_se[label]  # kept, but the caller sees the large error
    return arcs, combined, combined_se


# ---------------------------------------------------------------------------------------------
# Initial guesses
# ---------------------------------------------------------------------------------------------


@dataclass
class _ArcGuess:
    r_ohm: float
    tau_s: float


def _drt_cost(freq: FloatArray, z: ComplexArray, weight: FloatArray) -> float:
    """Least-squares cost (0.5 sum r^2, weights as in the fit) of the NNLS Voigt model."""
    coefficients, basis = _drt_solution(freq, z)
    residual = (basis @ coefficients - z) * weight
    return 0.5 * float(np.sum(residual.real**2 + residual.imag**2))


def _drt_solution(freq: FloatArray, z: ComplexArray) -> tuple[FloatArray, ComplexArray]:
    """Non-negative least squares on R_inf, L and Voigt elements 4 per decade (+-1 decade)."""
    omega = 2 * np.pi * freq
    per_decade = 4
    lo, hi = np.log10(1.0 / omega.max()) - 1.0, np.log10(1.0 / omega.min()) + 1.0
    tau = np.logspace(lo, hi, max(int((hi - lo) * per_decade) + 1, 3))
    weight = 1.0 / np.abs(z)
    basis = np.empty((freq.size, tau.size + 2), dtype=np.complex128)
    basis[:, 0] = 1.0
    basis[:, 1] = 1j * omega
    basis[:, 2:] = 1.0 / (1.0 + 1j * omega[:, None] * tau[None, :])
    a = np.concatenate([(basis * weight[:, None]).real, (basis * weight[:, None]).imag])
    b = np.concatenate([(z * weight).real, (z * weight).imag])
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0
    solution, _ = nnls(a / scale, b, maxiter=50 * a.shape[1])
    coefficients = solution / scale
    return coefficients, basis


def _drt_arcs(freq: FloatArray, z: ComplexArray) -> tuple[float, float, list[_ArcGuess]]:
    """Non-negative Voigt decomposition: (R_inf, L, arcs grouped from contiguous tau bands)."""
    coefficients, _ = _drt_solution(freq, z)
    omega = 2 * np.pi * freq
    lo, hi = np.log10(1.0 / omega.max()) - 1.0, np.log10(1.0 / omega.min()) + 1.0
    tau = np.logspace(lo, hi, coefficients.size - 2)
    r_inf, inductance = float(coefficients[0]), float(coefficients[1])
    r_k = coefficients[2:]
    total = r_k.sum()
    arcs: list[_ArcGuess] = []
    if total <= 0:
        return r_inf, inductance, arcs
    active = r_k > 1e-3 * total
    # Contiguous runs of active time constants form one arc each.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(int), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        r = float(r_k[start:stop].sum())
        log_tau = float(np.sum(r_k[start:stop] * np.log(tau[start:stop])) / r)
        arcs.append(_ArcGuess(r, math.exp(log_tau)))
    return r_inf, inductance, arcs


def _peak_arcs(freq: FloatArray, z: ComplexArray) -> list[_ArcGuess]:
    """Arcs from the maxima of -Z'' (apex at w tau = 1, diameter about 2 * height / 0.85)."""
    height = -z.imag
    if height.size < 3 or height.max() <= 0:
        return []
    peaks, _ = find_peaks(height, prominence=0.05 * float(np.ptp(height)))
    return [
        _ArcGuess(2.0 * float(height[k]) / 0.85, 1.0 / (2 * np.pi * float(freq[k]))) for k in peaks
    ]


def _complete(
    arcs: list[_ArcGuess], k: int, freq: FloatArray, span: float, where: str
) -> list[_ArcGuess]:
    """Exactly ``k`` arcs sorted by tau: keep the largest, add missing ones outside the window."""
    chosen = sorted(sorted(arcs, key=lambda a: -a.r_ohm)[:k], key=lambda a: a.tau_s)
    tau_top = 1.0 / (2 * np.pi * float(freq.max()))
    tau_bottom = 1.0 / (2 * np.pi * float(freq.min()))
    extra = k - len(chosen)
    small = max(span, 1e-12) * 0.1
    for i in range(extra):
        if where == "above" or (where == "both" and i % 2 == 0):
            chosen.insert(0, _ArcGuess(small, tau_top / 10.0 ** (1 + i)))
        else:
            chosen.append(_ArcGuess(small, tau_bottom * 10.0 ** (1 + i)))
    return chosen


def _kinds(node: _Node) -> str:
    """The element kinds below a node, in order: its shape without the labels."""
    if isinstance(node, _Element):
        return node.kind
    return (
        ("p(" if isinstance(node, _Parallel) else "(") + ",".join(map(_kinds, node.children)) + ")"
    )


def _candidate_starts(model: Circuit, freq: FloatArray, z: ComplexArray) -> list[FloatArray]:
    arc_nodes = [n for n in _top_level(model) if isinstance(n, _Parallel)]
    k = len(arc_nodes)
    r_inf, inductance, drt = _drt_arcs(freq, z)
    peaks = _peak_arcs(freq, z)
    span = float(np.ptp(z.real)) or float(np.abs(z).mean())
    r_series = max(
        float(z.real[np.argmax(freq)]) if r_inf <= 0 else r_inf, 1e-3 * float(np.abs(z).min())
    )
    arc_sets: list[list[_ArcGuess]] = []
    for source in (drt, peaks):
        for where in ("above", "below", "both"):
            arc_sets.append(_complete(source, k, freq, span, where))
    # Overlapping arcs can merge into one DRT band: also try splitting the largest band.
    if drt and len(drt) < k:
        big = max(drt, key=lambda a: a.r_ohm)
        split = [a for a in drt if a is not big] + [
            _ArcGuess(big.r_ohm / 2, big.tau_s / 10.0),
            _ArcGuess(big.r_ohm / 2, big.tau_s * 10.0),
        ]
        arc_sets.append(_complete(split, k, freq, span, "above"))
    # A log-uniform spread of time constants over the window, the resistance split evenly.
    taus = (
        np.geomspace(1 / (2 * np.pi * freq.max()), 1 / (2 * np.pi * freq.min()), k + 2)[
            1:-1
        ].tolist()
        if k
        else []
    )
    arc_sets.append([_ArcGuess(span / max(k, 1), float(t)) for t in taus])
    # Arcs of different kinds (R||C and R||CPE) do not commute: the circuit may list a slow
    # one first, so also try the time constants in the reverse order.
    if len({_kinds(n) for n in arc_nodes}) > 1:
        arc_sets += [arc_set[::-1] for arc_set in arc_sets]
    starts: list[FloatArray] = []
    seen: set[tuple[float, ...]] = set()
    for arc_set in arc_sets:
        start = _assign(model, freq, z, arc_set, r_series, inductance)
        key = tuple(np.round(np.log(start), 3))
        if key not in seen:
            seen.add(key)
            starts.append(start)
    # Order the starts by their initial misfit, so max_starts keeps the most promising.
    jw = 2j * np.pi * freq
    weight = 1.0 / np.abs(z)

    def misfit(start: FloatArray) -> float:
        zm, _ = _evaluate(model.root, start, jw, need_jacobian=False)
        return float(np.sum(np.abs((zm - z) * weight) ** 2))

    return sorted(starts, key=misfit)


def _assign(
    model: Circuit,
    freq: FloatArray,
    z: ComplexArray,
    arcs: list[_ArcGuess],
    r_series: float,
    inductance: float,
) -> FloatArray:
    values = np.ones(len(model.parameter_names))
    omega_min = 2 * np.pi * float(freq.min())
    z_low = float(np.abs(z[np.argmin(freq)]))
    top = _top_level(model)
    n_series_r = sum(1 for n in top if isinstance(n, _Element) and n.kind == "R") or 1
    arc_iter = iter(arcs)
    default_arc = _ArcGuess(max(z_low, 1e-9), 1.0 / omega_min)

    def fill(node: _Node, arc: _ArcGuess, top_level: bool) -> None:
        if isinstance(node, _Series | _Parallel):
            for child in node.children:
                fill(child, arc, top_level=False)
            return
        i = node.index
        if node.kind == "R":
            values[i] = r_series / n_series_r if top_level else arc.r_ohm
        elif node.kind == "C":
            # In series: blocking capacitance, small next to |Z| at the lowest frequency.
            values[i] = 1.0 / (omega_min * 0.1 * z_low) if top_level else arc.tau_s / arc.r_ohm
        elif node.kind == "L":
            values[i] = (
                inductance if inductance > 0 else 1e-3 * r_series / (2 * np.pi * float(freq.max()))
            )
        elif node.kind == "CPE":
            n = 0.8 if top_level else 0.9
            values[i + 1] = n
            values[i] = (
                1.0 / (omega_min**n * 0.1 * z_low) if top_level else arc.tau_s**n / arc.r_ohm
            )
        elif node.kind == "W":
            values[i] = (
                0.1 * z_low * math.sqrt(omega_min)
                if top_level
                else arc.r_ohm / math.sqrt(arc.tau_s)
            )
        else:  # Wo, Ws
            values[i] = 0.5 * z_low if top_level else arc.r_ohm
            values[i + 1] = 1.0 / omega_min if top_level else arc.tau_s

    for node in top:
        if isinstance(node, _Parallel):
            fill(node, next(arc_iter, default_arc), top_level=False)
        else:
            fill(node, default_arc, top_level=True)
    values = np.where(model.is_exponent, np.clip(values, 1e-3, 1.0), np.clip(values, 1e-15, 1e15))
    return values


# ---------------------------------------------------------------------------------------------
# Comparing circuits
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CircuitComparison(ResultMixin):
    """One candidate circuit of :func:`compare`, with its fit and information criteria.

    ``delta``: its ``criterion`` value (AIC or BIC) minus the best candidate's (0 for the best;
    above about 10 the candidate is clearly worse, Burnham & Anderson). ``weight``: the
    Akaike/Schwarz weight exp(-delta/2) / sum over candidates, the relative support of the data.
    """

    rank: int
    circuit: str
    criterion: str
    delta: float
    weight: float
    n_parameters: int
    chi_square: float
    reduced_chi_square: float
    aic: float
    bic: float
    undetermined: list[str]
    fit: FitResult


def compare(
    freq_Hz: ArrayLike,
    z_ohm: ArrayLike,
    circuits: Sequence[str | Circuit],
    criterion: Literal["aic", "bic"] = "bic",
    weighting: Literal["modulus", "unit"] = "modulus",
) -> list[CircuitComparison]:
    """Fit each candidate circuit to one spectrum and rank them, best first.

    Every candidate is fitted by :func:`fit` with the same ``weighting`` (so their chi-squares
    share a scale) and ranked by ``criterion``: "bic" (default; penalises extra parameters
    more, k ln n against 2k) or "aic". A circuit with undetermined parameters is still ranked,
    its ``undetermined`` list says which. Reference: K. P. Burnham, D. R. Anderson, Model
    Selection and Multimodel Inference, 2nd ed. (Springer 2002), ch. 2.
    """
    if criterion not in ("aic", "bic"):
        raise ValueError(f"criterion must be 'aic' or 'bic', got {criterion!r}")
    if isinstance(circuits, str) or not circuits:
        raise ValueError("circuits must be a non-empty list of circuit strings")
    fits = []
    for candidate in circuits:
        try:
            fits.append(fit(freq_Hz, z_ohm, candidate, weighting=weighting))
        except ValueError as exc:
            raise ValueError(f"circuit {str(candidate)!r}: {exc}") from exc
    scores = np.array([getattr(result, criterion) for result in fits])
    deltas = scores - scores.min()
    support = np.exp(-0.5 * deltas)
    weights = support / support.sum()
    order = np.argsort(scores, kind="stable")
    return [
        CircuitComparison(
            rank=rank + 1,
            circuit=fits[i].circuit,
            criterion=criterion,
            delta=float(deltas[i]),
            weight=float(weights[i]),
            n_parameters=fits[i].n_parameters,
            chi_square=fits[i].chi_square,
            reduced_chi_square=fits[i].reduced_chi_square,
            aic=fits[i].aic,
            bic=fits[i].bic,
            undetermined=list(fits[i].undetermined),
            fit=fits[i],
        )
        for rank, i in enumerate(order)
    ]


# ---------------------------------------------------------------------------------------------
# Distribution of relaxation times
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DRTResult(ResultMixin):
    """Distribution of relaxation times of one spectrum (see :func:`drt`).

    ``tau_s`` (s) and ``gamma_ohm`` (ohm per unit ln tau): Z(w) = R_inf + j w L +
    integral gamma(ln tau) / (1 + j w tau) d ln tau. ``peaks_tau_s`` (shortest first),
    ``peaks_gamma_ohm`` and ``peaks_resistance_ohm`` (gamma integrated between the minima on
    either side: the peak's polarisation resistance). ``regularisation`` is the chosen lambda,
    ``method`` how it was chosen ("gcv", "lcurve" or "given").
    """

    tau_s: FloatArray
    gamma_ohm: FloatArray
    r_inf_ohm: float
    inductance_H: float
    peaks_tau_s: list[float]
    peaks_gamma_ohm: list[float]
    peaks_resistance_ohm: list[float]
    regularisation: float
    method: str
    relative_rms_residual: float
    freq_Hz: FloatArray
    z_fit_ohm: ComplexArray
    sorted_input: bool


#: Regularisation parameters tried by :func:`drt` (for the scaled, modulus-weighted problem).
#: They start at 1e-5: below it GCV on a noise-free spectrum of CPE arcs lets gamma ring into
#: side peaks that are not arcs.
DRT_LAMBDAS: Final = np.logspace(-5, 1, 25)


def drt(
    freq_Hz: ArrayLike,
    z_ohm: ArrayLike,
    regularisation: Literal["gcv", "lcurve"] | float = "gcv",
    points_per_decade: int = 10,
    peak_prominence: float = 0.05,
) -> DRTResult:
    """Distribution of relaxation times by Tikhonov-regularised non-negative least squares.

    gamma is discretised piecewise-constant on ``points_per_decade`` time constants per decade
    from a decade above the highest to a decade below the lowest measured frequency; with
    R_inf >= 0 and L >= 0 it minimises ||W (A x - Z)||^2 + lambda ||D2 gamma||^2 subject to
    x >= 0, W = 1/|Z| (modulus weighting, each decade of |Z| counts alike) and D2 the second
    difference (smooth gamma). lambda is chosen among :data:`DRT_LAMBDAS` by generalised
    cross-validation (``"gcv"``: minimum of n ||r||^2 / (n - tr H)^2, H the influence matrix on
    the non-zero unknowns) or by the corner of the L-curve (``"lcurve"``: largest curvature of
    (log ||r||, log ||D2 gamma||)), or given as a number. Peaks: maxima of gamma with a
    prominence above ``peak_prominence`` times the largest gamma, positioned by a parabola
    through the three points around each maximum (in ln tau).
    References: T. H. Wan, M. Saccoccio, C. Chen, F. Ciucci, Electrochim. Acta 184, 483
    (2015); G. H. Golub, M. Heath, G. Wahba, Technometrics 21, 215 (1979) (GCV);
    P. C. Hansen, SIAM Rev. 34, 561 (1992) (L-curve).
    """
    freq, z, unsorted = _spectrum(freq_Hz, z_ohm)
    if isinstance(points_per_decade, bool) or not isinstance(points_per_decade, int):
        raise ValueError(f"points_per_decade must be an integer, got {points_per_decade!r}")
    if not 2 <= points_per_decade <= 50:
        raise ValueError(f"points_per_decade must be in [2, 50], got {points_per_decade}")
    prominence = positive("peak_prominence", peak_prominence)
    omega = 2 * np.pi * freq
    lo = math.log10(1.0 / float(omega.max())) - 1.0
    hi = math.log10(1.0 / float(omega.min())) + 1.0
    tau = np.logspace(lo, hi, round((hi - lo) * points_per_decade) + 1)
    step = math.log(float(tau[1] / tau[0]))
    scale = float(np.median(np.abs(z)))
    weight = 1.0 / np.abs(z)
    basis = np.empty((freq.size, tau.size + 2), dtype=np.complex128)
    basis[:, 0] = 1.0
    basis[:, 1] = 1j * omega * scale / float(omega.max())  # L in units of scale / omega_max
    basis[:, 2:] = step / (1.0 + 1j * omega[:, None] * tau[None, :])
    weighted = basis * (weight * scale)[:, None]
    a = np.concatenate([weighted.real, weighted.imag])
    b = np.concatenate([(z * weight).real, (z * weight).imag])
    second = np.zeros((tau.size - 2, tau.size + 2))
    for k in range(tau.size - 2):
        second[k, k + 2 : k + 5] = (1.0, -2.0, 1.0)

    def solve(lam: float) -> tuple[FloatArray, float, float, float]:
        """x, residual norm^2, seminorm^2 and trace of the influence matrix for lambda."""
        stacked = np.vstack([a, math.sqrt(lam) * second])
        target = np.concatenate([b, np.zeros(second.shape[0])])
        x, _ = nnls(stacked, target, maxiter=50 * stacked.shape[1])
        residual = float(np.sum((a @ x - b) ** 2))
        seminorm = float(np.sum((second @ x) ** 2))
        # tr H = tr(A_s (A_s^T A_s + lambda D_s^T D_s)^-1 A_s^T) on the non-zero unknowns s,
        # computed as tr((A_s^T A_s + lambda D_s^T D_s)^-1 A_s^T A_s): a small square solve.
        active = x > 0
        a_s, d_s = a[:, active], second[:, active]
        gram = a_s.T @ a_s
        try:
            trace = float(np.trace(np.linalg.solve(gram + lam * (d_s.T @ d_s), gram)))
        except np.linalg.LinAlgError:
            trace = float(active.sum())
        return x, residual, seminorm, trace

    method: str = "given"
    if isinstance(regularisation, str):
        if regularisation not in ("gcv", "lcurve"):
            raise ValueError(
                f"regularisation must be 'gcv', 'lcurve' or a number > 0, got {regularisation!r}"
            )
        solutions = [solve(float(lam)) for lam in DRT_LAMBDAS]
        if regularisation == "gcv":
            n = b.size
            scores = [n * res / max(n - trace, 1e-12) ** 2 for _, res, _, trace in solutions]
            chosen = int(np.argmin(scores))
        else:
            chosen = _lcurve_corner(
                np.array([max(res, 1e-300) for _, res, _, _ in solutions]),
                np.array([max(semi, 1e-300) for _, _, semi, _ in solutions]),
            )
        lam, method = float(DRT_LAMBDAS[chosen]), regularisation
        x = solutions[chosen][0]
    else:
        lam = positive("regularisation", regularisation)
        x = solve(lam)[0]
    gamma = x[2:] * scale
    z_fit = basis @ (x * scale)
    # Interior maxima only: a rise at either end of the grid is an arc the window barely sees.
    peaks, _ = find_peaks(gamma, prominence=prominence * max(float(gamma.max()), 1e-300))
    log_tau = np.log(tau)
    # Each peak's share of gamma: from the minimum before it to the minimum after it.
    bounds = [0] + [
        int(p + np.argmin(gamma[p : q + 1])) for p, q in itertools.pairwise(peaks)
    ] + [tau.size]  # fmt: skip
    peak_tau, peak_gamma, peak_r = [], [], []
    for number, k in enumerate(int(k) for k in peaks):
        position = float(log_tau[k])
        if 0 < k < tau.size - 1:
            left, mid, right = gamma[k - 1], gamma[k], gamma[k + 1]
            curvature = left - 2 * mid + right
            if curvature < 0:
                position += 0.5 * step * float(left - right) / float(curvature)
        peak_tau.append(math.exp(position))
        peak_gamma.append(float(gamma[k]))
        peak_r.append(float(gamma[bounds[number] : bounds[number + 1]].sum() * step))
    return DRTResult(
        tau_s=tau,
        gamma_ohm=gamma,
        r_inf_ohm=float(x[0] * scale),
        inductance_H=float(x[1] * scale / float(omega.max())),
        peaks_tau_s=peak_tau,
        peaks_gamma_ohm=peak_gamma,
        peaks_resistance_ohm=peak_r,
        regularisation=lam,
        method=method,
        relative_rms_residual=float(np.sqrt(np.mean(np.abs(z_fit - z) ** 2 / np.abs(z) ** 2))),
        freq_Hz=freq,
        z_fit_ohm=z_fit,
        sorted_input=unsorted,
    )


def _lcurve_corner(residual: FloatArray, seminorm: FloatArray) -> int:
    """Index of the largest curvature of the L-curve (log residual, log seminorm)."""
    x, y = 0.5 * np.log(residual), 0.5 * np.log(seminorm)
    dx, dy = np.gradient(x), np.gradient(y)
    ddx, ddy = np.gradient(dx), np.gradient(dy)
    with np.errstate(divide="ignore", invalid="ignore"):
        curvature = (dx * ddy - dy * ddx) / (dx**2 + dy**2) ** 1.5
    curvature = np.nan_to_num(curvature, nan=-np.inf)
    return int(np.argmax(curvature[1:-1]) + 1) if curvature.size > 2 else 0


#: A DRT peak holding less than this fraction of the summed peak resistances is not counted as
#: an arc by :func:`suggest_circuit`: noise and CPE tails make such small side peaks.
MIN_ARC_RESISTANCE_FRACTION = 0.05


def suggest_circuit(freq_Hz: ArrayLike, z_ohm: ArrayLike) -> str:
    """A circuit for a spectrum whose number of arcs nobody gave: R0 in series with one R||CPE
    arc per peak of the DRT (:func:`drt`, L-curve), at least one; e.g.
    ``R0-p(R1,CPE1)-p(R2,CPE2)``. Peaks below :data:`MIN_ARC_RESISTANCE_FRACTION` of the
    summed peak resistances are not counted."""
    resistances = drt(freq_Hz, z_ohm, regularisation="lcurve").peaks_resistance_ohm
    total = sum(resistances)
    n_arcs = max(sum(1 for r in resistances if r >= MIN_ARC_RESISTANCE_FRACTION * total), 1)
    return "-".join(["R0"] + [f"p(R{k},CPE{k})" for k in range(1, n_arcs + 1)])
