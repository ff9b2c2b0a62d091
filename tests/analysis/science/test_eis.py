"""EIS: circuit parser and evaluation against closed forms, fits on synthetic spectra with known
truth (noise-free and 1 % noise), identifiability, lin-KK, helpers."""

import math

import numpy as np
import pytest

from analysis.science import eis

FREQ = np.logspace(7, -1, 81)
THREE_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)"


def arc(r_ohm, f_c_Hz, n):
    """(R, Q, n) of an R||CPE arc whose apex sits at f_c: (R Q)^(1/n) = 1 / (2 pi f_c)."""
    tau = 1.0 / (2 * math.pi * f_c_Hz)
    return r_ohm, tau**n / r_ohm, n


def llzo_like():
    (r1, q1, n1), (r2, q2, n2), (r3, q3, n3) = (
        arc(500, 1e6, 0.95),
        arc(300, 1e4, 0.85),
        arc(800, 5, 0.8),
    )
    return {"R0": 5.0, "R1": r1, "CPE1_Q": q1, "CPE1_n": n1, "R2": r2, "CPE2_Q": q2, "CPE2_n": n2,
            "R3": r3, "CPE3_Q": q3, "CPE3_n": n3}  # fmt: skip


def noisy(z, level, seed):
    rng = np.random.default_rng(seed)
    return z * (1 + level * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size)))


def test_parser_names_units_and_nesting():
    circuit = eis.parse_circuit("L0-R0-p(R1,CPE1)-p(R2-Wo2,C2)")
    assert circuit.parameter_names == [
        "L0",
        "R0",
        "R1",
        "CPE1_Q",
        "CPE1_n",
        "R2",
        "Wo2_R",
        "Wo2_tau",
        "C2",
    ]
    assert (
        circuit.units["CPE1_n"] == ""
        and circuit.units["L0"] == "H"
        and circuit.units["R1"] == "ohm"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("R0-p(R1,C1", "expected ')'"), ("R0-X1", "unknown element"), ("R0-R0", "twice"),
     ("R0--R1", "expected an element"), ("R0-p(R1)", "two branches"), ("R0+R1", "'+'"), ("", "non-empty")],
)  # fmt: skip
def test_parser_errors(text, fragment):
    with pytest.raises(ValueError) as excinfo:
        eis.parse_circuit(text)
    assert fragment in str(excinfo.value)


def test_evaluation_matches_closed_forms():
    f = np.logspace(5, -2, 30)
    w = 2 * np.pi * f
    z = eis.parse_circuit("R0-p(R1,C1)").impedance(f, {"R0": 10, "R1": 100, "C1": 1e-6})
    np.testing.assert_allclose(z, 10 + 100 / (1 + 1j * w * 100 * 1e-6), rtol=1e-12)
    # a CPE with n = 1 is a capacitor
    z_cpe = eis.parse_circuit("p(R1,CPE1)").impedance(f, {"R1": 100, "CPE1_Q": 1e-6, "CPE1_n": 1.0})
    np.testing.assert_allclose(z_cpe, 100 / (1 + 1j * w * 1e-4), rtol=1e-12)
    z_l = eis.parse_circuit("L1-W1").impedance(f, [1e-6, 3.0])
    np.testing.assert_allclose(z_l, 1j * w * 1e-6 + 3.0 * (1 - 1j) / np.sqrt(w), rtol=1e-12)
    # finite Warburgs: short (Ws) -> R at low frequency; open (Wo) -> capacitor 1/(j w tau/R) * ...
    ws = eis.parse_circuit("Ws1").impedance(np.array([1e-6]), [7.0, 1.0])
    assert ws[0] == pytest.approx(7.0, rel=1e-5)
    wo = eis.parse_circuit("Wo1").impedance(np.array([1e-6]), [7.0, 2.0])
    w0 = 2 * np.pi * 1e-6
    assert wo[0].imag == pytest.approx(-7.0 / (w0 * 2.0), rel=1e-5)  # C = tau / R


