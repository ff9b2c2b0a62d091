"""EIS fits and Kramers-Kronig checks on real instrument files from ../shared/data.

The files are read with analysis.readers, so these tests also check that the readers' sign and
unit conventions (Im(Z), Ohm, Hz) are the ones the fit expects.
"""

from pathlib import Path

import numpy as np
import pytest

from analysis.readers import read
from analysis.science import eis
from tests.shared_data import require_shared_data


def load_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = read(path, mapping="eis3").data
    return data["freq_Hz"].to_numpy(), data["z_real_ohm"].to_numpy() + 1j * data[
        "z_imag_ohm"
    ].to_numpy()


def load_mpt(path: Path, cycle: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    data = read(path).data
    data = data[data["freq_Hz"] > 0]  # GEIS files interleave zero-frequency (DC) rows
    if cycle is not None:
        data = data[data["cycle"] == cycle]
    return data["freq_Hz"].to_numpy(), data["z_real_ohm"].to_numpy() + 1j * data[
        "z_imag_ohm"
    ].to_numpy()


def test_example_csv_is_kk_valid_and_fits_without_guess():
    f, z = load_csv(require_shared_data("eis", "exampleData.csv"))
    assert eis.kramers_kronig(f, z).valid
    circuit = "L0-R0-p(R1,CPE1)-p(R2,CPE2)"
    auto = eis.fit(f, z, circuit)
    assert auto.relative_rms_residual < 0.03
    assert all(v > 0 for v in auto.parameters.values())
    # The high-frequency intercept of the data (Z' where Z'' crosses zero) is about R0.
    crossing = np.argmin(np.abs(z.imag[f > 10]))
    assert auto.parameters["R0"] == pytest.approx(z.real[f > 10][crossing], rel=0.15)
    hand = eis.fit(f, z, circuit, initial_guess=[1e-7, 0.015, 0.02, 5.0, 0.5, 0.1, 500.0, 0.7])
    assert auto.relative_rms_residual <= hand.relative_rms_residual * 1.01


def test_example_csv_with_impedance_py_tutorial_circuit():
    f, z = load_csv(require_shared_data("eis", "exampleData.csv"))
    circuit = "R0-p(R1,C1)-p(R2-Wo1,C2)"
    hand = eis.fit(f, z, circuit, initial_guess=[0.01, 0.01, 100, 0.01, 0.05, 100, 1])
    auto = eis.fit(f, z, circuit)
    assert auto.relative_rms_residual <= hand.relative_rms_residual * 1.01


def test_biologic_example_noise_sits_at_high_frequency():
    f, z = load_mpt(require_shared_data("eis", "exampleDataBioLogic.mpt"))
    check = eis.kramers_kronig(f, z)
    # By eye, Z'' flips sign between neighbouring points above ~10 Hz: noise, not an arc.
    worst = np.argmax(np.hypot(check.residual_real, check.residual_imag))
    assert check.freq_Hz[worst] > 5.0
    low = f < 5.0
    assert eis.kramers_kronig(f[low], z[low]).valid
    result = eis.fit(f, z, "R0-p(R1,CPE1)")
    assert result.relative_rms_residual < 0.04
    assert result.undetermined == []
    assert 60.0 < result.parameters["R0"] < 67.0  # the high-frequency plateau of Z'
    dc = result.parameters["R0"] + result.parameters["R1"]
    assert dc == pytest.approx(z.real[np.argmin(f)], rel=0.03)


def test_peis_file_is_flagged_by_kramers_kronig():
    f, z = load_mpt(require_shared_data("eclab", "peis.mpt"))
    # Below ~100 Hz Z' jumps between 1 and 30 ohm from one point to the next.
    check = eis.kramers_kronig(f, z)
    assert not check.valid
    assert check.rms_residual_percent > 5.0


def test_geis_sweeps_fit_consistently_below_30_khz():
    path = require_shared_data("eclab", "geis.mpt")
    f, z = load_mpt(path, cycle=1)
    # Above ~30 kHz Z' turns back up and goes negative at 1 MHz: cable/instrument artefacts.
    assert not eis.kramers_kronig(f, z).valid
    window = f <= 3e4
    assert eis.kramers_kronig(f[window], z[window]).valid
    circuit = "R0-p(R1,CPE1)-p(R2,CPE2)"
    first = eis.fit(f[window], z[window], circuit)
    f2, z2 = load_mpt(path, cycle=2)
    second = eis.fit(f2[f2 <= 3e4], z2[f2 <= 3e4], circuit)
    assert first.relative_rms_residual < 0.03 and second.relative_rms_residual < 0.03
    assert all(v > 0 for v in first.parameters.values())
    # two consecutive sweeps of the same cell: the big arc agrees within 3 %
    big = max(first.arcs, key=lambda a: a.resistance_ohm)
    big2 = max(second.arcs, key=lambda a: a.resistance_ohm)
    assert big.resistance_ohm == pytest.approx(big2.resistance_ohm, rel=0.03)
