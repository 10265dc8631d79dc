"""`wstag data pack`: every split of a corpus packed, links computed once, unreadable audio named."""

from __future__ import annotations

import os

import numpy as np
from typer.testing import CliRunner

from wstag.audio.io import write_flac
from wstag.cli.main import app
from wstag.data.audiogrounding import write_v2
from wstag.data.feature_cache import FeatureStore
from wstag.records import Clip, Phrase

runner = CliRunner()


def _clip(audio_id: str) -> Clip:
    return Clip(audio_id, "a dog barks", ("a", "dog", "barks"), (Phrase("a dog barks", 0, 2),))


def test_pack_fills_every_split_and_names_the_unreadable_audio(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        audio = tmp_path / split / "audio"
        audio.mkdir(parents=True)
        write_flac(audio / "rec.flac", (0.1 * rng.standard_normal(16000)).astype(np.float32), 32000)
        ids = ["rec.flac"]
        if split == "train":  # two captions of one recording, as an import links them
            os.symlink(audio / "rec.flac", audio / "rec_2.flac")
            (audio / "bad.flac").write_bytes(b"not audio")
            ids += ["rec_2.flac", "bad.flac"]
        write_v2([_clip(i) for i in ids], tmp_path / split / "weak.json")
    res = runner.invoke(app, ["data", "pack", str(tmp_path), "--splits", "train,val", "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert "train  " in res.output and "1 computed, 1 linked to the same recording" in res.output
    assert "train: 1 unreadable, skipped" in res.output and "bad.flac" in res.output
    assert (tmp_path / "train" / "unreadable.txt").read_text().startswith("bad.flac\t")
    store = FeatureStore(tmp_path / "train" / "features.h5")
    assert np.array_equal(store["rec.flac"], store["rec_2.flac"])
    again = runner.invoke(app, ["data", "pack", str(tmp_path), "--splits", "val"])
    assert again.exit_code == 0 and "0 computed, 0 linked to the same recording, 1 already packed" in again.output


def test_pack_refuses_a_folder_that_is_not_a_corpus_in_one_line(tmp_path):
    res = runner.invoke(app, ["data", "pack", str(tmp_path), "--splits", "train"])
    assert res.exit_code == 2 and "no weak.json or labels.json naming audio" in res.output
