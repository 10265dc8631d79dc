"""Importing real AudioCaps / AudioGrounding from disk (wstag.data.importers, `wstag data import-*`).

The fixture is written at test time in the real formats: AudioCaps caption CSVs
(audiocap_id,youtube_id,start_time,caption), AudioGrounding v1 (pandas "columns" JSON)
and v2 (a JSON list without captions, as the Zenodo release), and short audio files
named as the download scripts name them, with some missing, one corrupt, one .m4a and
one video captioned at two start times but downloaded once as Y<id>.wav (ambiguous).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from wstag.audio.frontend import DEFAULT_FRONT_END
from wstag.cli.main import app
from wstag.data.audiocaps import read_captions_csv
from wstag.data.audiogrounding import read_v1, read_v2, read_weak_v2
from wstag.data.importers import import_audiocaps, import_audiogrounding
from wstag.data.importers.audio_files import MISSING_NAME, REPORT_NAME, candidate_names, parse_label_name
from wstag.errors import ConfigError, LabelError
from wstag.text.tokenize import tokenize

runner = CliRunner()
RATE = 16000
SECONDS = 1.2
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
CAPTIONS = [
    "A dog barks while a man speaks",
    "Rain falls and thunder rumbles",
    "A car engine revs followed by a horn honking",
    "Birds chirp as water flows",
    "A woman speaks and a baby cries",
    "Footsteps on wood followed by a door closing",
]


def _yid(i: int) -> str:
    rng = np.random.default_rng(1000 + i)
    s = "".join(rng.choice(list(_ALPHABET), 11))
    return s if i % 3 else "-" + s[1:5] + "_" + s[6:]  # real ids may start with '-' and hold '_'


def _audio(path: Path, seed: int, seconds: float = SECONDS, rate: int = RATE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}[path.suffix]
    sf.write(path, (0.1 * rng.standard_normal(int(seconds * rate))).astype(np.float32), rate, format=fmt)


def _csv(path: Path, rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["audiocap_id,youtube_id,start_time,caption"] + [f"{a},{y},{s},{c}" for a, y, s, c in rows]
    path.write_text("\n".join(lines) + "\n")


def _v1(path: Path, clips: list[dict]) -> None:
    """AudioGrounding v1: pandas 'columns' JSON, one row per phrase."""
    cols = {k: {} for k in ("audiocap_id", "filename", "caption", "tokens", "soundtag", "start_word", "timestamps")}
    n = 0
    for clip in clips:
        tokens = tokenize(clip["caption"])
        for tag, times in clip["phrases"]:
            tag_tokens = tokenize(tag)
            start = next(i for i in range(len(tokens)) if tokens[i: i + len(tag_tokens)] == tag_tokens)
            for k, v in (("audiocap_id", int(clip["audiocap_id"])), ("filename", clip["filename"]),
                         ("caption", clip["caption"]), ("tokens", tokens), ("soundtag", tag),
                         ("start_word", start), ("timestamps", times)):
                cols[k][str(n)] = v
            n += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cols))


def _v2_from_v1(v1: Path, v2: Path) -> None:
    """The same labels as the v2 release writes them: Y<youtube_id>.wav, tokens, no caption."""
    entries = []
    for clip in read_v1(v1):
        yid, _ = parse_label_name(clip.audio_id)
        entries.append({
            "audiocap_id": int(clip.audiocap_id), "audio_id": f"Y{yid}.wav", "tokens": " ".join(clip.tokens),
            "phrases": [{"phrase": p.text, "start_index": p.start_index, "end_index": p.end_index,
                         "segments": [s.to_list() for s in p.segments]} for p in clip.phrases],
        })
    v2.write_text(json.dumps(entries, indent=1))


def _ag_name(yid: str, start: float) -> str:
    return f"{yid}_{start:.3f}_{start + 10:.3f}.wav"


@pytest.fixture(scope="module")
def audiocaps(tmp_path_factory) -> dict:
    """AudioCaps CSVs + AudioGrounding v1 test labels + audio named as downloads are."""
    root = tmp_path_factory.mktemp("audiocaps")
    caps, audio = root / "captions", root / "audio"
    train_rows, val_rows, test_rows = [], [], []
    # train: one caption per clip, ids 1..24, plus 25/26: one video at two start times
    for i in range(1, 25):
        train_rows.append((i, _yid(i), 10 * (i % 4), CAPTIONS[i % len(CAPTIONS)]))
    amb = _yid(99)
    train_rows += [(25, amb, 0, CAPTIONS[0]), (26, amb, 30, CAPTIONS[1])]
    # val: 3 clips x 5 captions; test: 4 clips x 5 captions
    for c in range(3):
        val_rows += [(101 + 5 * c + k, _yid(40 + c), 20, CAPTIONS[(c + k) % len(CAPTIONS)]) for k in range(5)]
    for c in range(4):
        test_rows += [(201 + 5 * c + k, _yid(60 + c), 30, CAPTIONS[(c + k + 1) % len(CAPTIONS)]) for k in range(5)]
    _csv(caps / "train.csv", train_rows)
    _csv(caps / "val.csv", val_rows)
    _csv(caps / "test.csv", test_rows)

    problems = {"missing": [22, 23, 24], "unreadable": [20], "unsupported": [21], "ambiguous": [25, 26]}
    for aid, yid, start, _ in train_rows:
        if aid <= 6 or aid == 20:
            name = f"train/Y{yid}.wav"  # AudioSet / audioset-download
        elif aid <= 10:
            name = f"train/{yid}_{start}.flac"
        elif aid <= 13:
            name = f"train/{yid}_{start * 1000}.ogg"  # milliseconds
        elif aid <= 16:
            name = f"train/{yid}_{start:.3f}_{start + 10:.3f}.mp3"
        elif aid <= 19:
            name = f"train/{aid}.wav"  # audiocaps-download
        elif aid == 21:
            (audio / "train").mkdir(parents=True, exist_ok=True)
            (audio / "train" / f"Y{yid}.m4a").write_bytes(b"\0\0\0 ftypM4A " + bytes(200))
            continue
        elif aid == 25:
            name = f"train/Y{yid}.wav"  # one file for two start times
        else:
            continue
        _audio(audio / name, aid)
    (audio / "train" / f"Y{_yid(20)}.wav").write_bytes(b"RIFF" + os.urandom(300))  # corrupt
    for aid, yid, start, _ in val_rows:  # audiocaps-download: one file per caption
        _audio(audio / "val" / f"{aid}.wav", aid)
    ag_clips = []
    for c in range(4):
        yid = _yid(60 + c)
        if c < 2:  # AudioGrounding test clips, named as AudioGrounding names them
            _audio(audio / "test" / _ag_name(yid, 30), 300 + c)
        else:
            _audio(audio / "test" / f"Y{yid}.wav", 300 + c)
    for c, (aid, cap) in enumerate([(201, test_rows[0][3]), (202, test_rows[1][3]),
                                    (206, test_rows[5][3]), (207, test_rows[6][3])]):
        yid = _yid(60 + (c // 2))
        ag_clips.append({"audiocap_id": aid, "filename": _ag_name(yid, 30), "caption": cap,
                         "phrases": _phrases_of(cap)})
    # one AudioGrounding test clip from AudioCaps val: its video must leave val
    ag_clips.append({"audiocap_id": 101, "filename": _ag_name(_yid(40), 20), "caption": val_rows[0][3],
                     "phrases": _phrases_of(val_rows[0][3])})
    _v1(root / "grounding" / "test.json", ag_clips)
    return {"root": root, "captions": caps, "audio": audio, "grounding": root / "grounding",
            "test_videos": {_yid(60), _yid(61), _yid(40)}, "problems": problems}


def _phrases_of(caption: str) -> list:
    from wstag.text.phrases import extract_phrases

    ps = extract_phrases(tokenize(caption))
    # the last phrase runs to 10.0 s: longer than the 1.2 s downloads, so cut at their end
    return [(p.text, [[0.1 * (i + 1), 0.5 + 0.1 * i]] if i < len(ps) - 1 else [[0.3, 10.0]])
            for i, p in enumerate(ps)]


def _import(fx, out, **kw):
    kw.setdefault("val_size", 8)
    return import_audiocaps(fx["captions"], fx["audio"], out, fx["grounding"], **kw)


@pytest.fixture(scope="module")
def imported(audiocaps, tmp_path_factory):
    return _import(audiocaps, tmp_path_factory.mktemp("out") / "corpus")


def test_naming_conventions():
    names = dict(candidate_names("-ab_cdEFGhi", 30.0, "123", "-ab_cdEFGhi_30.000_40.000.wav"))
    for stem in ("-ab_cdEFGhi_30.000_40.000", "123", "-ab_cdEFGhi_30_40", "Y-ab_cdEFGhi_30.000_40.000",
                 "-ab_cdEFGhi_30", "-ab_cdEFGhi_30000", "-ab_cdEFGhi_30.0", "Y-ab_cdEFGhi", "-ab_cdEFGhi"):
        assert stem in names, stem
    assert names["-ab_cdEFGhi_30.000_40.000"] == "label file name"
    assert names["Y-ab_cdEFGhi"] == "Y<youtube_id>"
    assert parse_label_name("-ab_cdEFGhi_30.000_40.000.wav") == ("-ab_cdEFGhi", 30.0)
    assert parse_label_name("Y-ab_cdEFGhi.wav") == ("-ab_cdEFGhi", None)
    assert parse_label_name("whatever.wav") == (None, None)


def test_import_counts_and_report(imported, audiocaps):
    c = imported.counts
    assert c["audiocaps/train"] == {"entries": 26, "imported": 19, "missing": 3, "unsupported": 1,
                                    "ambiguous": 2, "unreadable": 1}
    # clip C (5 captions) of val and clips A, B (10 captions) of test are AudioGrounding test videos
    assert c["audiocaps/val"] == {"entries": 10, "imported": 10, "missing": 0, "unsupported": 0,
                                  "ambiguous": 0, "unreadable": 0}
    assert c["audiocaps/test"]["entries"] == 10 and c["audiocaps/test"]["imported"] == 10
    assert c["audiogrounding/test"]["entries"] == 5 and c["audiogrounding/test"]["imported"] == 5
    report = json.loads((imported.path / REPORT_NAME).read_text())
    assert report["removed_test_overlap"] == 15
    # clip C's AudioGrounding name is not on disk: its audiocaps-download file <audiocap_id>.wav is found
    assert report["naming"] == {"label file name": 4, "<audiocap_id>": 14, "<youtube_id>_<start>_<end>": 3,
                                "<youtube_id>_<start>": 7, "Y<youtube_id>": 16}
    assert report["segments_cut"] == 5  # every AudioGrounding clip's last phrase ran to 10 s
    lines = (imported.path / MISSING_NAME).read_text().splitlines()
    assert lines[0].split("\t")[:5] == ["source", "audiocap_id", "youtube_id", "start_time", "problem"]
    listed = {int(l.split("\t")[1]): l.split("\t")[4] for l in lines[1:]}
    assert listed == {a: p for p, ids in audiocaps["problems"].items() for a in ids}
    corpus = json.loads((imported.path / "corpus.json").read_text())
    assert corpus["content_hash"] == imported.content_hash and len(corpus["content_hash"]) == 16
    assert corpus["seed"] == 0 and corpus["sizes"] == {"train": 31, "val": 8, "test": 5}
    assert corpus["import"]["counts"] == c


def test_corpus_is_loadable_and_test_clips_left_training(imported, audiocaps):
    path = imported.path
    test = read_v2(path / "test" / "labels.json", require_segments=True)
    assert len(test) == 5 and all(c.duration == SECONDS for c in test)
    assert all(s.offset <= SECONDS for c in test for p in c.phrases for s in p.segments)
    assert len({c.audio_id for c in test}) == 5  # one file name per caption: pair ids stay unique
    for split in ("train", "val", "test"):
        weak = read_weak_v2(path / split / "weak.json")
        assert weak and all(not p.has_segments for c in weak for p in c.phrases)
        assert "segments" not in (path / split / "weak.json").read_text()
        rows = read_captions_csv(path / split / "captions.csv")
        for clip in weak:
            link = path / split / "audio" / clip.audio_id
            assert link.is_symlink() and link.resolve().is_file()
        if split != "test":
            assert not {r.youtube_id for r in rows} & audiocaps["test_videos"]
            assert not (path / split / "labels.json").exists()  # AudioCaps has no segments
    assert len(read_captions_csv(path / "val" / "captions.csv")) == 8
    train_v = {r.youtube_id for r in read_captions_csv(path / "train" / "captions.csv")}
    val_v = {r.youtube_id for r in read_captions_csv(path / "val" / "captions.csv")}
    assert not train_v & val_v  # re-split by whole videos


def test_feature_cache_builds_on_the_import(imported, tmp_path):
    import h5py

    from wstag.data.packing import build_feature_cache

    ids = [c.audio_id for c in read_v2(imported.path / "test" / "labels.json")]
    cache = build_feature_cache(imported.path / "test" / "audio", ids, tmp_path / "f.h5", front_end=DEFAULT_FRONT_END)
    with h5py.File(cache, "r") as h5:
        assert sorted(h5["logmel"].keys()) == sorted(ids)


def test_same_seed_same_bytes_other_seed_other_split(audiocaps, imported, tmp_path):
    again = _import(audiocaps, tmp_path / "again")
    assert again.content_hash == imported.content_hash
    for split in ("train", "val", "test"):
        for name in ("captions.csv", "weak.json", "labels.json"):
            a, b = imported.path / split / name, again.path / split / name
            assert a.exists() == b.exists()
            if a.exists():
                assert a.read_bytes() == b.read_bytes(), (split, name)
    other = _import(audiocaps, tmp_path / "other", seed=1)
    assert other.content_hash != imported.content_hash
    assert (other.path / "val" / "captions.csv").read_bytes() != (imported.path / "val" / "captions.csv").read_bytes()
    assert (other.path / "test" / "labels.json").read_bytes() == (imported.path / "test" / "labels.json").read_bytes()


def test_copy_links_hard(audiocaps, tmp_path):
    res = _import(audiocaps, tmp_path / "c", copy=True)
    files = list((res.path / "train" / "audio").iterdir())
    assert files and not any(f.is_symlink() for f in files)
    assert all(f.stat().st_nlink >= 2 for f in files)


def test_too_many_missing_stops_with_one_line(audiocaps, tmp_path):
    out = tmp_path / "stop"
    with pytest.raises(ConfigError) as err:
        _import(audiocaps, out, max_missing=0.1)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("15.2% of the 46 AudioCaps captions have no readable audio (3 missing, 1 unsupported, "
                          "2 ambiguous, 1 unreadable), more than --max-missing 0.1")
    assert not (out / "corpus.json").exists() and (out / MISSING_NAME).is_file()
    res = runner.invoke(app, ["data", "import-audiocaps", str(audiocaps["captions"]), str(audiocaps["audio"]),
                              "--out", str(out), "--grounding", str(audiocaps["grounding"]), "--val-size", "8",
                              "--max-missing", "0.1", "--workers", "1"])
    assert res.exit_code == 2
    lines = [l for l in res.output.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("error:")]  # before it: what was read and found (stderr log)
    assert errors == [lines[-1]] and lines[-1].startswith("error: 15.2% of the 46 AudioCaps captions")
    assert "Traceback" not in res.output
    # a report-only folder is taken over by the next, successful import
    assert _import(audiocaps, out).sizes["val"] == 8


def test_existing_corpus_needs_force(audiocaps, imported):
    with pytest.raises(ConfigError, match="holds a corpus already"):
        _import(audiocaps, imported.path)


def test_cli_imports_and_bad_paths_exit_2(audiocaps, tmp_path):
    fx = audiocaps
    base = ["data", "import-audiocaps"]
    ok = runner.invoke(app, base + [str(fx["captions"]), str(fx["audio"]), "--out", str(tmp_path / "ok"),
                                    "--grounding", str(fx["grounding"] / "test.json"), "--val-size", "8",
                                    "--workers", "2"])
    assert ok.exit_code == 0, ok.output
    assert "content hash" in ok.output and "audiocaps/train" in ok.output
    (tmp_path / "file").write_text("x")
    caps, audio, ground, nope, file = (str(fx["captions"]), str(fx["audio"]), str(fx["grounding"]),
                                       str(tmp_path / "nope"), str(tmp_path / "file"))
    cases = [
        ([nope, audio, "--out", str(tmp_path / "a"), "--grounding", ground], "no such file or folder"),
        ([caps, file, "--out", str(tmp_path / "b"), "--grounding", ground], "is a file"),
        ([caps, nope, "--out", str(tmp_path / "b"), "--grounding", ground], "no such audio folder"),
        ([caps, audio, "--out", file, "--grounding", ground], "--out is a file"),
        ([caps, audio, "--out", str(tmp_path / "c"), "--grounding", caps], "no test.json"),
    ]
    for args, words in cases:
        res = runner.invoke(app, base + args)
        assert res.exit_code == 2, (args, res.output)
        lines = [l for l in res.output.splitlines() if l.strip()]
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in res.output, res.output
    res = runner.invoke(app, ["data", "import-audiogrounding", str(tmp_path / "nope"), str(fx["audio"]),
                              "--out", str(tmp_path / "d")])
    assert res.exit_code == 2 and len([l for l in res.output.splitlines() if l.strip()]) == 1


# ----------------------------------------------------------------------------- AudioGrounding


def _grounding_fixture(root: Path, test_json: Path | None = None) -> dict:
    """v1 train/val/test labels + audio under the v1 names; one train clip shares a test video."""
    splits = {"train": [(500 + i, _yid(500 + i), 10 * i) for i in range(5)],
              "val": [(600 + i, _yid(600 + i), 0) for i in range(2)],
              "test": [(700 + i, _yid(700 + i), 30) for i in range(2)]}
    splits["train"].append((599, _yid(700), 30))  # the video of a test clip: removed from train
    for split, rows in splits.items():
        if split == "test" and test_json is not None:
            continue
        clips = [{"audiocap_id": a, "filename": _ag_name(y, s), "caption": CAPTIONS[a % len(CAPTIONS)],
                  "phrases": _phrases_of(CAPTIONS[a % len(CAPTIONS)])} for a, y, s in rows]
        _v1(root / "v1" / f"{split}.json", clips)
        for a, y, s in rows:
            _audio(root / "audio_v1" / _ag_name(y, s), a)
            _audio(root / "audio_v2" / split / f"Y{y}.wav", a)
    if test_json is not None:
        (root / "v1" / "test.json").write_bytes(test_json.read_bytes())
        data = json.loads(test_json.read_text())
        for i, name in enumerate(sorted(set(data["filename"].values()))):
            _audio(root / "audio_v1" / name, 900 + i, seconds=10.0, rate=4000)
    return splits


def test_audiogrounding_v1_and_v2_give_the_same_labels(tmp_path):
    _grounding_fixture(tmp_path)
    (tmp_path / "v2").mkdir()
    for split in ("train", "val", "test"):
        _v2_from_v1(tmp_path / "v1" / f"{split}.json", tmp_path / "v2" / f"{split}.json")
    one = import_audiogrounding(tmp_path / "v1", tmp_path / "audio_v1", tmp_path / "c1")
    two = import_audiogrounding(tmp_path / "v2", tmp_path / "audio_v2", tmp_path / "c2")
    assert one.sizes == two.sizes == {"train": 5, "val": 2, "test": 2}
    assert one.report["removed_test_overlap"] == 1
    assert one.report["naming"] == {"label file name": 9}
    for split in ("train", "val", "test"):
        a = read_v2(one.path / split / "labels.json", require_segments=True)
        b = read_v2(two.path / split / "labels.json", require_segments=True)
        # v2 keeps no caption: its tokens stand in, so compare tokens, phrases and segments
        assert [(c.audio_id, c.tokens, c.phrases) for c in a] == [(c.audio_id, c.tokens, c.phrases) for c in b]
        wa, wb = (read_weak_v2(x.path / split / "weak.json") for x in (one, two))
        assert [(c.audio_id, c.tokens, c.phrases) for c in wa] == [(c.audio_id, c.tokens, c.phrases) for c in wb]
    human = import_audiogrounding(tmp_path / "v1", tmp_path / "audio_v1", tmp_path / "c3", weak_phrases="human")
    labels = read_v2(human.path / "train" / "labels.json")
    assert read_weak_v2(human.path / "train" / "weak.json") == [c.weak() for c in labels]


def test_audiogrounding_real_v1_file_as_test_split(audiogrounding_v1_dir, tmp_path):
    _grounding_fixture(tmp_path, test_json=audiogrounding_v1_dir / "val.json")
    res = import_audiogrounding(tmp_path / "v1", tmp_path / "audio_v1", tmp_path / "c", workers=2)
    test = read_v2(res.path / "test" / "labels.json", require_segments=True)
    assert len(test) == 155 and len({c.audio_id for c in test}) == 155
    assert res.counts["audiogrounding/test"]["imported"] == 155
    # 10.02 s offsets are within the tolerance of 10 s clips: kept as annotated
    assert max(s.offset for c in test for p in c.phrases for s in p.segments) == 10.02
    assert len(list((res.path / "test" / "audio").iterdir())) == 155
    assert {c.extra["source_audio_id"] for c in test} == set(
        json.loads((audiogrounding_v1_dir / "val.json").read_text())["filename"].values())


def test_audiogrounding_label_errors_are_one_line(tmp_path):
    (tmp_path / "labels").mkdir()
    for split in ("train", "val"):
        (tmp_path / "labels" / f"{split}.json").write_text("[]")
    with pytest.raises(LabelError, match="no test.json"):
        import_audiogrounding(tmp_path / "labels", tmp_path, tmp_path / "o")
    (tmp_path / "labels" / "test.json").write_text('[{"audio_id": "Yabc.wav"')
    with pytest.raises(LabelError, match="test.json: not valid JSON"):
        import_audiogrounding(tmp_path / "labels", tmp_path, tmp_path / "o")


def test_a_corpus_inside_the_audio_folder_is_not_searched(audiocaps, imported):
    import shutil

    out = audiocaps["audio"] / "corpus"
    try:
        first = _import(audiocaps, out)
        again = _import(audiocaps, out, force=True)  # its own links (named <audiocap_id>.wav) are not audio to import
        found = [r.report["audio_files_found"] for r in (again, first, imported)]
        assert found[0] == found[1] == found[2]
        assert again.content_hash == imported.content_hash
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_force_never_deletes_a_folder_that_is_not_a_corpus(audiocaps, tmp_path):
    music = tmp_path / "Music"
    music.mkdir()
    (music / "song.flac").write_bytes(b"precious")
    with pytest.raises(ConfigError, match="only a corpus it wrote, even with --force"):
        _import(audiocaps, music, force=True)
    assert (music / "song.flac").read_bytes() == b"precious"
