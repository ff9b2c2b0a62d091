"""CCD detection and cycling analysis on synthetic records with a known truth."""

import numpy as np
import pytest

from analysis.science import ccd, cycling
from tests.analysis.science.synthetic import ASR_OHM_CM2, ccd_test

LEVELS = np.linspace(0.05, 5.0, 100)


def test_cutoff_failure_found_at_its_step():
    t, i, v = ccd_test(fail_step=37, failure="cutoff")
    result = ccd.detect(t, i, v, cutoff_V=1.0)
    assert result.criterion == "cutoff" and not result.is_lower_bound
    assert result.failed_step_index == 37
    assert result.ccd_mA_cm2 == pytest.approx(LEVELS[37])
    assert len(result.steps) == 100


def test_soft_short_found_at_its_step():
    t, i, v = ccd_test(fail_step=62, failure="voltage_drop")
    result = ccd.detect(t, i, v)
    assert result.criterion == "voltage_drop"
    assert result.failed_step_index == 62
    assert result.ccd_mA_cm2 == pytest.approx(LEVELS[62])
    assert result.steps[62].start_time_s <= result.failure_time_s <= result.steps[62].end_time_s


def test_no_failure_gives_lower_bound_and_overpotentials():
    t, i, v = ccd_test()
    result = ccd.detect(t, i, v)
    assert result.criterion == "none" and result.is_lower_bound
    assert result.ccd_mA_cm2 == pytest.approx(5.0)
    # overpotential at the end of a half cycle: i * ASR * 1.2 (hand: 5 mA/cm^2 * 20 ohm cm^2 = 0.1 V)
    top = result.steps[-1]
    expected = 5.0e-3 * ASR_OHM_CM2 * (1 + 0.2 * 59 / 60)
    assert top.overpotential_V == pytest.approx(expected)
    assert [s.current_density_mA_cm2 for s in result.steps] == pytest.approx(list(LEVELS))


def test_slow_relaxation_is_not_a_short():
    t, i, v = ccd_test(n_steps=5)
    # the polarization relaxes by 60 % but over 10 minutes: not sudden
    t = t * 20.0
    decay = np.where(np.arange(t.size) % 120 < 60, 1.0 - 0.6 * (np.arange(t.size) % 60) / 59, 1.0)
    result = ccd.detect(t, i, v * decay)
    assert result.criterion == "none"


def test_single_step_and_negative_voltage_convention():
    t, i, v = ccd_test(n_steps=1)
    result = ccd.detect(t, i, -v)  # instrument reports the opposite sign
    assert result.is_lower_bound and len(result.steps) == 1
    t, i, v = ccd_test(n_steps=10, fail_step=4, failure="voltage_drop")
    assert ccd.detect(t, i, -v).failed_step_index == 4


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"time_s": np.array([])}, "time_s"),
        ({"voltage_V": np.zeros(5)}, "same length"),
        ({"current_density_mA_cm2": np.zeros(1200)}, "zero everywhere"),
        ({"cutoff_V": 0.0}, "cutoff_V"),
        ({"drop_fraction": 1.5}, "drop_fraction"),
    ],
)
def test_ccd_errors(kwargs, fragment):
    t, i, v = ccd_test(n_steps=10)
    args = {"time_s": t, "current_density_mA_cm2": i, "voltage_V": v}
    args.update(kwargs)
    v_nan = v.copy()
    v_nan[3] = np.nan
    with pytest.raises(ValueError, match=fragment):
        ccd.detect(**args)
    with pytest.raises(ValueError, match="voltage_V"):
        ccd.detect(t, i, v_nan)


def cycling_record(n_cycles=20, short_at_half=None, collapse_from_half=None):
    """0.2 mA on 0.5 cm^2 (0.4 mA/cm^2), 900 s half cycles = 0.1 mAh/cm^2, 10 s rests."""
    half = 90
    blocks_t, blocks_i, blocks_v = [], [], []
    t0 = 0.0
    for k in range(2 * n_cycles):
        sign = 1.0 if k % 2 == 0 else -1.0
        t = t0 + np.arange(half + 1) * 10.0
        i = np.full(t.size, 0.2 * sign)
        v = sign * 0.05 * (1 + 0.5 * np.arange(t.size) / half)
        if short_at_half == k:
            v[60:] *= 0.05
        if collapse_from_half is not None and k >= collapse_from_half:
            v = v * 0.05
        rest_t = t[-1] + np.array([5.0, 10.0])
        blocks_t += [t, rest_t]
        blocks_i += [i, np.zeros(2)]
        blocks_v += [v, np.full(2, 0.001)]
        t0 = rest_t[-1] + 0.001
    return np.concatenate(blocks_t), np.concatenate(blocks_i), np.concatenate(blocks_v)


def test_cycling_half_cycles_by_hand():
    t, i, v = cycling_record()
    result = cycling.analyze(t, i, v, area_cm2=0.5)
    assert len(result.half_cycles) == 40 and not result.shorted
    first = result.half_cycles[0]
    assert first.current_density_mA_cm2 == pytest.approx(0.4)
    assert first.capacity_mAh_cm2 == pytest.approx(0.2 * 900.0 / 3600.0 / 0.5)  # 0.1 mAh/cm^2
    assert first.overpotential_V == pytest.approx(0.075)
    assert first.direction == "stripping" and result.half_cycles[1].direction == "plating"
    assert result.half_cycles[5].cycle == 2


def test_cycling_detects_sudden_short_and_collapse():
    t, i, v = cycling_record(short_at_half=13)
    result = cycling.analyze(t, i, v, area_cm2=0.5)
    assert result.first_short_half_cycle == 13
    assert result.half_cycles[13].short == "voltage_drop"
    t, i, v = cycling_record(collapse_from_half=24)
    result = cycling.analyze(t, i, v, area_cm2=0.5)
    assert result.first_short_half_cycle == 24
    assert result.half_cycles[24].short == "collapse"


def test_cycling_errors():
    t, i, v = cycling_record(n_cycles=2)
    with pytest.raises(ValueError, match="area_cm2"):
        cycling.analyze(t, i, v, area_cm2=0.0)
    with pytest.raises(ValueError, match="same length"):
        cycling.analyze(t, i[:-1], v, area_cm2=0.5)
    with pytest.raises(ValueError, match="time_s"):
        cycling.analyze(t[::-1], i, v, area_cm2=0.5)
