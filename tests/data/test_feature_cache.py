"""The HDF5 log-mel cache records its front end: rebuilt for another, refused when opened for another."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from wstag.audio.frontend import DEFAULT_FRONT_END, FrontEnd
from wstag.audio.io import load_audio, write_flac
from tests.data.cache_helpers import cache_is_current
from wstag.data.feature_cache import FeatureStore
from wstag.data.packing import build_feature_cache
from wstag.errors import ConfigError

SR = 32000
IDS = ["a.flac", "b.flac"]


@pytest.fixture
def audio_dir(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "audio"
    folder.mkdir()
    for aid, seconds in zip(IDS, (1.0, 0.55)):
        write_flac(folder / aid, (0.1 * rng.standard_normal(int(seconds * SR))).astype(np.float32), SR)
    return folder


def _expected(folder, aid: str, front_end: FrontEnd) -> np.ndarray:
    wave = load_audio(folder / aid, front_end.sample_rate)
    with torch.no_grad():
        return front_end.logmel()(torch.from_numpy(wave)[None])[0].numpy()


def test_cache_records_its_front_end_and_holds_its_features(audio_dir, tmp_path) -> None:
    path = build_feature_cache(audio_dir, IDS, tmp_path / "features.h5", front_end=DEFAULT_FRONT_END)
    with h5py.File(path, "r") as h5:
        assert json.loads(h5.attrs["front_end"]) == DEFAULT_FRONT_END.to_dict()
    store = FeatureStore(path, DEFAULT_FRONT_END)
    assert store["a.flac"].shape == (101, 64) and store["b.flac"].shape == (17600 // 320 + 1, 64) == (56, 64)
    np.testing.assert_allclose(store["b.flac"], _expected(audio_dir, "b.flac", DEFAULT_FRONT_END), atol=0.05)


def test_another_front_end_rebuilds_with_its_own_features(audio_dir, tmp_path) -> None:
    out = tmp_path / "features.h5"
    build_feature_cache(audio_dir, IDS, out, front_end=DEFAULT_FRONT_END)
    other = FrontEnd(n_mels=32, hop=160)
    assert not cache_is_current(out, IDS, other)
    build_feature_cache(audio_dir, IDS, out, front_end=other)
    assert cache_is_current(out, IDS, other) and not cache_is_current(out, IDS)
    feats = FeatureStore(out, other)["a.flac"]
    assert feats.shape == (32000 // 160 + 1, 32) == (201, 32)
    np.testing.assert_allclose(feats, _expected(audio_dir, "a.flac", other), atol=0.05)  # float16 storage


def test_opening_a_cache_for_another_front_end_names_the_file_and_the_difference(audio_dir, tmp_path) -> None:
    path = build_feature_cache(audio_dir, IDS, tmp_path / "features.h5", front_end=DEFAULT_FRONT_END)
    with pytest.raises(ConfigError) as info:
        FeatureStore(path, FrontEnd(n_mels=128))
    message = str(info.value)
    assert str(path) in message and "n_mels 64 vs 128" in message and "\n" not in message
    FeatureStore(path)  # no expectation: opens as before
    FeatureStore(path, FrontEnd(time_downsample=2))  # time pooling does not change the features


def test_a_cache_from_before_time_downsample_was_recorded_stays_current(audio_dir, tmp_path) -> None:
    path = build_feature_cache(audio_dir, IDS, tmp_path / "features.h5", front_end=DEFAULT_FRONT_END)
    old_tag = {k: v for k, v in DEFAULT_FRONT_END.to_dict().items() if k != "time_downsample"}
    with h5py.File(path, "a") as h5:
        h5.attrs["front_end"] = json.dumps(old_tag, sort_keys=True)  # what the module constants wrote
    assert cache_is_current(path, IDS, DEFAULT_FRONT_END)
    assert FeatureStore(path, DEFAULT_FRONT_END)["a.flac"].shape == (101, 64)
    with h5py.File(path, "a") as h5:
        del h5.attrs["front_end"]
    with pytest.raises(ConfigError, match="records no front end"):
        FeatureStore(path, DEFAULT_FRONT_END)
