"""Collection search: build (resumable, incremental, bad files), search (ranked, equal to the Grounder), refusals."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.index.conftest import CLIPS
from wstag.errors import AudioError, ConfigError, ModelFolderError, QueryError
from wstag.index import Index, Moment
from wstag.index.manifest import MANIFEST, read_manifest
from wstag.inference.grounder import Grounder

PHRASE = "a dog barks"


@pytest.fixture(scope="module")
def grounder(model_dir):
    return Grounder.load(model_dir, device="cpu", cache_size=0)


@pytest.fixture(scope="module")
def built(audio_master, model_dir, tmp_path_factory):
    """One index of the shared folder, built once: (index, audio folder)."""
    return Index.build(audio_master, model_dir, tmp_path_factory.mktemp("built") / "index", device="cpu"), audio_master


def test_build_indexes_every_readable_file_and_reports_the_rest(built, grounder):
    index, audio = built
    report = index.build_report
    assert sorted(e.file for e in index.files) == sorted(CLIPS)
    assert (report.n_files, report.encoded, report.unchanged, report.dropped) == (4, 4, 0, 0)
    assert [f for f, _ in report.failed] == ["corrupt.flac", "empty.wav"]
    assert "empty" in dict(report.failed)["empty.wav"] and "corrupt.flac" in dict(report.failed)["corrupt.flac"]
    assert report.seconds_audio == pytest.approx(sum(CLIPS.values()))
    m = json.loads((index.path / MANIFEST).read_text())
    assert m["model"]["id"] == grounder.model_id and m["dtype"] == "float16"
    assert set(m["files"][0]) >= {"file", "shard", "offset", "n_frames", "duration", "size", "mtime_ns"}
    for e in index.files:  # the frames are the Grounder's, rounded to float16, in a memory-mapped .npy
        shard = np.load(index.path / e.shard, mmap_mode="r")
        assert isinstance(shard, np.memmap) and shard.dtype == np.float16
        enc = grounder.encode(audio / e.file)
        assert e.n_frames == enc.embeddings.shape[0] and e.duration == pytest.approx(enc.duration)
        np.testing.assert_array_equal(shard[e.offset: e.offset + e.n_frames],
                                      enc.embeddings.numpy().astype(np.float16))
        st = (audio / e.file).stat()
        assert (e.size, e.mtime_ns) == (st.st_size, st.st_mtime_ns)


def _fp16_bound(grounder, path, phrase):
    """How far float16 frames and phrase can move each probability: rounding of both factors and of the sum."""
    a = grounder.encode(path).embeddings.numpy().astype(np.float64)
    t = grounder.embed_phrases([phrase])[0][0].numpy().astype(np.float64)
    logit_err = (np.abs(a) @ np.abs(t)) * 2.0 ** -10 + np.abs(a @ t) * 2.0 ** -11
    return 0.25 * logit_err + 1e-6  # sigmoid' <= 1/4


@pytest.mark.parametrize("file", sorted(CLIPS))
def test_index_probabilities_equal_the_grounders(built, grounder, file):
    index, audio = built
    ours = index.scores(file, [PHRASE, "rain falls"])
    ref = grounder.scores(audio / file, [PHRASE, "rain falls"])
    assert ours.probabilities.shape == ref.probabilities.shape
    np.testing.assert_array_equal(ours.times, ref.times)
    assert ours.duration == pytest.approx(ref.duration)
    diff = np.abs(ours.probabilities[:, 0] - ref.probabilities[:, 0])
    assert (diff <= _fp16_bound(grounder, audio / file, PHRASE)).all(), diff.max()
    assert np.ptp(ref.probabilities[:, 0]) > 10 * diff.max()  # the curve moves far more than the rounding


def _gap_threshold(probs: np.ndarray) -> float:
    """A threshold inside the widest gap between the middle frames' probabilities: no frame sits near it."""
    v = np.unique(probs)
    mid = v[len(v) // 4: 3 * len(v) // 4 + 1]
    k = int(np.argmax(np.diff(mid)))
    return float((mid[k] + mid[k + 1]) / 2)


@pytest.mark.parametrize("median", [1, 5])
def test_search_moments_are_the_grounders_detections_ranked(built, grounder, median):
    index, audio = built
    curves = {f: grounder.scores(audio / f, [PHRASE]).probabilities[:, 0] for f in CLIPS}
    threshold = _gap_threshold(np.concatenate(list(curves.values())))
    moments = index.search(PHRASE, top=1000, threshold=threshold, median=median)
    expected = []
    for f in CLIPS:
        dets = grounder.scores(audio / f, [PHRASE]).detect(threshold, median)
        expected += [(f, d.onset, d.offset, d.peak) for d in dets]
    assert len(expected) > 1
    assert sorted((m.file, m.onset, m.offset) for m in moments) == sorted((f, a, b) for f, a, b, _ in expected)
    peaks = {(f, a, b): p for f, a, b, p in expected}
    for m in moments:
        assert m.score == pytest.approx(peaks[(m.file, m.onset, m.offset)], abs=1e-3)
        assert 0 <= m.onset < m.offset <= CLIPS[m.file]
    scores = [m.score for m in moments]
    assert scores == sorted(scores, reverse=True)
    top3 = index.search(PHRASE, top=3, threshold=threshold, median=median)
    assert list(top3) == list(moments)[:3]


def test_search_at_threshold_zero_gives_each_file_whole_and_one_above_one_gives_nothing(built):
    index, _ = built
    moments = index.search(PHRASE, top=20, threshold=0.0)
    assert sorted((m.file, m.onset, m.offset) for m in moments) == sorted((f, 0.0, s) for f, s in CLIPS.items())
    none = index.search(PHRASE, threshold=1.0)
    assert list(none) == [] and isinstance(none.best, Moment) and none.best.file in CLIPS


def test_a_rebuild_skips_unchanged_files_and_encodes_changed_new_and_drops_deleted(audio_dir, model_dir, tmp_path):
    g = Grounder.load(model_dir, device="cpu", cache_size=0)
    out = tmp_path / "index"
    Index.build(audio_dir, g, out)
    calls = g.audio_encoder_calls
    again = Index.build(audio_dir, g, out).build_report
    assert g.audio_encoder_calls == calls  # nothing read again, not even the unreadable files
    assert (again.encoded, again.unchanged, len(again.failed)) == (0, 4, 2)
    before = read_manifest(out).files["b.flac"]
    st = (audio_dir / "b.flac").stat()
    os.utime(audio_dir / "b.flac", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched
    (audio_dir / "a.wav").unlink()
    (audio_dir / "sub" / "c.wav").rename(audio_dir / "c2.wav")
    report = Index.build(audio_dir, g, out).build_report
    assert (report.encoded, report.unchanged, report.dropped) == (2, 1, 2)  # b, c2 | long | a, sub/c
    index = Index.open(out, model=g)
    assert sorted(e.file for e in index.files) == ["b.flac", "c2.wav", "long.flac"]
    assert index.entry("b.flac").mtime_ns == before.mtime_ns + 10**9
    assert len(index.manifest.shards) == 1 and len(list(out.glob("emb-*.npy"))) == 1  # merged, no garbage
    ref = g.scores(audio_dir / "c2.wav", [PHRASE]).probabilities
    np.testing.assert_allclose(index.scores("c2.wav", PHRASE).probabilities, ref, atol=1e-3)


def test_an_interrupted_build_keeps_its_work_and_the_next_one_continues(audio_dir, model_dir, tmp_path, monkeypatch):
    g = Grounder.load(model_dir, device="cpu", cache_size=0)
    out = tmp_path / "index"
    real, seen = Grounder.encode, []

    def encode_then_interrupt(self, audio, *a, **kw):
        seen.append(audio)
        if len(seen) == 4:
            raise KeyboardInterrupt
        return real(self, audio, *a, **kw)

    monkeypatch.setattr(Grounder, "encode", encode_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        Index.build(audio_dir, g, out, flush_seconds=3600)
    monkeypatch.setattr(Grounder, "encode", real)
    kept = read_manifest(out)
    assert len(kept.files) + len(kept.failed) == 3  # the three files before Ctrl-C were written
    (out / "emb-999999.npy").write_bytes(b"half a shard")  # what a killed build leaves behind
    (out / ".manifest.json.x.partial").write_text("{")
    report = Index.build(audio_dir, g, out).build_report
    assert report.unchanged == len(kept.files) and report.encoded == 4 - len(kept.files)
    assert report.n_files == 4 and not (out / "emb-999999.npy").exists()
    assert not list(out.glob("*.partial"))


def test_many_small_flushes_and_small_shards_search_the_same(built, audio_master, model_dir, tmp_path):
    index, _ = built
    split = Index.build(audio_master, model_dir, tmp_path / "index", device="cpu", flush_frames=1,
                        shard_bytes=100 * 256)  # a shard per file while building; after, shards of at most 100 frames
    assert len(split.manifest.shards) >= 3
    assert sum(split.manifest.shards.values()) == split.manifest.n_frames  # no garbage left
    threshold = float(np.median(index.scores("long.flac", PHRASE).probabilities))
    a = index.search(PHRASE, top=50, threshold=threshold)
    b = split.search(PHRASE, top=50, threshold=threshold)
    assert [(m.file, m.onset, m.offset, m.score) for m in a] == [(m.file, m.onset, m.offset, m.score) for m in b]


def test_another_model_is_refused_at_search_and_at_build(built, other_model_dir, audio_master):
    index, _ = built
    with pytest.raises(ModelFolderError, match="another model"):
        Index.open(index.path, model=other_model_dir).search(PHRASE)
    with pytest.raises(ConfigError, match="another model"):
        Index.build(audio_master, other_model_dir, index.path, device="cpu")


def test_bad_queries_are_refused_in_one_line(built):
    index, _ = built
    with pytest.raises(QueryError, match="xylophone"):
        index.search("a xylophone glissando")
    with pytest.warns(UserWarning, match="yelps"):
        index.search("a dog yelps")
    for top in (0, -1, 2.5, True):
        with pytest.raises(ConfigError, match="top"):
            index.search(PHRASE, top=top)
    with pytest.raises(ConfigError, match="threshold"):
        index.search(PHRASE, threshold=1.5)
    with pytest.raises(ConfigError, match="median"):
        index.search(PHRASE, median=2)
    with pytest.raises(QueryError, match="not in the index"):
        index.scores("nowhere.wav", PHRASE)


def test_bad_folders_are_refused(model_dir, tmp_path):
    with pytest.raises(AudioError, match="not found"):
        Index.build(tmp_path / "missing", model_dir, tmp_path / "i")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AudioError, match="no audio files"):
        Index.build(tmp_path / "empty", model_dir, tmp_path / "i")
    with pytest.raises(ConfigError, match="index not found"):
        Index.open(tmp_path / "i")
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "keep.txt").write_text("mine")
    (tmp_path / "empty" / "x.wav").write_bytes(b"")
    with pytest.raises(ConfigError, match="not a wstag index"):
        Index.build(tmp_path / "empty", model_dir, tmp_path / "stuff")


def test_a_folder_of_unreadable_files_gives_an_empty_index_that_says_so(model_dir, tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "empty.wav").write_bytes(b"")
    index = Index.build(tmp_path / "bad", model_dir, tmp_path / "index", device="cpu")
    assert index.build_report.n_files == 0 and len(index.build_report.failed) == 1
    with pytest.raises(QueryError, match="holds no recordings"):
        index.search(PHRASE)
