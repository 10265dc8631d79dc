"""Event takes: speed, peaking filters, and the span they keep."""

import numpy as np
import pytest
from scipy.signal import sosfreqz

from wstag.scapes.bank import SAMPLE_RATE
from wstag.scapes.takes import Take, TakeConfig, draw_take, peaking_sos, play, source_rate


def test_peaking_filter_has_its_gain_at_its_centre_and_none_far_away():
    sos = peaking_sos(1000.0, 6.0, 1.0)
    freqs, response = sosfreqz(sos, worN=[20.0, 1000.0, 15000.0], fs=SAMPLE_RATE)
    gain_db = 20 * np.log10(np.abs(response))
    assert gain_db[1] == pytest.approx(6.0, abs=1e-6)
    assert abs(gain_db[0]) < 0.1 and abs(gain_db[2]) < 0.5


def test_a_faster_take_reads_rate_times_the_length_and_raises_the_pitch():
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    source = np.sin(2 * np.pi * 440.0 * t)
    rate = 2 ** (2 / 12)
    out = play(source, Take(rate=rate), SAMPLE_RATE, rate)
    assert out.shape == (SAMPLE_RATE,)
    spectrum = np.abs(np.fft.rfft(out[1000:-1000] * np.hanning(len(out) - 2000)))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / (len(out) - 2000)
    assert peak_hz == pytest.approx(440.0 * rate, abs=2.0)  # 493.9 Hz, a whole tone up


def test_filters_keep_the_stretch_rms():
    rng = np.random.default_rng(0)
    source = rng.normal(size=SAMPLE_RATE)
    out = play(source, Take(bands=((500.0, 6.0, 1.0), (3000.0, -6.0, 2.0))), SAMPLE_RATE, 1.0)
    assert np.sqrt(np.mean(out ** 2)) == pytest.approx(np.sqrt(np.mean(source ** 2)), rel=1e-9)
    assert not np.allclose(out, source)


def test_a_take_too_fast_for_its_recording_plays_as_slow_instead():
    assert source_rate(Take(rate=1.1), length=100, available=200) == 1.1
    assert source_rate(Take(rate=1.1), length=100, available=100) == pytest.approx(1 / 1.1)
    assert source_rate(Take(rate=1.1), length=100, available=85) == 0.85


def test_draws_stay_in_their_ranges_and_are_seeded():
    config = TakeConfig()
    takes = [draw_take(np.random.default_rng([7, i]), config) for i in range(200)]
    rates = np.array([t.rate for t in takes])
    assert rates.min() >= 2 ** (-2 / 12) and rates.max() <= 2 ** (2 / 12) and rates.std() > 0.03
    bands = np.array([b for t in takes for b in t.bands])
    assert bands.shape == (400, 3)
    assert bands[:, 0].min() >= 100.0 and bands[:, 0].max() <= 8000.0 and np.abs(bands[:, 1]).max() <= 6.0
    assert draw_take(np.random.default_rng([7, 0]), config) == takes[0]


def test_bad_take_settings_are_clear_errors():
    with pytest.raises(ValueError, match="semitones, bands and gain_db must be >= 0"):
        TakeConfig(semitones=-1)
    with pytest.raises(ValueError, match="lowest_hz < highest_hz"):
        TakeConfig(lowest_hz=9000.0)

