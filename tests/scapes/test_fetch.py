"""Fetching the sound bank's packages: cache reuse, corrupt downloads, no apt."""

import shutil
import time

import pytest

from wstag.errors import FetchError
from wstag.scapes.fetch import (
    DEBIAN_PACKAGES, apt_available, fetch_all, fetch_debian_package, package_root,
)

SMALL = "sound-theme-freedesktop"  # 0.4 MB: cheap to fetch again in tests


def test_every_package_is_unpacked_with_its_archives(fetched_cache):
    root = fetched_cache / "sources"
    for pkg in DEBIAN_PACKAGES:
        assert (root / pkg / ".completed").is_file(), pkg
    assert len(list((root / "openclonk-data" / "Sound.ocg").rglob("*.ogg"))) > 150
    assert (root / "openttd-opensfx" / "opensfx.cat" / "index.tsv").is_file()
    assert (root / "gcompris-qt-data" / "memory-sound.rcc").is_dir()


def test_second_run_reuses_the_cache(fetched_cache):
    start = time.perf_counter()
    fetched = fetch_all(fetched_cache)
    assert all(f.reused for f in fetched)
    assert time.perf_counter() - start < 5


def _copy_small_deb(fetched_cache, tmp_path):
    src = next((fetched_cache / "debs").glob(f"{SMALL}_*.deb"))
    (tmp_path / "debs").mkdir()
    dst = tmp_path / "debs" / src.name
    shutil.copy(src, dst)
    return src, dst


@pytest.mark.skipif(not apt_available(), reason="needs apt-get to download again")
def test_truncated_download_is_detected_and_fetched_again(fetched_cache, tmp_path):
    src, dst = _copy_small_deb(fetched_cache, tmp_path)
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    got = fetch_debian_package(SMALL, tmp_path)
    assert not got.reused
    assert got.archive.stat().st_size == src.stat().st_size
    assert (package_root(tmp_path, SMALL) / ".completed").is_file()


def test_interrupted_unpack_is_redone(fetched_cache, tmp_path):
    _copy_small_deb(fetched_cache, tmp_path)
    first = fetch_debian_package(SMALL, tmp_path, debs_dir=tmp_path / "debs")
    (first.root / ".completed").unlink()  # as if the process died before the marker
    again = fetch_debian_package(SMALL, tmp_path, debs_dir=tmp_path / "debs")
    assert not again.reused and again.n_files == first.n_files > 20


def test_debs_folder_with_a_corrupt_file_is_refused(fetched_cache, tmp_path):
    src, dst = _copy_small_deb(fetched_cache, tmp_path)
    dst.write_bytes(src.read_bytes()[:5000])
    with pytest.raises(FetchError, match=f"{dst.name}.*(truncated|corrupt)"):
        fetch_debian_package(SMALL, tmp_path / "cache", debs_dir=tmp_path / "debs")


def test_debs_folder_without_the_package(tmp_path):
    with pytest.raises(FetchError, match=f"no {SMALL}_\\*.deb"):
        fetch_debian_package(SMALL, tmp_path / "cache", debs_dir=tmp_path)


def test_system_without_apt_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get on this PATH
    with pytest.raises(FetchError, match="no apt-get.*--debs"):
        fetch_debian_package(SMALL, tmp_path / "cache")


def test_a_hanging_download_tool_is_a_fetch_error(monkeypatch):
    import subprocess

    import pytest

    from wstag.scapes import fetch

    def hang(*args, **kwargs):
        assert kwargs.get("timeout"), "every download tool call needs a time limit"
        raise subprocess.TimeoutExpired(args[0], kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", hang)
    with pytest.raises(fetch.FetchError, match="no answer within"):
        fetch.run_tool(["apt-get", "download", "x"], 5)