def test_analytic_jacobian_matches_finite_differences():
    circuit = eis.parse_circuit("L0-R0-p(R1,CPE1)-p(R2-Wo2,C2)-Ws3-W4")
    values = np.array([1e-6, 5.0, 100.0, 1e-6, 0.85, 50.0, 20.0, 0.5, 1e-4, 3.0, 2.0, 4.0])
    jw = 2j * np.pi * np.logspace(5, -2, 20)
    z, grads = eis._evaluate(circuit.root, values, jw, need_jacobian=True)
    for index in range(values.size):
        step = 1e-6
        shifted = values.copy()
        if circuit.is_exponent[index]:
            shifted[index] += step
        else:
            shifted[index] *= math.exp(step)
        z2, _ = eis._evaluate(circuit.root, shifted, jw, need_jacobian=False)
        np.testing.assert_allclose(
            grads[index], (z2 - z) / step, rtol=1e-4, atol=1e-9 * np.abs(z).max()
        )


def test_fit_recovers_three_arcs_without_noise_and_without_guess():
    truth = llzo_like()
    z = eis.parse_circuit(THREE_ARCS).impedance(FREQ, truth)
    result = eis.fit(FREQ, z, THREE_ARCS)
    assert result.guessed
    for name, value in truth.items():
        assert result.parameters[name] == pytest.approx(value, rel=0.01), name
    assert result.relative_rms_residual < 1e-6
    assert result.undetermined == []
    assert [a.assignment.label for a in result.arcs][2] == "interface"


def test_fit_with_one_percent_noise_within_three_standard_errors():
    truth = llzo_like()
    z = noisy(eis.parse_circuit(THREE_ARCS).impedance(FREQ, truth), 0.01, seed=42)
    result = eis.fit(FREQ, z, THREE_ARCS)
    for name, value in truth.items():
        error = result.std_errors[name]
        assert 0 < error < 0.5 * value, name
        assert abs(result.parameters[name] - value) <= 3 * error, name
    # 1 % Gaussian noise on Re and Im: |dZ|/|Z| has an RMS of about sqrt(2) %
    assert 0.010 < result.relative_rms_residual < 0.018


def test_fit_with_hand_guess_reaches_the_same_optimum():
    truth = llzo_like()
    z = noisy(eis.parse_circuit(THREE_ARCS).impedance(FREQ, truth), 0.005, seed=7)
    guess = {k: v * (1.5 if not k.endswith("_n") else 0.95) for k, v in truth.items()}
    guided = eis.fit(FREQ, z, THREE_ARCS, initial_guess=guess)
    auto = eis.fit(FREQ, z, THREE_ARCS)
    assert not guided.guessed
    assert auto.relative_rms_residual <= guided.relative_rms_residual * 1.001


def test_single_arc_and_unsorted_frequencies():
    circuit = "R0-p(R1,CPE1)"
    r1, q1, n1 = arc(250.0, 300.0, 0.9)
    truth = {"R0": 12.0, "R1": r1, "CPE1_Q": q1, "CPE1_n": n1}
    f = np.logspace(6, -1, 50)
    z = eis.parse_circuit(circuit).impedance(f, truth)
    order = np.random.default_rng(0).permutation(f.size)
    result = eis.fit(f[order], z[order], circuit)
    assert result.sorted_input and any("sorted" in note for note in result.notes)
    assert np.all(np.diff(result.freq_Hz) < 0)
    for name, value in truth.items():
        assert result.parameters[name] == pytest.approx(value, rel=0.01)


def test_arc_above_the_window_is_flagged_and_combined_resistance_reported():
    circuit = "R0-p(R1,CPE1)-p(R2,CPE2)"
    r1, q1, n1 = arc(400.0, 1e7, 0.95)  # apex at 10 MHz, 100x above the top frequency
    r2, q2, n2 = arc(1000.0, 100.0, 0.85)
    truth = {"R0": 20.0, "R1": r1, "CPE1_Q": q1, "CPE1_n": n1, "R2": r2, "CPE2_Q": q2, "CPE2_n": n2}
    f = np.logspace(5, -1, 61)
    z = noisy(eis.parse_circuit(circuit).impedance(f, truth), 0.002, seed=3)
    result = eis.fit(f, z, circuit)
    assert "R1" in result.undetermined and "R0" in result.undetermined
    assert result.parameters_determined["R1"] is None
    assert result.combined_resistances_ohm["R0+R1"] == pytest.approx(420.0, rel=0.01)
    assert result.combined_std_errors_ohm["R0+R1"] < 0.01 * 420.0
    assert result.parameters_determined["R2"] == pytest.approx(1000.0, rel=0.01)
    first_arc = result.arcs[0]
    assert not first_arc.determined and not first_arc.inside_window
    assert first_arc.assignment.label == "undetermined"


