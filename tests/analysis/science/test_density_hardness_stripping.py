"""Density, Martens hardness and stripping against hand calculations and textbook values."""

import math
import statistics

import numpy as np
import pytest

from analysis.science import density, hardness, stripping

F, LI_M, LI_RHO = 96485.33212, 6.94, 0.534


def test_geometric_density_7mm_by_1mm_pellet():
    volume_cm3 = math.pi * 0.35**2 * 0.1  # 7 mm diameter, 1 mm thick
    assert density.geometric_density(0.19, 7.0, 1.0) == pytest.approx(0.19 / volume_cm3)
    assert density.geometric_density(0.19, 7.0, 1.0) == pytest.approx(4.937, abs=1e-3)


def test_archimedes_by_hand():
    assert density.archimedes_density(1.0, 0.8, 0.997) == pytest.approx(0.997 / 0.2)
    corrected = density.archimedes_density(1.0, 0.8, 0.997, air_density_g_cm3=0.0012)
    assert corrected == pytest.approx(1.0 * (0.997 - 0.0012) / 0.2 + 0.0012)


def test_xrd_density_of_cubic_llzo_matches_literature():
    # a = 12.97 A, Z = 8: about 5.11 g/cm^3 (theoretical density of cubic LLZO in the literature)
    by_hand = 8 * 839.72841 / (6.02214076e23 * (12.97e-8) ** 3)
    assert density.xrd_density("Li7La3Zr2O12", 12.97) == pytest.approx(by_hand, rel=1e-9)
    assert density.xrd_density("Li7La3Zr2O12", 12.97) == pytest.approx(5.11, abs=0.01)


def test_relative_density_and_summary():
    assert density.relative_density(4.9, 5.0) == pytest.approx(98.0)
    values = [4.90, 4.95, 5.01]
    summary = density.summarize(values, theoretical_g_cm3=5.1)
    assert summary.n == 3
    assert summary.mean_g_cm3 == pytest.approx(statistics.mean(values))
    assert summary.std_g_cm3 == pytest.approx(statistics.stdev(values))
    assert summary.relative_mean_percent == pytest.approx(100 * statistics.mean(values) / 5.1)
    assert density.summarize([4.9]).to_dict()["std_g_cm3"] is None


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: density.geometric_density(0.2, 0.0, 1.0), "diameter_mm"),
        (lambda: density.geometric_density(0.2, 7.0, -1.0), "thickness_mm"),
        (lambda: density.geometric_density(float("nan"), 7.0, 1.0), "mass_g"),
        (lambda: density.archimedes_density(1.0, 1.2, 1.0), "immersed_mass_g"),
        (lambda: density.xrd_density("Li7La3Zr2O12", 12.97, z=0), "z"),
        (lambda: density.summarize([]), "values_g_cm3"),
    ],
)
def test_density_errors_name_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_martens_hardness_by_hand():
    # 15 mN, 2 um: F = 0.015 N, h = 0.002 mm
    assert hardness.martens_hardness(15.0, 2.0) == pytest.approx(0.015 / (26.43 * 0.002**2))
    assert hardness.martens_hardness(15.0, 2.0, indenter="berkovich") == pytest.approx(
        0.015 / (26.44 * 0.002**2)
    )


def test_martens_hardness_arrays_in_arrays_out():
    forces = np.array([15.0, 15.0, 10.0])
    depths = np.array([2.0, 3.0, 2.5])
    result = hardness.martens_hardness(forces, depths)
    assert isinstance(result, np.ndarray)
    assert result.shape == (3,)
    assert result[1] == pytest.approx(0.015 / (26.43 * 0.003**2))


@pytest.mark.parametrize(
    ("forces", "depths", "fragment"),
    [
        ([15.0, 15.0], [2.0], "same shape"),
        ([15.0, float("nan")], [2.0, 2.0], "force_mN"),
        ([15.0], [0.0], "depth_um"),
    ],
)
def test_martens_hardness_errors(forces, depths, fragment):
    with pytest.raises(ValueError, match=fragment):
        hardness.martens_hardness(forces, depths)
    with pytest.raises(ValueError, match="indenter"):
        hardness.martens_hardness(1.0, 1.0, indenter="knoop")


