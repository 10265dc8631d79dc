"""Archive readers: the real Debian packages decode as expected; broken input is a FetchError.

Real-package tests use the small debs (opensfx, freedesktop, minetest) and extract
only the one archive they need from the big ones. Corrupt inputs are built in
``tmp_path`` by tiny writers of each format below, so they run without any download.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wstag.errors import FetchError
from wstag.scapes.readers.archives import extract_archive, iter_archive
from wstag.scapes.readers.cat import iter_cat
from wstag.scapes.readers.deb import deb_version, extract_deb, iter_deb_members, verify_deb
from wstag.scapes.readers.ocg import GROUP_ID, HEADER_SIZE, _unscramble, iter_ocg
from wstag.scapes.readers.rcc import iter_rcc

AUDIO = (".ogg", ".oga", ".wav", ".mp3", ".flac")


def _assert_audio(path: Path, duration: float, samplerate: int) -> None:
    info = sf.info(str(path))
    assert info.samplerate == samplerate
    assert info.frames / info.samplerate == pytest.approx(duration, abs=1e-3)


def _audio_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.suffix.lower() in AUDIO]


# ---------------------------------------------------------------- tiny format writers


def _wav(frames: int, samplerate: int = 8000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(frames, "int16"), samplerate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        out += data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def _tar(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buf.getvalue()


def _make_deb(
    path: Path, files: dict[str, bytes], links: dict[str, str] | None = None, compression: str = "xz"
) -> Path:
    compress = {"xz": lzma.compress, "gz": gzip.compress, "bz2": bz2.compress, "zst": lambda b: b}
    control = gzip.compress(_tar({"./control": b"Package: fake\nVersion: 1.0-1\n"}))
    data = compress[compression](_tar(files, links))
    members = [("debian-binary", b"2.0\n"), ("control.tar.gz", control)]
    path.write_bytes(_ar(members + [(f"data.tar.{compression}", data)]))
    return path


def _group(entries: list[tuple[str, bytes | list]]) -> bytes:
    """An uncompressed C4Group; an entry whose value is a list is a child group."""
    header = bytearray(HEADER_SIZE)
    header[: len(GROUP_ID)] = GROUP_ID
    struct.pack_into("<iii", header, 28, 1, 2, len(entries))
    table, blob = bytearray(), bytearray()
    for name, value in entries:
        is_child = isinstance(value, list)
        data = _group(value) if is_child else value
        table += name.encode().ljust(260, b"\0")
        table += struct.pack("<5i", 0, int(is_child), len(data), 0, len(blob)) + bytes(36)
        blob += data
    # the scrambling is its own inverse, so unscrambling scrambles
    return _unscramble(bytes(header)) + bytes(table) + bytes(blob)


def _ocg(entries: list[tuple[str, bytes | list]]) -> bytes:
    return b"\x1e\x8c" + gzip.compress(_group(entries))[2:]


def _rcc(files: dict[str, bytes], compressed: tuple[str, ...] = ()) -> bytes:
    """A version-3 Qt resource file; children of a directory get consecutive node indices."""
    tree: dict = {}
    for path, data in files.items():
        *dirs, leaf = path.split("/")
        node = tree
        for d in dirs:
            node = node.setdefault(d, {})
        node[leaf] = data
    names, records, blob = bytearray(), [], bytearray()
    nodes: list[tuple[str, dict | bytes]] = [("", tree)]
    i = 0
    while i < len(nodes):
        name, content = nodes[i]
        name_off = len(names)
        names += struct.pack(">HI", len(name), 0) + name.encode("utf-16-be")
        if isinstance(content, dict):
            records.append(struct.pack(">IHII", name_off, 2, len(content), len(nodes)))
            nodes.extend(content.items())
        else:
            flags, payload = 0, content
            if name in compressed:
                flags, payload = 1, struct.pack(">I", len(content)) + zlib.compress(content)
            records.append(struct.pack(">IHII", name_off, flags, 0, len(blob)))
            blob += struct.pack(">I", len(payload)) + payload
        records[-1] += bytes(8)  # v2+ modification time
        i += 1
    data_off = 24
    names_off = data_off + len(blob)
    tree_off = names_off + len(names)
    header = struct.pack(">4s5I", b"qres", 3, tree_off, data_off, names_off, 0)
    return header + blob + names + b"".join(records)


def _cat(entries: list[tuple[str, bytes]]) -> bytes:
    table, body = bytearray(), bytearray()
    start = 8 * len(entries)
    for title, wav in entries:
        raw = title.encode() + b"\0"
        table += struct.pack("<II", (start + len(body)) | 0x80000000, len(wav))
        body += bytes([len(raw)]) + raw + wav
    return bytes(table + body)


# ---------------------------------------------------------------- real packages


def test_deb_version_reads_control(find_deb) -> None:
    info = deb_version(find_deb("sound-theme-freedesktop"))
    assert info.package == "sound-theme-freedesktop"
    assert info.version


def test_extract_deb_keeps_paths_and_copies_links(find_deb, tmp_path: Path) -> None:
    deb = find_deb("sound-theme-freedesktop")
    written = extract_deb(deb, tmp_path)
    stereo = tmp_path / "usr/share/sounds/freedesktop/stereo"
    assert len(list(stereo.glob("*.oga"))) == 35  # 27 files + 8 links written as copies
    assert (tmp_path / "usr/share/doc/sound-theme-freedesktop/copyright").is_file()
    assert all(p.is_file() and not p.is_symlink() for p in written)
    assert (stereo / "power-plug.oga").read_bytes() == (stereo / "device-added.oga").read_bytes()
    _assert_audio(stereo / "bell.oga", 0.1395, 44100)


def test_verify_deb_accepts_real_package(find_deb) -> None:
    verify_deb(find_deb("openttd-opensfx"))


def test_iter_deb_members_selects_by_suffix(find_deb) -> None:
    members = dict(iter_deb_members(find_deb("minetest-data"), (".ogg",), copyright=False))
    assert len(members) == 109
    assert all(not str(p).startswith(("/", ".")) for p in members)
    door = members[Path("usr/share/games/minetest/games/minetest_game/mods/doors/sounds")
                   / "doors_door_open.ogg"]
    info = sf.info(io.BytesIO(door))
    assert (info.samplerate, round(info.frames / info.samplerate, 3)) == (22050, 0.419)


def test_opensfx_cat_members_and_index(find_deb, tmp_path: Path) -> None:
    deb = find_deb("openttd-opensfx")
    (cat,) = extract_deb(deb, tmp_path / "deb", ("opensfx.cat",), copyright=False)
    written = extract_archive(cat, tmp_path / "out")
    root = tmp_path / "out/opensfx.cat"
    wavs = sorted(root.glob("*.wav"))
    assert len(wavs) == 71  # 73 table entries, 2 empty placeholders
    _assert_audio(root / "29_Applause.wav", 3.6876, 44100)
    _assert_audio(root / "00_Good_Year.wav", 0.33, 44100)
    rows = (root / "index.tsv").read_text().splitlines()
    assert len(rows) == 72 and rows[0] == "index\tfile_name\ttitle"
    assert any(r.startswith("29\t29_Applause.wav\t") and "lonemonk" in r for r in rows)
    assert len(written) == 72


@pytest.fixture(scope="module")
def sound_ocg(find_deb, tmp_path_factory) -> Path:
    """OpenClonk's Sound.ocg, pulled out of the 112 MB deb once (~2 s)."""
    dest = tmp_path_factory.mktemp("oc")
    (path,) = extract_deb(find_deb("openclonk-data"), dest, ("Sound.ocg",), copyright=False)
    return path