def test_kramers_kronig_passes_clean_and_flags_drifting_spectrum():
    truth = llzo_like()
    z = eis.parse_circuit(THREE_ARCS).impedance(FREQ, truth)
    clean = eis.kramers_kronig(FREQ, noisy(z, 0.002, seed=1))
    assert clean.valid and clean.rms_residual_percent < 0.5
    # The cell warms up during the sweep (high to low frequency): its series resistance drifts
    # by 20 % of the DC resistance. A frequency-dependent real part with no imaginary partner
    # violates Kramers-Kronig.
    dc_resistance = sum(v for k, v in truth.items() if k.startswith("R"))
    z_drift = z + np.linspace(0.0, 0.2 * dc_resistance, FREQ.size)
    flagged = eis.kramers_kronig(FREQ, z_drift)
    assert not flagged.valid
    assert flagged.rms_residual_percent > 1.0


def test_cpe_capacitance_puts_the_apex_at_one_over_rc():
    r, q, n = 1000.0, 2e-6, 0.8
    c = eis.cpe_capacitance(r, q, n)
    f = np.logspace(4, -2, 20001)
    z = eis.parse_circuit("p(R1,CPE1)").impedance(f, [r, q, n])
    apex = f[np.argmax(-z.imag)]
    assert apex == pytest.approx(1 / (2 * math.pi * r * c), rel=0.01)
    assert eis.cpe_capacitance(100.0, 3e-9, 1.0) == pytest.approx(3e-9)
    with pytest.raises(ValueError, match="n"):
        eis.cpe_capacitance(100.0, 1e-6, 1.2)


def test_assign_arcs_labels_and_ambiguity():
    labels = [a.label for a in eis.assign_arcs([5e-12, 1e-9, 1e-6, 3e-8, 1.1e-11, 1e-2])]
    assert labels == ["bulk", "grain_boundary", "interface", "ambiguous", "ambiguous", "unassigned"]


def test_asr_and_conductivity_by_hand():
    area = math.pi * 0.35**2
    assert eis.asr(100.0, area) == pytest.approx(100.0 * area / 2)
    assert eis.asr(100.0, area, interfaces=1) == pytest.approx(100.0 * area)
    assert eis.conductivity(1000.0, 1.0, area) == pytest.approx(0.1 / (1000.0 * area))
    for call in (lambda: eis.asr(100.0, 0.0), lambda: eis.conductivity(1000.0, 1.0, -1.0)):
        with pytest.raises(ValueError, match="area_cm2"):
            call()


@pytest.mark.parametrize(
    ("freq", "z", "fragment"),
    [
        (FREQ, np.ones(FREQ.size), "complex"),
        (FREQ[:-1], np.ones(FREQ.size) + 1j, "same shape"),
        (np.array([1.0, 2.0]), np.array([1 + 1j, 2 + 1j]), "at least 3"),
        (-FREQ, np.ones(FREQ.size) + 1j, "> 0"),
        (FREQ, np.full(FREQ.size, np.nan + 1j), "non-finite"),
        (FREQ.reshape(9, 9), np.ones((9, 9)) + 1j, "one-dimensional"),
    ],
)
def test_spectrum_validation(freq, z, fragment):
    for call in (lambda: eis.fit(freq, z, "R0-p(R1,C1)"), lambda: eis.kramers_kronig(freq, z)):
        with pytest.raises(ValueError, match=fragment):
            call()


def test_fit_result_to_dict_is_json():
    import json

    f = np.logspace(4, -1, 30)
    z = eis.parse_circuit("R0-p(R1,C1)").impedance(f, [10.0, 100.0, 1e-5])
    data = eis.fit(f, z, "R0-p(R1,C1)").to_dict()
    text = json.dumps(data, allow_nan=False)
    assert '"R1"' in text and data["parameters"]["R1"] == pytest.approx(100.0, rel=1e-6)
