"""EIS: canonical arc order whatever the start, fit-quality statistics, circuit comparison and
the distribution of relaxation times (DRT) on synthetic spectra with known truth."""

import json
import math

import numpy as np
import pytest

from analysis.science import eis
from tests.analysis.science.test_eis import FREQ, THREE_ARCS, llzo_like, noisy

ARC_PARAMETERS = ("R{}", "CPE{}_Q", "CPE{}_n")


def shuffled_random_start(truth, rng):
    """Every value off by up to a factor e^1.5, exponents anywhere in [0.7, 1], and the three
    arcs' parameters handed to randomly permuted labels."""
    start = {
        name: rng.uniform(0.7, 1.0)
        if name.endswith("_n")
        else value * math.exp(rng.uniform(-1.5, 1.5))
        for name, value in truth.items()
    }
    permuted = dict(start)
    for target, source in zip((1, 2, 3), rng.permutation(3) + 1, strict=True):
        for pattern in ARC_PARAMETERS:
            permuted[pattern.format(target)] = start[pattern.format(source)]
    return permuted


def test_three_arcs_from_twenty_random_starts_get_the_same_labels():
    truth = llzo_like()
    z = eis.parse_circuit(THREE_ARCS).impedance(FREQ, truth)
    rng = np.random.default_rng(20)
    for _ in range(20):
        result = eis.fit(FREQ, z, THREE_ARCS, initial_guess=shuffled_random_start(truth, rng))
        for name, value in truth.items():
            assert result.parameters[name] == pytest.approx(value, rel=1e-5), name
        frequencies = [arc.characteristic_freq_Hz for arc in result.arcs]
        assert frequencies == sorted(frequencies, reverse=True)
        assert [arc.resistance_name for arc in result.arcs] == ["R1", "R2", "R3"]
        assert list(result.arc_labels.values())[2] == "interface"


def test_arcs_written_slow_first_come_back_fastest_first():
    truth = llzo_like()
    z = eis.parse_circuit(THREE_ARCS).impedance(FREQ, truth)
    reversed_guess = dict(truth)
    for pattern in ARC_PARAMETERS:
        reversed_guess[pattern.format(1)] = truth[pattern.format(3)]
        reversed_guess[pattern.format(3)] = truth[pattern.format(1)]
    result = eis.fit(FREQ, z, THREE_ARCS, initial_guess=reversed_guess)
    assert result.parameters["R1"] == pytest.approx(truth["R1"], rel=1e-6)
    assert result.parameters["R3"] == pytest.approx(truth["R3"], rel=1e-6)
    # Arcs of another kind (R||C against R||CPE) are not interchangeable and keep their place.
    mixed = "R0-p(R1,C1)-p(R2,CPE2)"
    params = {"R0": 5.0, "R1": 100.0, "C1": 1e-3, "R2": 200.0, "CPE2_Q": 1e-9, "CPE2_n": 0.9}
    result = eis.fit(FREQ, eis.parse_circuit(mixed).impedance(FREQ, params), mixed)
    assert result.parameters["C1"] == pytest.approx(1e-3, rel=1e-5)
    assert result.arcs[0].characteristic_freq_Hz < result.arcs[1].characteristic_freq_Hz


def test_fit_quality_statistics_follow_their_definitions():
    truth = llzo_like()
    z = noisy(eis.parse_circuit(THREE_ARCS).impedance(FREQ, truth), 0.01, seed=3)
    result = eis.fit(FREQ, z, THREE_ARCS)
    weighted = (result.z_fit_ohm - z) / np.abs(z)
    chi_square = float(np.sum(weighted.real**2 + weighted.imag**2))
    n, k = 2 * FREQ.size, 10
    assert result.weighting == "modulus"
    assert (result.n_points, result.n_parameters) == (FREQ.size, k)
    assert result.chi_square == pytest.approx(chi_square, rel=1e-9)
    assert result.reduced_chi_square == pytest.approx(chi_square / (n - k), rel=1e-9)
    # 1 % noise on real and imaginary parts: reduced chi-square near 0.01^2.
    assert 0.5e-4 < result.reduced_chi_square < 2e-4
    assert result.aic == pytest.approx(n * math.log(chi_square / n) + 2 * k, rel=1e-9)
    assert result.bic == pytest.approx(n * math.log(chi_square / n) + k * math.log(n), rel=1e-9)
    for name, row in result.correlations.items():
        assert row[name] == pytest.approx(1.0)
        for other, value in row.items():
            assert -1.0 <= value <= 1.0
            assert value == pytest.approx(result.correlations[other][name])
    # R and Q of one arc trade against each other: strongly correlated.
    assert abs(result.correlations["R2"]["CPE2_Q"]) > 0.3
    unit = eis.fit(FREQ, z, THREE_ARCS, weighting="unit")
    residual = unit.z_fit_ohm - z
    assert unit.weighting == "unit"
    assert unit.chi_square == pytest.approx(float(np.sum(np.abs(residual) ** 2)), rel=1e-9)
    json.dumps(result.to_dict())


