"""Chemical formulas: parsing, molar masses, mixture conversions and precursor weighing.

Pure Python (no Django). All masses in g, molar masses in g/mol, fractions in percent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from analysis.science._validation import finite, positive
from analysis.science.elements import ATOMIC_WEIGHTS_G_MOL, ELEMENT_DENSITIES_G_CM3

__all__ = [
    "ANION_ELEMENTS",
    "convert_mixture",
    "molar_mass",
    "parse_formula",
    "precursor_masses",
]

Basis = Literal["mol", "wt", "vol"]
BASES: tuple[Basis, ...] = ("mol", "wt", "vol")

#: Elements counted as anions (or volatile counter-ions) when matching precursors to a target:
#: they never decide which precursor supplies a cation.
ANION_ELEMENTS = frozenset({"O", "H", "C", "N", "F", "Cl", "Br", "I", "S", "Se"})

# Hydrate / adduct separators users type: middle dot, bullet, asterisk.
_ADDUCT_SEPARATORS = frozenset("·•∙⋅*")
_OPENING = {"(": ")", "[": "]"}


class _Parser:
    """Recursive-descent parser over one formula string, keeping the position for errors."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> ValueError:
        return ValueError(f"invalid formula {self.text!r}: {message}")

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_spaces()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def number(self) -> float | None:
        self.skip_spaces()
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isdigit() or self.text[self.pos] == "."
        ):
            self.pos += 1
        token = self.text[start : self.pos]
        if not token:
            return None
        if token.count(".") > 1 or token == ".":
            raise self.error(f"malformed number {token!r} at position {start}")
        value = float(token)
        if value <= 0.0:
            raise self.error(f"count {token!r} at position {start} must be > 0")
        return value

    def formula(self) -> dict[str, float]:
        total: dict[str, float] = {}
        while True:
            multiplier = self.number() or 1.0
            part = self.sequence(closing="")
            if not part:
                raise self.error(f"expected an element at position {self.pos}")
            _add(total, part, multiplier)
            char = self.peek()
            if char == "":
                return total
            if char in _ADDUCT_SEPARATORS:
                self.pos += 1
                continue
            raise self.error(f"unexpected character {char!r} at position {self.pos}")

    def sequence(self, closing: str) -> dict[str, float]:
        counts: dict[str, float] = {}
        while True:
            char = self.peek()
            if char == "" or char == closing or char in _ADDUCT_SEPARATORS:
                return counts
            if char in _OPENING:
                open_pos = self.pos
                self.pos += 1
                inner = self.sequence(closing=_OPENING[char])
                if self.peek() != _OPENING[char]:
                    raise self.error(f"bracket {char!r} at position {open_pos} is never closed")
                if not inner:
                    raise self.error(f"empty brackets at position {open_pos}")
                self.pos += 1
                _add(counts, inner, self.number() or 1.0)
            elif char.isupper():
                start = self.pos
                self.pos += 1
                while self.pos < len(self.text) and self.text[self.pos].islower():
                    self.pos += 1
                symbol = self.text[start : self.pos]
                if symbol not in ATOMIC_WEIGHTS_G_MOL:
                    raise self.error(f"unknown element {symbol!r} at position {start}")
                _add(counts, {symbol: 1.0}, self.number() or 1.0)
            else:
                raise self.error(f"unexpected character {char!r} at position {self.pos}")


def _add(target: dict[str, float], counts: Mapping[str, float], multiplier: float) -> None:
    for element, count in counts.items():
        target[element] = target.get(element, 0.0) + count * multiplier


