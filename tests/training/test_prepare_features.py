"""Training packs its splits first and leaves out, by name, the clips whose audio cannot be read."""

from __future__ import annotations

import numpy as np

from wstag.audio.io import write_flac
from wstag.records import Clip, Phrase
from wstag.training.run import prepare_features


def _clip(audio_id: str) -> Clip:
    return Clip(audio_id, "a dog barks", ("a", "dog", "barks"), (Phrase("a dog barks", 0, 2),))


def test_unreadable_audio_is_named_and_its_clip_left_out(tmp_path):
    audio = tmp_path / "train" / "audio"
    audio.mkdir(parents=True)
    write_flac(audio / "good.flac", (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32), 32000)
    (audio / "bad.flac").write_bytes(b"not audio")
    said: list[str] = []
    store, kept = prepare_features(tmp_path / "train", [_clip("good.flac"), _clip("bad.flac")], log=said.append)
    assert [c.audio_id for c in kept] == ["good.flac"] and store["good.flac"].shape == (51, 64)
    assert any("1 clips left out" in m and "bad.flac" in m for m in said)