def test_openclonk_sound_group(sound_ocg: Path, tmp_path: Path) -> None:
    extract_archive(sound_ocg, tmp_path)
    root = tmp_path / "Sound.ocg"
    assert len(_audio_files(root)) == 397
    assert b"CC Attribution 3.0" in (root / "authors.txt").read_bytes()
    _assert_audio(root / "Environment.ocg/Lightning.ocg/Thunder1.ogg", 2.9446, 44100)
    _assert_audio(root / "Animals.ocg/Bat.ocg/Chirp.wav", 0.6279, 44100)
    _assert_audio(root / "Liquids.ocg/StereoRain.ogg", 59.9394, 44100)


@pytest.fixture(scope="module")
def gcompris_rcc(find_deb, tmp_path_factory) -> list[Path]:
    """All 186 GCompris .rcc files from the 44 MB deb (~2 s)."""
    dest = tmp_path_factory.mktemp("gc")
    return extract_deb(find_deb("gcompris-qt-data"), dest, (".rcc",), copyright=False)


def test_gcompris_resources(gcompris_rcc: list[Path]) -> None:
    assert len(gcompris_rcc) == 186
    audio = {
        f"{rcc.name}/{name}": data
        for rcc in gcompris_rcc
        for name, data in iter_rcc(rcc)
        if name.lower().endswith(AUDIO)
    }
    assert len(audio) == 136
    res = "gcompris/src/activities/{0}/resource/"
    applause = audio["memory-sound.rcc/" + res.format("memory-sound") + "LRApplauses_1_LA_cut.ogg"]
    farm = "explore_farm_animals"
    cow = audio[f"{farm}.rcc/" + res.format(farm) + "animals/cow.ogg"]
    for data, (duration, rate) in ((applause, (3.2041, 44100)), (cow, (4.4742, 44100))):
        info = sf.info(io.BytesIO(data))
        assert info.samplerate == rate
        assert info.frames / info.samplerate == pytest.approx(duration, abs=1e-3)


