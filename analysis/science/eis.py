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

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

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
    "FitResult",
    "KramersKronigResult",
    "asr",
    "assign_arcs",
    "conductivity",
    "cpe_capacitance",
    "fit",
    "kramers_kronig",
    "parse_circuit",
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
    notes: list[str] = field(default_factory=list)


def fit(
    freq_Hz: ArrayLike,
    z_ohm: ArrayLike,
    circuit: str | Circuit,
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
    if unsorted:
        notes.append("frequencies were not in decreasing order: sorted before fitting")
    if initial_guess is not None:
        starts = [model.vector(initial_guess)]
    else:
        starts = _candidate_starts(model, freq, z)[: max(1, int(max_starts))]
    if len(starts) == 1:
        best = solve(starts[0], None)
    else:
        # Short runs from the starts, most promising first, stopping once one fits about as
        # well as the flexible non-negative Voigt decomposition does (nothing better to find);
        # then the best one to convergence.
        target = 1.5 * _drt_cost(freq, z, weight)
        best_trial = None
        for start in starts:
            trial = solve(start, 20 * (n_params + 1))
            if best_trial is None or trial.cost < best_trial.cost:
                best_trial = trial
            if best_trial.cost <= target:
                break
        assert best_trial is not None
        best = solve(to_values(best_trial.x), None)
        if best.cost > best_trial.cost:
            best = best_trial
    values = to_values(best.x)
    z_fit, _ = _evaluate(model.root, values, jw, need_jacobian=False)
    relative_rms = float(np.sqrt(np.mean(np.abs(z_fit - z) ** 2 / np.abs(z) ** 2)))

    jac = jacobian(best.x)
    dof = max(2 * freq.size - n_params, 1)
    s2 = float(np.sum(best.fun**2)) / dof
    floor = (
        NOISE_FLOOR_RELATIVE
        if weighting == "modulus"
        else NOISE_FLOOR_RELATIVE * float(np.median(np.abs(z)))
    )
    s2 = max(s2, floor**2)
    cov_theta = _covariance(jac) * s2
    se_theta = np.sqrt(np.clip(np.diag(cov_theta), 0.0, None))
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
        notes=notes,
    )


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
            tau = (r * q) ** (1.0 / n)
        else:
            capacitance = float(values[c_el.index])
            tau = r * capacitance
        f_c = 1.0 / (2 * math.pi * tau)
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