def test_hardness_summary_against_reference():
    sample, reference = [118.0, 120.0, 122.0, 125.0], [100.0, 98.0, 102.0]
    summary = hardness.summarize(sample, reference=reference)
    assert summary.n == 4
    assert summary.mean_N_mm2 == pytest.approx(statistics.mean(sample))
    assert summary.std_N_mm2 == pytest.approx(statistics.stdev(sample))
    assert summary.median_N_mm2 == pytest.approx(statistics.median(sample))
    ref_mean = statistics.mean(reference)
    assert summary.change_percent == pytest.approx(
        100 * (statistics.mean(sample) - ref_mean) / ref_mean
    )
    assert summary.change_std_error_percent is not None and summary.change_std_error_percent > 0
    assert hardness.summarize(sample).change_percent is None


def test_stripped_thickness_by_hand():
    volumetric = F * LI_RHO / (3.6 * LI_M)  # mAh/cm^3, about 2062
    assert stripping.volumetric_capacity_mAh_cm3("Li") == pytest.approx(volumetric)
    assert stripping.stripped_thickness_um(1.0) == pytest.approx(1e4 / volumetric)
    assert stripping.stripped_thickness_um(1.0) == pytest.approx(
        4.85, abs=0.01
    )  # textbook: ~4.85 um


def test_sand_diffusivity_by_hand():
    i = 0.1e-3  # A/cm^2
    tau = 1.0 * 3.6 / i  # 1 mAh/cm^2 at 0.1 mA/cm^2 = 36000 s
    c = LI_RHO / LI_M
    expected = 4 * i**2 * tau / (math.pi * (F * c) ** 2)
    assert stripping.sand_diffusivity(0.1, capacity_mAh_cm2=1.0) == pytest.approx(expected)
    assert stripping.sand_diffusivity(0.1, transition_time_s=tau) == pytest.approx(expected)
    with pytest.raises(ValueError, match="exactly one"):
        stripping.sand_diffusivity(0.1)
    with pytest.raises(ValueError, match="exactly one"):
        stripping.sand_diffusivity(0.1, capacity_mAh_cm2=1.0, transition_time_s=5.0)


def _stripping_curve():
    t = np.arange(0.0, 5000.0, 10.0)
    current = np.where(t >= 100.0, 0.5, 0.0)  # 0.5 mA on 0.5 cm^2 = 1 mA/cm^2 from t = 100 s
    voltage = np.where(t < 3600.0, 0.05, 0.05 + (t - 3600.0) * 0.95 / 205.0)  # 1.0 V at t = 3805 s
    return t, current, voltage


def test_analyze_synthetic_curve_by_hand():
    t, current, voltage = _stripping_curve()
    result = stripping.analyze(t, current, voltage, area_cm2=0.5, cutoff_V=1.0)
    tau = 3805.0 - 100.0
    capacity = 0.5 * tau / 3600.0 / 0.5
    assert result.cutoff_reached and not result.is_lower_bound
    assert result.transition_time_s == pytest.approx(tau)
    assert result.capacity_mAh_cm2 == pytest.approx(capacity)
    assert result.current_density_mA_cm2 == pytest.approx(1.0)
    assert result.stripped_thickness_um == pytest.approx(
        capacity * 1e4 / (F * LI_RHO / (3.6 * LI_M))
    )
    expected_d = 4 * (1e-3) ** 2 * tau / (math.pi * (F * LI_RHO / LI_M) ** 2)
    assert result.effective_diffusivity_cm2_s == pytest.approx(expected_d)


def test_analyze_without_cutoff_is_lower_bound():
    t, current, voltage = _stripping_curve()
    result = stripping.analyze(t, current, np.minimum(voltage, 0.5), area_cm2=0.5, cutoff_V=1.0)
    assert not result.cutoff_reached and result.is_lower_bound
    assert result.capacity_mAh_cm2 == pytest.approx(0.5 * (4990.0 - 100.0) / 3600.0 / 0.5)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"area_cm2": 0.0}, "area_cm2"),
        ({"area_cm2": -1.0}, "area_cm2"),
        ({"voltage_V": np.zeros(3)}, "same length"),
        ({"time_s": np.array([])}, "time_s"),
        ({"current_mA": np.full(500, np.nan)}, "current_mA"),
    ],
)
def test_analyze_errors(kwargs, fragment):
    t, current, voltage = _stripping_curve()
    args = {
        "time_s": t,
        "current_mA": current,
        "voltage_V": voltage,
        "area_cm2": 0.5,
        "cutoff_V": 1.0,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=fragment):
        stripping.analyze(**args)