# ---------------------------------------------------------------- synthetic round trips


def test_synthetic_formats_round_trip(tmp_path: Path) -> None:
    wav = _wav(80)
    ocg = tmp_path / "S.ocg"
    nested = [("a.wav", wav), ("Deep.ocg", [("b.wav", wav)])]
    ocg.write_bytes(_ocg([("authors.txt", b"me"), ("Sub.ocg", nested)]))
    want = {"authors.txt": b"me", "Sub.ocg/a.wav": wav, "Sub.ocg/Deep.ocg/b.wav": wav}
    assert dict(iter_ocg(ocg)) == want
    rcc = tmp_path / "r.rcc"
    rcc.write_bytes(_rcc({"d/a.wav": wav, "d/e/b.txt": b"text"}, compressed=("a.wav",)))
    assert dict(iter_rcc(rcc)) == {"d/a.wav": wav, "d/e/b.txt": b"text"}
    cat = tmp_path / "x.cat"
    placeholder = _wav(0)  # a 44-byte RIFF with no samples, like opensfx's "Unused/Nothing"
    cat.write_bytes(_cat([('"Dog bark". By me.', wav), ('"Unused".', placeholder), ('"Cat/meow!"', wav)]))
    assert [(e.index, e.file_name, e.wav == wav) for e in iter_cat(cat)] == [
        (0, "00_Dog_bark.wav", True),
        (2, "02_Cat_meow.wav", True),
    ]
    assert [name for name, _ in iter_archive(cat)] == ["00_Dog_bark.wav", "02_Cat_meow.wav"]


@pytest.mark.parametrize("compression", ["xz", "gz", "bz2"])
def test_synthetic_deb_compressions(tmp_path: Path, compression: str) -> None:
    files = {"./usr/share/x/a.wav": b"RIFF", "./usr/share/x/a.png": b"img"}
    deb = _make_deb(tmp_path / "fake.deb", files, compression=compression)
    assert deb_version(deb) == ("fake", "1.0-1")
    assert [(str(p), d) for p, d in iter_deb_members(deb)] == [("usr/share/x/a.wav", b"RIFF")]
    verify_deb(deb)


def test_zstd_deb_needs_zstandard(tmp_path: Path) -> None:
    try:
        import zstandard  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("zstandard is installed, so .zst is readable")
    deb = _make_deb(tmp_path / "z.deb", {"./a.wav": b"x"}, compression="zst")
    with pytest.raises(FetchError, match=r"z\.deb.*zstandard"):
        verify_deb(deb)


# ---------------------------------------------------------------- corrupt inputs


def test_truncated_deb(find_deb, tmp_path: Path) -> None:
    data = find_deb("sound-theme-freedesktop").read_bytes()
    bad = tmp_path / "cut.deb"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(FetchError, match=r"cut\.deb: truncated"):
        verify_deb(bad)
    with pytest.raises(FetchError, match=r"cut\.deb"):
        extract_deb(bad, tmp_path / "out")