def parse_formula(text: str) -> dict[str, float]:
    """Parse a chemical formula into element counts per formula unit.

    Supports decimal subscripts (``Li6.45Al0.05La3Zr1.6Ta0.4O12``), nested round or square
    brackets (``Ca(OH)2``) and hydrates/adducts joined by ``·``, ``•`` or ``*`` with an optional
    leading multiplier (``LiOH·H2O``, ``CuSO4*5H2O``). Whitespace is ignored.

    Returns a dict ``{element symbol: count}`` (counts may be fractional). Raises ``ValueError``
    naming the offending character and its 0-based position, or the unknown element symbol.
    Reference: IUPAC Nomenclature of Inorganic Chemistry (Red Book 2005), IR-4 (formulae).
    """
    if not isinstance(text, str):
        raise ValueError(f"formula must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("formula is empty")
    return _Parser(text).formula()


def molar_mass(formula: str | Mapping[str, float]) -> float:
    """Molar mass M = sum_i n_i * A_i of a formula, in g/mol.

    ``formula`` is a formula string (see :func:`parse_formula`) or an element-count mapping.
    A_i are the IUPAC 2021 standard atomic weights (conventional values for interval elements,
    e.g. Li 6.94, O 15.999), table in :mod:`analysis.science.elements`; source: Prohaska et al.,
    Pure Appl. Chem. 94, 573 (2022).
    """
    counts = parse_formula(formula) if isinstance(formula, str) else dict(formula)
    total = 0.0
    for element, count in counts.items():
        if element not in ATOMIC_WEIGHTS_G_MOL:
            raise ValueError(f"unknown element {element!r}")
        total += finite(f"count of {element}", count) * ATOMIC_WEIGHTS_G_MOL[element]
    if total <= 0.0:
        raise ValueError(f"formula {formula!r} has no mass")
    return total


def _density_of(component: str, densities_g_cm3: Mapping[str, float] | None) -> float:
    if densities_g_cm3 is not None and component in densities_g_cm3:
        return positive(f"density of {component}", densities_g_cm3[component])
    if component in ELEMENT_DENSITIES_G_CM3:
        return ELEMENT_DENSITIES_G_CM3[component]
    raise ValueError(
        f"no density known for {component!r}: the element table (analysis.science.elements) "
        "covers solid elements only; pass densities_g_cm3={...}"
    )


def convert_mixture(
    amounts: Mapping[str, float],
    basis: Basis,
    densities_g_cm3: Mapping[str, float] | None = None,
) -> dict[str, dict[str, float]]:
    """Convert a mixture composition between mol %, wt % and vol %.

    ``amounts`` maps components (element symbols such as ``"Li"``, ``"Na"``, or formulas) to
    amounts on ``basis`` ("mol", "wt" or "vol"); any scale, normalised here. With x_i mole
    fractions, M_i molar masses (g/mol) and rho_i densities (g/cm^3):

        w_i = x_i M_i / sum_j x_j M_j,         v_i = (w_i / rho_i) / sum_j (w_j / rho_j)

    i.e. ideal mixing (volumes additive, no excess volume), the usual convention for weighing
    Li-Na foils. Densities come from :data:`analysis.science.elements.ELEMENT_DENSITIES_G_CM3`
    (CRC Handbook; Li 0.534, Na 0.968 g/cm^3) unless given in ``densities_g_cm3``.

    Returns ``{"mol": {...}, "wt": {...}, "vol": {...}}`` in percent (each sums to 100).
    Raises ``ValueError`` for an unknown basis, an unknown component or density, a negative
    amount, or amounts summing to zero.
    """
    if basis not in BASES:
        raise ValueError(f"basis must be one of {BASES}, got {basis!r}")
    if not amounts:
        raise ValueError("amounts is empty")
    molar: dict[str, float] = {}
    density: dict[str, float] = {}
    for component, amount in amounts.items():
        value = finite(f"amount of {component}", amount)
        if value < 0.0:
            raise ValueError(f"amount of {component} must be >= 0, got {value!r}")
        molar[component] = molar_mass(component)
        density[component] = _density_of(component, densities_g_cm3)
    total = sum(float(v) for v in amounts.values())
    if total <= 0.0:
        raise ValueError("amounts sum to zero: nothing to convert")

    # Everything goes through grams per unit of the given basis.
    if basis == "mol":
        grams = {c: float(a) * molar[c] for c, a in amounts.items()}
    elif basis == "wt":
        grams = {c: float(a) for c, a in amounts.items()}
    else:
        grams = {c: float(a) * density[c] for c, a in amounts.items()}
    moles = {c: g / molar[c] for c, g in grams.items()}
    volumes = {c: g / density[c] for c, g in grams.items()}
    return {
        "mol": _percent(moles),
        "wt": _percent(grams),
        "vol": _percent(volumes),
    }


def _percent(values: Mapping[str, float]) -> dict[str, float]:
    total = sum(values.values())
    return {key: 100.0 * value / total for key, value in values.items()}


def precursor_masses(
    target_formula: str,
    precursors: list[str],
    product_mass_g: float,
    excess_percent: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Grams of each precursor to weigh for ``product_mass_g`` of the target compound.

    Each cation of the target (every element not in :data:`ANION_ELEMENTS`) must come from
    exactly one precursor. For target cation E with s_E atoms per target formula unit, supplied
    by precursor P with k_E,P atoms per precursor formula unit:

        n_target = product_mass_g / M_target
        n_P      = n_target * s_E / k_E,P * (1 + excess_E / 100)
        m_P      = n_P * M_P

    with M_P the molar mass of the whole precursor formula, so hydrates count their water
    (``LiOH·H2O``: M = 41.96 g/mol, supplies Li). ``excess_percent`` is keyed by element
    (``{"Li": 10}`` weighs 10 % extra Li precursor against Li loss at high temperature).
    A precursor supplying several target cations must supply them in the target's ratio.

    Returns ``{precursor formula: mass in g}`` in the order given. Raises ``ValueError`` when a
    cation has no precursor or two, a precursor supplies no target cation, excess names an
    element that is not a target cation, or a mass is not positive. Reference: standard
    solid-state synthesis stoichiometry, e.g. A. R. West, Solid State Chemistry and its
    Applications, 2nd ed. (Wiley 2014), ch. 4.
    """
    product_mass = positive("product_mass_g", product_mass_g)
    target = parse_formula(target_formula)
    cations = {e: n for e, n in target.items() if e not in ANION_ELEMENTS}
    if not cations:
        raise ValueError(f"target_formula {target_formula!r} has no cation")
    if not precursors:
        raise ValueError("precursors is empty")
    if len(set(precursors)) != len(precursors):
        raise ValueError("precursors lists the same formula twice")
    excess = dict(excess_percent or {})
    for element, value in excess.items():
        if element not in cations:
            raise ValueError(
                f"excess_percent names {element!r}, which is not a cation of the target"
            )
        if finite(f"excess_percent[{element!r}]", value) <= -100.0:
            raise ValueError(f"excess_percent[{element!r}] must be > -100")

    supplier: dict[str, str] = {}
    parsed: dict[str, dict[str, float]] = {}
    for precursor in precursors:
        counts = parse_formula(precursor)
        parsed[precursor] = counts
        supplied = [e for e in counts if e in cations]
        if not supplied:
            raise ValueError(
                f"precursor {precursor!r} supplies none of the target cations {sorted(cations)}"
            )
        for element in supplied:
            if element in supplier:
                raise ValueError(
                    f"cation {element} is supplied by two precursors: {supplier[element]!r} and {precursor!r}"
                )
            supplier[element] = precursor
    missing = sorted(set(cations) - set(supplier))
    if missing:
        raise ValueError(f"no precursor supplies cation(s) {missing} of {target_formula!r}")

    n_target_mol = product_mass / molar_mass(target)
    masses: dict[str, float] = {}
    for precursor, counts in parsed.items():
        supplied = [e for e in counts if e in cations]
        moles = {e: n_target_mol * cations[e] / counts[e] for e in supplied}
        reference = next(iter(moles.values()))
        if any(abs(m - reference) > 1e-9 * reference for m in moles.values()):
            raise ValueError(
                f"precursor {precursor!r} supplies {supplied} in a ratio different from the target's"
            )
        factors = {1.0 + float(excess.get(e, 0.0)) / 100.0 for e in supplied}
        if len(factors) > 1:
            raise ValueError(
                f"precursor {precursor!r}: different excess_percent for its cations {supplied}"
            )
        masses[precursor] = reference * factors.pop() * molar_mass(counts)
    return masses
