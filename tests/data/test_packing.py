"""Feature packing: each recording once, resumable bit for bit, unreadable audio skipped and named."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from wstag.audio.frontend import DEFAULT_FRONT_END, FrontEnd
from wstag.audio.io import write_flac
from tests.data.cache_helpers import cache_is_current
from wstag.data.feature_cache import FeatureStore
from wstag.data.packing import build_feature_cache
from wstag.data.packing import pack_features, parts_dir
from wstag.errors import AudioError

SR = 32000
N_FILES = 40


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory) -> Path:
    """40 noise clips of different lengths (0.3-0.99 s), so no two have the same frame count by design."""
    folder = tmp_path_factory.mktemp("packing") / "audio"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(N_FILES):
        n = int((0.3 + 0.69 * rng.random()) * SR)
        write_flac(folder / f"c{i:02d}.flac", (0.1 * rng.standard_normal(n)).astype(np.float32), SR)
    return folder


IDS = [f"c{i:02d}.flac" for i in range(N_FILES)]


def _contents(path: Path) -> dict[str, tuple]:
    """id -> (dtype, shape, raw bytes): equal only when bit for bit equal."""
    with h5py.File(path, "r") as h5:
        return {k: _bits(h5["logmel"][k][()]) for k in h5["logmel"]}


def _bits(a: np.ndarray) -> tuple:
    return str(a.dtype), a.shape, a.tobytes()


@pytest.fixture(scope="module")
def reference(audio_dir, tmp_path_factory) -> dict[str, tuple]:
    """One uninterrupted in-process packing of every clip."""
    out = tmp_path_factory.mktemp("ref") / "features.h5"
    result = pack_features(audio_dir, IDS, out, workers=1, front_end=DEFAULT_FRONT_END)
    assert (result.computed, result.reused, result.linked, result.unreadable) == (N_FILES, 0, 0, {})
    return _contents(out)


def test_worker_processes_pack_the_same_bits_as_one_process(audio_dir, reference, tmp_path):
    out = tmp_path / "features.h5"
    result = pack_features(audio_dir, IDS, out, workers=2, front_end=DEFAULT_FRONT_END)
    assert result.computed == N_FILES and _contents(out) == reference
    with h5py.File(out, "r") as h5:
        assert json.loads(h5.attrs["front_end"]) == DEFAULT_FRONT_END.to_dict()
        assert all(h5["logmel"][k].dtype == np.float16 for k in IDS)
    assert not parts_dir(out).exists()


class _Interrupt(Exception):
    pass


def _stop_after(n: int):
    """A progress wrapper that raises after ``n`` clips: an interruption at a known point."""
    def wrap(iterable, **kw):
        for k, item in enumerate(iterable):
            if k == n:
                raise _Interrupt
            yield item
    return wrap


@pytest.mark.parametrize("workers", [1, 2])
def test_an_interrupted_packing_resumes_with_only_the_missing_clips_and_the_same_bits(
        audio_dir, reference, tmp_path, workers):
    out = tmp_path / "features.h5"
    with pytest.raises(_Interrupt):
        pack_features(audio_dir, IDS, out, workers=workers, part_size=4, progress=_stop_after(13), front_end=DEFAULT_FRONT_END)
    assert not out.exists() and len(list(parts_dir(out).glob("part-*.h5"))) == 4  # 4 + 4 + 4 + 1 kept
    result = pack_features(audio_dir, IDS, out, workers=workers, front_end=DEFAULT_FRONT_END)
    assert (result.computed, result.reused) == (N_FILES - 13, 13)
    assert _contents(out) == reference and not parts_dir(out).exists()


def test_a_killed_packing_keeps_its_parts_and_resumes(audio_dir, reference, tmp_path):
    """SIGKILL (no clean-up at all) in the middle; the next packing finishes with the same bits."""
    out = tmp_path / "features.h5"
    child = (
        "import sys, time\n"
        "from wstag.audio.frontend import DEFAULT_FRONT_END\n"
        "from wstag.data.packing import pack_features\n"
        "def stall(it, **kw):\n"  # 7 clips, then it hangs: the kill always lands mid-packing
        "    for k, x in enumerate(it):\n"
        "        if k == 7:\n"
        "            time.sleep(3600)\n"
        "        yield x\n"
        f"pack_features({str(audio_dir)!r}, {IDS!r}, {str(out)!r}, workers=1, part_size=3, part_seconds=3600, front_end=DEFAULT_FRONT_END,\n"
        "              progress=stall)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", child], cwd=Path(__file__).parents[2])
    try:
        deadline = time.monotonic() + 600  # a loaded machine takes its time to import torch
        while len(list(parts_dir(out).glob("part-*.h5"))) < 2:
            assert proc.poll() is None, "the packing ended before it was killed"
            assert time.monotonic() < deadline, "no part file after 600 s"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not out.exists()
    result = pack_features(audio_dir, IDS, out, workers=1, front_end=DEFAULT_FRONT_END)
    assert (result.reused, result.computed) == (6, N_FILES - 6)  # two parts of 3 survived the kill
    assert _contents(out) == reference


def test_ids_linking_one_recording_are_computed_once_and_stored_as_hard_links(audio_dir, reference, tmp_path):
    """An imported AudioCaps split: five caption ids per clip, symlinks (default) or hard links (--copy)."""
    split = tmp_path / "audio"
    split.mkdir()
    ids = []
    for i, name in enumerate(IDS[:6]):
        for k in range(5):
            link = split / f"{i}_{k}.flac"
            (os.symlink if i % 2 else os.link)(audio_dir / name, link)
            ids.append(link.name)
    out = tmp_path / "features.h5"
    result = pack_features(split, ids, out, workers=1, front_end=DEFAULT_FRONT_END)
    assert (result.computed, result.linked) == (6, 24)
    store = FeatureStore(out, DEFAULT_FRONT_END)
    for i, name in enumerate(IDS[:6]):
        for k in range(5):
            assert _bits(store[f"{i}_{k}.flac"].astype(np.float16)) == reference[name]
    with h5py.File(out, "r") as h5:
        assert h5["logmel"]["0_0.flac"].id == h5["logmel"]["0_4.flac"].id  # stored once
    # A new caption of a known recording is linked, not computed, and the cache keeps its own.
    os.symlink(audio_dir / IDS[1], split / "1_5.flac")
    again = pack_features(split, [*ids, "1_5.flac"], out, workers=1, front_end=DEFAULT_FRONT_END)
    assert (again.computed, again.linked, again.reused) == (0, 1, 30)
    with h5py.File(out, "r") as h5:
        assert h5["logmel"]["1_5.flac"].id == h5["logmel"]["1_0.flac"].id == h5["logmel"]["1_4.flac"].id


def test_unreadable_audio_is_skipped_and_named_never_a_crash(audio_dir, tmp_path):
    split = tmp_path / "audio"
    split.mkdir()
    for name in IDS[:3]:
        os.symlink(audio_dir / name, split / name)
    (split / "corrupt.flac").write_bytes(b"fLaC" + b"\0" * 100)
    os.symlink(tmp_path / "gone.flac", split / "broken.flac")
    ids = [*IDS[:3], "corrupt.flac", "broken.flac", "absent.flac"]
    out = tmp_path / "features.h5"
    result = pack_features(split, ids, out, workers=1, front_end=DEFAULT_FRONT_END)
    assert result.computed == 3 and sorted(result.unreadable) == ["absent.flac", "broken.flac", "corrupt.flac"]
    assert all(str(split / name) in why for name, why in result.unreadable.items())
    assert sorted(_contents(out)) == IDS[:3]
    mtime = out.stat().st_mtime_ns
    again = pack_features(split, ids, out, workers=1, front_end=DEFAULT_FRONT_END)  # tried again (the files may be fixed), nothing rewritten
    assert (again.computed, again.reused, len(again.unreadable)) == (0, 3, 3) and out.stat().st_mtime_ns == mtime
    with pytest.raises(AudioError, match=r"3 clips have no features.*corrupt.flac"):
        build_feature_cache(split, ids, out, front_end=DEFAULT_FRONT_END)  # evaluation needs every clip: one line naming them


def test_a_cache_made_before_packing_is_read_and_extended_not_rebuilt(audio_dir, reference, tmp_path):
    """The old layout (one dataset per id, duplicates stored twice) stays current; new ids are added."""
    out = tmp_path / "features.h5"
    with h5py.File(out, "w") as h5:
        h5.attrs["front_end"] = DEFAULT_FRONT_END.tag()
        group = h5.create_group("logmel")
        for name in IDS[:10]:
            dtype, shape, raw = reference[name]
            group.create_dataset(name, data=np.frombuffer(raw, dtype).reshape(shape))
    mtime = out.stat().st_mtime_ns
    assert cache_is_current(out, IDS[:10])
    assert pack_features(audio_dir, IDS[:10], out, front_end=DEFAULT_FRONT_END).computed == 0 and out.stat().st_mtime_ns == mtime
    result = pack_features(audio_dir, IDS, out, workers=1, front_end=DEFAULT_FRONT_END)
    assert (result.computed, result.reused) == (N_FILES - 10, 10) and _contents(out) == reference


def test_parts_and_caches_of_another_front_end_are_not_reused(audio_dir, tmp_path):
    other = FrontEnd(n_mels=32)
    out = tmp_path / "features.h5"
    with pytest.raises(_Interrupt):
        pack_features(audio_dir, IDS[:8], out, front_end=other, workers=1, part_size=2, progress=_stop_after(4))
    result = pack_features(audio_dir, IDS[:8], out, workers=1, front_end=DEFAULT_FRONT_END)
    assert result.computed == 8 and result.reused == 0
    assert FeatureStore(out, DEFAULT_FRONT_END)[IDS[0]].shape[1] == 64


def test_a_second_packer_waits_for_the_first(audio_dir, tmp_path):
    out = tmp_path / "features.h5"
    lock = tmp_path / ".features.h5.lock"
    said: list[str] = []
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        worker = threading.Thread(target=pack_features, args=(audio_dir, IDS[:2], out),
                                  kwargs={"workers": 1, "log": said.append, "front_end": DEFAULT_FRONT_END})
        worker.start()
        time.sleep(1.0)
        assert worker.is_alive() and not out.exists() and "waiting for another process" in said[0]
    worker.join(60)
    assert not worker.is_alive() and cache_is_current(out, IDS[:2])


def test_a_complete_cache_in_a_read_only_folder_is_used_without_writing(audio_dir, tmp_path):
    folder = tmp_path / "split"
    folder.mkdir()
    out = folder / "features.h5"
    pack_features(audio_dir, IDS[:2], out, workers=1, front_end=DEFAULT_FRONT_END)
    (folder / ".features.h5.lock").unlink()
    folder.chmod(0o555)
    try:
        result = pack_features(audio_dir, IDS[:2], out, workers=1, front_end=DEFAULT_FRONT_END)
        assert (result.computed, result.reused) == (0, 2)
        assert sorted(p.name for p in folder.iterdir()) == ["features.h5"]  # no lock file, nothing written
    finally:
        folder.chmod(0o755)