def test_corrupt_bytes_inside_deb(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).bytes(20_000)  # incompressible, so the xz stream is long
    deb = _make_deb(tmp_path / "flip.deb", {"./s/a.wav": noise})
    data = bytearray(deb.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    deb.write_bytes(bytes(data))
    with pytest.raises(FetchError, match=r"flip\.deb: .*corrupt"):
        verify_deb(deb)


def test_deb_with_wrong_magic(tmp_path: Path) -> None:
    bad = tmp_path / "notadeb.deb"
    bad.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(FetchError, match=r"notadeb\.deb: not a Debian package"):
        verify_deb(bad)
    with pytest.raises(FetchError, match=r"notadeb\.deb"):
        deb_version(bad)


def test_deb_path_traversal_is_refused(tmp_path: Path) -> None:
    deb = _make_deb(tmp_path / "evil.deb", {"./ok.wav": b"a", "./../../escape.wav": b"b"})
    with pytest.raises(FetchError, match=r"evil\.deb: member .*'\.\.'"):
        extract_deb(deb, tmp_path / "out")
    assert not (tmp_path / "escape.wav").exists()
    absolute = _make_deb(tmp_path / "abs.deb", {"/etc/x.wav": b"b"})
    with pytest.raises(FetchError, match=r"abs\.deb: member .*absolute"):
        list(iter_deb_members(absolute))


def test_deb_link_outside_package_is_not_followed(tmp_path: Path) -> None:
    links = {"./a/y.wav": "x.wav", "./a/z.wav": "../../../etc/passwd"}
    deb = _make_deb(tmp_path / "l.deb", {"./a/x.wav": b"x"}, links=links)
    written = extract_deb(deb, tmp_path / "out")
    assert sorted(p.name for p in written) == ["x.wav", "y.wav"]
    assert (tmp_path / "out/a/y.wav").read_bytes() == b"x"


def test_ocg_with_wrong_magic(tmp_path: Path) -> None:
    bad = tmp_path / "Bad.ocg"
    bad.write_bytes(b"\x1f\x8c" + bytes(300))
    with pytest.raises(FetchError, match=r"Bad\.ocg: not a C4Group"):
        list(iter_ocg(bad))
    wrong_header = tmp_path / "Plain.ocg"
    wrong_header.write_bytes(gzip.compress(bytes(400)))
    with pytest.raises(FetchError, match=r"Plain\.ocg: corrupt C4Group.*header"):
        list(iter_ocg(wrong_header))


def test_ocg_entry_out_of_range_and_traversal(tmp_path: Path) -> None:
    group = bytearray(_group([("a.wav", b"12345678")]))
    struct.pack_into("<i", group, HEADER_SIZE + 260 + 8, 10**6)  # size field of entry 0
    bad = tmp_path / "Range.ocg"
    bad.write_bytes(b"\x1e\x8c" + gzip.compress(bytes(group))[2:])
    with pytest.raises(FetchError, match=r"Range\.ocg: corrupt C4Group: entry 'a.wav'.*outside"):
        list(iter_ocg(bad))
    evil = tmp_path / "Evil.ocg"
    evil.write_bytes(_ocg([("..", [("x.wav", b"x")])]))
    with pytest.raises(FetchError, match=r"Evil\.ocg: member .*'\.\.'"):
        list(iter_ocg(evil))


def test_truncated_rcc(tmp_path: Path) -> None:
    data = _rcc({"d/a.wav": _wav(100), "d/b.wav": _wav(50)}, compressed=("b.wav",))
    bad = tmp_path / "cut.rcc"
    bad.write_bytes(data[: len(data) - 30])
    with pytest.raises(FetchError, match=r"cut\.rcc: corrupt Qt resource file: .*out of range"):
        list(iter_rcc(bad))
    wrong = tmp_path / "wrong.rcc"
    wrong.write_bytes(b"qrez" + data[4:])
    with pytest.raises(FetchError, match=r"wrong\.rcc: not a Qt resource file"):
        list(iter_rcc(wrong))


def test_cat_with_out_of_range_offset(tmp_path: Path) -> None:
    data = bytearray(_cat([('"A"', _wav(10)), ('"B"', _wav(10))]))
    struct.pack_into("<I", data, 8, 0x80000000 | 10**7)  # offset of entry 1
    bad = tmp_path / "far.cat"
    bad.write_bytes(bytes(data))
    message = r"far\.cat: corrupt OpenTTD sound set: title length of entry 1 .*out of range"
    with pytest.raises(FetchError, match=message):
        list(iter_cat(bad))
    not_wav = tmp_path / "raw.cat"
    not_wav.write_bytes(_cat([('"A"', b"NOTRIFF" * 10)]))
    with pytest.raises(FetchError, match=r"raw\.cat: .*entry 0 is not a RIFF WAV"):
        list(iter_cat(not_wav))


@pytest.mark.parametrize("suffix", [".ocg", ".rcc", ".cat"])
def test_every_truncation_is_a_fetch_error(tmp_path: Path, suffix: str) -> None:
    """Cutting a valid archive anywhere gives FetchError, never IndexError/struct.error."""
    wav = _wav(40)
    full = {
        ".ocg": _group([("a.wav", wav), ("S.ocg", [("b.wav", wav)])]),
        ".rcc": _rcc({"d/a.wav": wav, "b.txt": b"t"}, compressed=("a.wav",)),
        ".cat": _cat([('"A"', wav), ('"B"', wav)]),
    }[suffix]
    path = tmp_path / f"t{suffix}"
    for cut in range(0, len(full) - 1, 7):
        body = full[:cut]
        path.write_bytes(b"\x1e\x8c" + gzip.compress(body)[2:] if suffix == ".ocg" else body)
        with pytest.raises(FetchError, match=rf"t\{suffix}: ") as exc:
            list(iter_archive(path))
        assert "\n" not in str(exc.value)


def test_extract_archive_rejects_unknown_suffix(tmp_path: Path) -> None:
    other = tmp_path / "a.zip"
    other.write_bytes(b"PK")
    with pytest.raises(FetchError, match=r"a\.zip: unknown archive type"):
        extract_archive(other, tmp_path / "out")
