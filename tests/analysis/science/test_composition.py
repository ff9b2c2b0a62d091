"""Composition: formula parsing, molar masses (hand sums), mixture conversions, precursors."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.science.composition import (
    convert_mixture,
    molar_mass,
    parse_formula,
    precursor_masses,
)

# IUPAC 2021 standard atomic weights typed in by hand for the checks below.
LI, NA, OXY, H, LA, ZR, TA, AL, CA = (
    6.94,
    22.98976928,
    15.999,
    1.008,
    138.90547,
    91.222,
    180.94788,
    26.9815384,
    40.078,
)


def test_parse_decimal_garnet():
    assert parse_formula("Li6.45Al0.05La3Zr1.6Ta0.4O12") == pytest.approx(
        {"Li": 6.45, "Al": 0.05, "La": 3, "Zr": 1.6, "Ta": 0.4, "O": 12}
    )


@pytest.mark.parametrize("text", ["LiOH·H2O", "LiOH*H2O", "LiOH • H2O"])
def test_parse_hydrate(text):
    assert parse_formula(text) == pytest.approx({"Li": 1, "O": 2, "H": 3})


def test_parse_parentheses_and_multiplier():
    assert parse_formula("Ca(OH)2") == pytest.approx({"Ca": 1, "O": 2, "H": 2})
    assert parse_formula("CuSO4·5H2O") == pytest.approx({"Cu": 1, "S": 1, "O": 9, "H": 10})
    assert parse_formula("Al2(SO4)3") == pytest.approx({"Al": 2, "S": 3, "O": 12})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Li%O", "'%' at position 2"),
        ("Xx2O3", "unknown element 'Xx' at position 0"),
        ("LiQ", "unknown element 'Q'"),
        ("Ca(OH2", "never closed"),
        ("Ca(OH))2", "')' at position 6"),
        ("li2O", "'l' at position 0"),
        ("", "empty"),
        ("Li0O", "must be > 0"),
    ],
)
def test_parse_errors_name_the_problem(text, fragment):
    with pytest.raises(ValueError) as excinfo:
        parse_formula(text)
    assert fragment in str(excinfo.value)


def test_molar_mass_llzo_by_hand():
    by_hand = 7 * LI + 3 * LA + 2 * ZR + 12 * OXY  # = 839.728 g/mol
    assert molar_mass("Li7La3Zr2O12") == pytest.approx(by_hand, rel=1e-12)
    assert molar_mass("Li7La3Zr2O12") == pytest.approx(839.73, abs=0.01)  # literature value


def test_molar_mass_hydrate_and_textbook_values():
    assert molar_mass("LiOH·H2O") == pytest.approx(LI + 2 * OXY + 3 * H)
    assert molar_mass("Ca(OH)2") == pytest.approx(CA + 2 * (OXY + H))
    assert molar_mass("H2O") == pytest.approx(18.015, abs=1e-3)
    assert molar_mass("Li6.45Al0.05La3Zr1.6Ta0.4O12") == pytest.approx(
        6.45 * LI + 0.05 * AL + 3 * LA + 1.6 * ZR + 0.4 * TA + 12 * OXY
    )


def test_convert_three_mol_percent_na_by_hand():
    result = convert_mixture({"Li": 97, "Na": 3}, "mol")
    grams_li, grams_na = 97 * LI, 3 * NA
    assert result["wt"]["Na"] == pytest.approx(100 * grams_na / (grams_li + grams_na))
    vol_li, vol_na = grams_li / 0.534, grams_na / 0.968
    assert result["vol"]["Na"] == pytest.approx(100 * vol_na / (vol_li + vol_na))
    assert result["mol"] == pytest.approx({"Li": 97, "Na": 3})


@pytest.mark.parametrize(
    ("amounts", "basis", "fragment"),
    [
        ({"Li": 1, "Xx": 1}, "mol", "Xx"),
        ({"Li": -1, "Na": 2}, "wt", ">= 0"),
        ({"Li": 0, "Na": 0}, "vol", "sum to zero"),
        ({"Li": 1}, "atoms", "basis"),
        ({"Li": 1, "H2O": 1}, "mol", "no density"),
    ],
)
def test_convert_errors(amounts, basis, fragment):
    with pytest.raises(ValueError) as excinfo:
        convert_mixture(amounts, basis)
    assert fragment in str(excinfo.value)


metals = st.sampled_from(["Li", "Na", "K", "Mg", "Al", "Ni", "Cu", "Sn", "In", "Ag"])
compositions = st.dictionaries(metals, st.floats(0.01, 100.0), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(compositions, st.sampled_from(["wt", "vol"]))
def test_round_trip_through_any_basis(mol_amounts, via):
    forward = convert_mixture(mol_amounts, "mol")
    back = convert_mixture(forward[via], via)
    total = sum(mol_amounts.values())
    for element, amount in mol_amounts.items():
        assert back["mol"][element] == pytest.approx(100 * amount / total, rel=1e-9, abs=1e-12)
        assert sum(back[via].values()) == pytest.approx(100.0)


def test_precursor_masses_llzo_by_hand():
    masses = precursor_masses("Li7La3Zr2O12", ["LiOH·H2O", "La2O3", "ZrO2"], 10.0, {"Li": 10})
    n = 10.0 / (7 * LI + 3 * LA + 2 * ZR + 12 * OXY)
    assert masses["LiOH·H2O"] == pytest.approx(7 * n * 1.10 * (LI + 2 * OXY + 3 * H))
    assert masses["La2O3"] == pytest.approx(1.5 * n * (2 * LA + 3 * OXY))
    assert masses["ZrO2"] == pytest.approx(2 * n * (ZR + 2 * OXY))
    assert list(masses) == ["LiOH·H2O", "La2O3", "ZrO2"]


@pytest.mark.parametrize(
    ("precursors", "excess", "fragment"),
    [
        (["LiOH·H2O", "La2O3"], None, "Zr"),
        (["LiOH·H2O", "Li2CO3", "La2O3", "ZrO2"], None, "two precursors"),
        (["LiOH·H2O", "La2O3", "ZrO2", "Al2O3"], None, "supplies none"),
        (["LiOH·H2O", "La2O3", "ZrO2"], {"O": 5}, "not a cation"),
    ],
)
def test_precursor_errors(precursors, excess, fragment):
    with pytest.raises(ValueError) as excinfo:
        precursor_masses("Li7La3Zr2O12", precursors, 5.0, excess)
    assert fragment in str(excinfo.value)


PRECURSOR_OF = {
    "Li": "LiOH·H2O",
    "La": "La2O3",
    "Zr": "ZrO2",
    "Ta": "Ta2O5",
    "Al": "Al2O3",
    "Ga": "Ga2O3",
}


@settings(max_examples=40, deadline=None)
@given(
    li=st.floats(5.0, 7.5),
    al=st.floats(0.01, 0.3),
    ta=st.floats(0.01, 0.8),
    batch=st.floats(0.5, 200.0),
    li_excess=st.floats(0.0, 20.0),
)
def test_precursor_cation_moles_match_formula(li, al, ta, batch, li_excess):
    target = f"Li{li:.3f}Al{al:.3f}La3Zr{2 - ta:.3f}Ta{ta:.3f}O12"
    counts = parse_formula(target)
    precursors = [PRECURSOR_OF[e] for e in ("Li", "La", "Zr", "Ta", "Al")]
    masses = precursor_masses(target, precursors, batch, {"Li": li_excess})
    n_target = batch / molar_mass(target)
    for element in ("Li", "La", "Zr", "Ta", "Al"):
        precursor = PRECURSOR_OF[element]
        moles_supplied = (
            masses[precursor] / molar_mass(precursor) * parse_formula(precursor)[element]
        )
        expected = n_target * counts[element] * (1 + li_excess / 100 if element == "Li" else 1)
        assert math.isclose(moles_supplied, expected, rel_tol=1e-9)
