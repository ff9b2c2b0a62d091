"""Element data tables: standard atomic weights, densities, physical constants.

Atomic weights: IUPAC/CIAAW standard atomic weights 2021 (T. Prohaska et al., "Standard atomic
weights of the elements 2021 (IUPAC Technical Report)", Pure Appl. Chem. 94, 573-600 (2022);
https://ciaaw.org). Where IUPAC gives an interval (H, Li, B, C, N, O, Mg, Si, S, Cl, Ar, Br, Tl)
the conventional value is used (Li 6.94, O 15.999 ...). Elements without a standard atomic
weight (Tc, Pm, Po ... Ac) carry the mass number of their longest-lived isotope, as IUPAC
tables print it in brackets.

Densities: room-temperature densities of the elements in their standard state (metals as
polycrystalline solids), CRC Handbook of Chemistry and Physics, 97th ed. (2016), "Physical
Constants of Inorganic Compounds"; Li 0.534 and Na 0.968 g/cm^3 as in the lab's protocols.
"""

from __future__ import annotations

#: Faraday constant, C/mol (CODATA 2018, exact by the 2019 SI definition of e and N_A).
FARADAY_C_PER_MOL = 96485.33212
#: Avogadro constant, 1/mol (exact, 2019 SI).
AVOGADRO_PER_MOL = 6.02214076e23

#: Standard atomic weights, g/mol (IUPAC 2021, conventional values for interval elements).
ATOMIC_WEIGHTS_G_MOL: dict[str, float] = {
    "H": 1.008, "He": 4.002602, "Li": 6.94, "Be": 9.0121831, "B": 10.81, "C": 12.011,
    "N": 14.007, "O": 15.999, "F": 18.998403162, "Ne": 20.1797, "Na": 22.98976928,
    "Mg": 24.305, "Al": 26.9815384, "Si": 28.085, "P": 30.973761998, "S": 32.06,
    "Cl": 35.45, "Ar": 39.95, "K": 39.0983, "Ca": 40.078, "Sc": 44.955907, "Ti": 47.867,
    "V": 50.9415, "Cr": 51.9961, "Mn": 54.938043, "Fe": 55.845, "Co": 58.933194,
    "Ni": 58.6934, "Cu": 63.546, "Zn": 65.38, "Ga": 69.723, "Ge": 72.630, "As": 74.921595,
    "Se": 78.971, "Br": 79.904, "Kr": 83.798, "Rb": 85.4678, "Sr": 87.62, "Y": 88.905838,
    "Zr": 91.222, "Nb": 92.90637, "Mo": 95.95, "Tc": 97.0, "Ru": 101.07, "Rh": 102.90549,
    "Pd": 106.42, "Ag": 107.8682, "Cd": 112.414, "In": 114.818, "Sn": 118.710,
    "Sb": 121.760, "Te": 127.60, "I": 126.90447, "Xe": 131.293, "Cs": 132.90545196,
    "Ba": 137.327, "La": 138.90547, "Ce": 140.116, "Pr": 140.90766, "Nd": 144.242,
    "Pm": 145.0, "Sm": 150.36, "Eu": 151.964, "Gd": 157.249, "Tb": 158.925354,
    "Dy": 162.500, "Ho": 164.930329, "Er": 167.259, "Tm": 168.934219, "Yb": 173.045,
    "Lu": 174.9668, "Hf": 178.486, "Ta": 180.94788, "W": 183.84, "Re": 186.207,
    "Os": 190.23, "Ir": 192.217, "Pt": 195.084, "Au": 196.966570, "Hg": 200.592,
    "Tl": 204.38, "Pb": 207.2, "Bi": 208.98040, "Po": 209.0, "At": 210.0, "Rn": 222.0,
    "Fr": 223.0, "Ra": 226.0, "Ac": 227.0, "Th": 232.0377, "Pa": 231.03588, "U": 238.02891,
}  # fmt: skip

#: Densities of the elements at room temperature, g/cm^3 (CRC Handbook, 97th ed.).
ELEMENT_DENSITIES_G_CM3: dict[str, float] = {
    "Li": 0.534, "Na": 0.968, "K": 0.89, "Rb": 1.53, "Cs": 1.93, "Be": 1.85, "Mg": 1.74,
    "Ca": 1.54, "Sr": 2.64, "Ba": 3.62, "B": 2.34, "C": 2.27, "Al": 2.70, "Si": 2.33,
    "P": 1.82, "S": 2.07, "Sc": 2.99, "Ti": 4.51, "V": 6.0, "Cr": 7.15, "Mn": 7.3,
    "Fe": 7.87, "Co": 8.86, "Ni": 8.90, "Cu": 8.96, "Zn": 7.134, "Ga": 5.91, "Ge": 5.323,
    "As": 5.75, "Se": 4.81, "Y": 4.47, "Zr": 6.52, "Nb": 8.57, "Mo": 10.2, "Ru": 12.1,
    "Rh": 12.4, "Pd": 12.0, "Ag": 10.5, "Cd": 8.69, "In": 7.31, "Sn": 7.287, "Sb": 6.68,
    "Te": 6.24, "La": 6.15, "Ce": 6.77, "Pr": 6.77, "Nd": 7.01, "Sm": 7.52, "Eu": 5.24,
    "Gd": 7.90, "Hf": 13.3, "Ta": 16.4, "W": 19.3, "Re": 20.8, "Os": 22.59, "Ir": 22.56,
    "Pt": 21.5, "Au": 19.3, "Hg": 13.53, "Tl": 11.8, "Pb": 11.3, "Bi": 9.79, "Th": 11.7,
    "U": 19.1,
}  # fmt: skip