def test_compare_ranks_the_true_circuit_first():
    truth = llzo_like()
    z = noisy(eis.parse_circuit(THREE_ARCS).impedance(FREQ, truth), 0.01, seed=4)
    two, four = "R0-p(R1,CPE1)-p(R2,CPE2)", THREE_ARCS + "-p(R4,CPE4)"
    ranking = eis.compare(FREQ, z, [two, four, THREE_ARCS])
    assert ranking[0].circuit == THREE_ARCS
    assert [c.rank for c in ranking] == [1, 2, 3]
    assert ranking[0].delta == 0.0 and all(c.delta > 0 for c in ranking[1:])
    assert sum(c.weight for c in ranking) == pytest.approx(1.0)
    assert {c.circuit: c.bic for c in ranking}[two] - ranking[0].bic > 100
    by_aic = eis.compare(FREQ, z, [two, THREE_ARCS], criterion="aic")
    assert by_aic[0].circuit == THREE_ARCS and by_aic[0].criterion == "aic"
    json.dumps(by_aic[0].to_dict())


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [({"circuits": []}, "non-empty"), ({"circuits": "R0"}, "non-empty"),
     ({"circuits": ["R0-p(R1,C1)"], "criterion": "r2"}, "criterion"),
     ({"circuits": ["R0-p(R1,C1)", "R0-X1"]}, "'R0-X1'")],
)  # fmt: skip
def test_compare_refuses_bad_input(arguments, fragment):
    z = eis.parse_circuit("R0-p(R1,C1)").impedance(FREQ, [5.0, 100.0, 1e-9])
    with pytest.raises(ValueError, match=fragment):
        eis.compare(FREQ, z, **arguments)


def voigt(freq, r_inf, arcs):
    omega = 2 * np.pi * freq
    return r_inf + sum(r / (1 + 1j * omega * tau) for r, tau in arcs)


@pytest.mark.parametrize("method", ["gcv", "lcurve"])
@pytest.mark.parametrize(
    "arcs",
    [[(100.0, 1e-5), (200.0, 1e-2)], [(100.0, 2e-6), (200.0, 1e-3), (300.0, 0.3)]],
    ids=["two-arcs", "three-arcs"],
)
@pytest.mark.parametrize("noise", [0.0, 0.005])
def test_drt_finds_each_arc_at_its_time_constant(method, arcs, noise):
    freq = np.logspace(6, -2, 81)
    z = voigt(freq, 10.0, arcs)
    if noise:
        z = noisy(z, noise, seed=len(arcs))
    result = eis.drt(freq, z, regularisation=method)
    assert result.method == method
    assert len(result.peaks_tau_s) == len(arcs)
    for (r, tau), found_tau, found_r in zip(
        arcs, result.peaks_tau_s, result.peaks_resistance_ohm, strict=True
    ):
        assert found_tau == pytest.approx(tau, rel=0.10)
        assert found_r == pytest.approx(r, rel=0.10)
    assert result.r_inf_ohm == pytest.approx(10.0, rel=0.10)
    # Regularisation rounds the ideal arcs' delta peaks: a percent or two of misfit remains.
    assert result.relative_rms_residual < 0.02 + 3 * noise
    # gamma integrates to the polarisation resistance.
    step = math.log(result.tau_s[1] / result.tau_s[0])
    assert float(result.gamma_ohm.sum() * step) == pytest.approx(sum(r for r, _ in arcs), rel=0.05)


def test_drt_given_lambda_smooths_more_and_bad_input_is_refused():
    freq = np.logspace(6, -2, 81)
    z = voigt(freq, 10.0, [(100.0, 1e-5), (200.0, 1e-2)])
    sharp = eis.drt(freq, z, regularisation=1e-5)
    smooth = eis.drt(freq, z, regularisation=1.0)
    assert smooth.method == "given" and smooth.regularisation == 1.0
    assert max(smooth.peaks_gamma_ohm) < max(sharp.peaks_gamma_ohm)
    with pytest.raises(ValueError, match="regularisation"):
        eis.drt(freq, z, regularisation="aic")
    with pytest.raises(ValueError, match="points_per_decade"):
        eis.drt(freq, z, points_per_decade=1)
    with pytest.raises(ValueError, match="complex"):
        eis.drt(freq, z.real)
    json.dumps(sharp.to_dict())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_without_a_circuit_takes_the_number_of_arcs_from_the_drt(seed):
    truth = llzo_like()
    z = noisy(eis.parse_circuit(THREE_ARCS).impedance(FREQ, truth), 0.01, seed=seed)
    assert eis.suggest_circuit(FREQ, z) == THREE_ARCS
    result = eis.fit(FREQ, z)
    assert result.suggested_by_drt and result.circuit == THREE_ARCS
    assert "suggested" in result.notes[0]
    assert result.parameters["R3"] == pytest.approx(truth["R3"], rel=0.05)
    two = voigt(FREQ, 10.0, [(100.0, 1e-6), (200.0, 1e-2)])
    assert eis.suggest_circuit(FREQ, two) == "R0-p(R1,CPE1)-p(R2,CPE2)"
