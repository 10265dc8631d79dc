"""The curated class table (`classes.yaml`): which recordings make each sound class.

The table is data, curated by hand: class name, group, role (foreground event,
background bed, or both), AudioCaps-style caption phrases, and the source files in the
unpacked packages. This module loads and validates it, and resolves source patterns
against the fetched packages.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from wstag.errors import ConfigError

GROUPS = (
    "animals", "vehicles", "water_weather", "fire_explosion", "domestic",
    "alarms_signals", "tools", "human", "music",
)
ROLES = ("event", "background", "both")
GENDERS = ("male", "female")
MIN_PHRASES = 4
_SOURCE_KEYS = {"path", "gender", "span", "group_pattern", "max_files", "note"}
_CLASS_KEYS = {"name", "group", "role", "phrases", "phrases_male", "phrases_female", "sources", "exclude", "note",
               "audioset"}
#: The shipped tables: each name lists its YAML files, merged in order. ``base`` is the table
#: every figure so far was measured on (presets tiny/small/full); ``world`` adds the classes of
#: ``classes_world.yaml`` for the world preset, leaving the base classes and their bank untouched.
TABLE_FILES: dict[str, tuple[str, ...]] = {
    "base": ("classes.yaml",),
    "world": ("classes.yaml", "classes_world.yaml"),
}


@dataclass(frozen=True)
class SourceSpec:
    """One source entry: a ``package:path`` pattern and its per-file attributes."""

    package: str
    pattern: str
    gender: str | None = None
    span: tuple[float, float] | None = None
    group_pattern: str | None = None
    max_files: int | None = None


@dataclass(frozen=True)
class AudioSetLabel:
    """The nearest AudioSet ontology label of a class (its parents: ``wstag.scapes.ontology``)."""

    id: str
    name: str


@dataclass(frozen=True)
class SoundClass:
    name: str
    group: str
    role: str
    phrases: tuple[str, ...]
    phrases_male: tuple[str, ...]
    phrases_female: tuple[str, ...]
    sources: tuple[SourceSpec, ...]
    exclude: tuple[str, ...]
    # Outside repr and equality: the bank is rebuilt when the table's repr changes
    # (pipeline.table_fingerprint), and the label changes no recording.
    audioset: AudioSetLabel | None = field(default=None, repr=False, compare=False)

    @property
    def is_event(self) -> bool:
        return self.role in ("event", "both")

    @property
    def is_background(self) -> bool:
        return self.role in ("background", "both")

    def phrases_for(self, gender: str | None) -> tuple[str, ...]:
        """Gendered phrases for a gender-labelled recording, else the neutral ones."""
        if gender == "male" and self.phrases_male:
            return self.phrases_male
        if gender == "female" and self.phrases_female:
            return self.phrases_female
        return self.phrases


@dataclass(frozen=True)
class PackageInfo:
    name: str
    origin: str
    licence: str
    attribution: str
    version: str | None = None


@dataclass(frozen=True)
class ClassTable:
    packages: dict[str, PackageInfo]
    classes: tuple[SoundClass, ...]
    name: str = field(default="base", repr=False, compare=False)  # which shipped table (TABLE_FILES)

    def by_name(self) -> dict[str, SoundClass]:
        return {c.name: c for c in self.classes}


def _fail(where: str, msg: str) -> None:
    raise ConfigError(f"{where}: {msg}")


def _str_list(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        _fail(where, f"'{key}' must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _parse_source(raw: Any, where: str, packages: dict[str, PackageInfo]) -> SourceSpec:
    if isinstance(raw, str):
        raw = {"path": raw}
    if not isinstance(raw, dict) or "path" not in raw:
        _fail(where, f"a source must be 'package:path' or a mapping with 'path', got {raw!r}")
    unknown = set(raw) - _SOURCE_KEYS
    if unknown:
        _fail(where, f"unknown source keys {sorted(unknown)} (allowed: {sorted(_SOURCE_KEYS)})")
    path = raw["path"]
    if not isinstance(path, str) or ":" not in path:
        _fail(where, f"source path {path!r} must look like 'package:relative/path'")
    package, pattern = path.split(":", 1)
    if package not in packages:
        _fail(where, f"source {path!r} names package {package!r}, which is not in 'packages'")
    gender = raw.get("gender")
    if gender is not None and gender not in GENDERS:
        _fail(where, f"gender must be one of {GENDERS}, got {gender!r}")
    span = raw.get("span")
    if span is not None:
        if not (isinstance(span, list) and len(span) == 2 and 0 <= span[0] < span[1]):
            _fail(where, f"span must be [start, end] seconds with start < end, got {span!r}")
        span = (float(span[0]), float(span[1]))
    group_pattern = raw.get("group_pattern")
    if group_pattern is not None:
        try:
            if re.compile(group_pattern).groups < 1:
                _fail(where, f"group_pattern {group_pattern!r} needs a capture group")
        except re.error as exc:
            _fail(where, f"group_pattern {group_pattern!r} is not a valid regex ({exc})")
    max_files = raw.get("max_files")
    if max_files is not None and (not isinstance(max_files, int) or max_files < 1):
        _fail(where, f"max_files must be a positive integer, got {max_files!r}")
    return SourceSpec(package, pattern, gender, span, group_pattern, max_files)


def _parse_audioset(raw: Any, where: str) -> AudioSetLabel | None:
    if raw is None:
        return None
    if not (isinstance(raw, dict) and set(raw) == {"id", "name"} and all(isinstance(v, str) and v for v in raw.values())):
        _fail(where, f"audioset must be {{id: /m/..., name: ...}}, got {raw!r}")
    if not re.fullmatch(r"/[mgt]/[0-9a-z_]+", raw["id"]):
        _fail(where, f"audioset id {raw['id']!r} does not look like an AudioSet id (/m/...)")
    return AudioSetLabel(raw["id"], raw["name"])


def parse_class_table(data: Any, where: str = "classes.yaml", table_name: str = "base") -> ClassTable:
    """Validate the YAML structure; every problem names the class and the key."""
    if not isinstance(data, dict) or "classes" not in data or "packages" not in data:
        _fail(where, "expected a mapping with 'packages' and 'classes'")
    packages = {}
    for name, info in (data["packages"] or {}).items():
        if not isinstance(info, dict) or not {"origin", "licence", "attribution"} <= set(info):
            _fail(where, f"package {name!r} needs origin, licence and attribution")
        packages[name] = PackageInfo(name, info["origin"], info["licence"], info["attribution"], info.get("version"))
    classes, seen = [], set()
    for i, raw in enumerate(data["classes"] or []):
        cwhere = f"{where}: class #{i}"
        if not isinstance(raw, dict) or "name" not in raw:
            _fail(cwhere, "each class needs a 'name'")
        cwhere = f"{where}: class {raw['name']!r}"
        unknown = set(raw) - _CLASS_KEYS
        if unknown:
            _fail(cwhere, f"unknown keys {sorted(unknown)} (allowed: {sorted(_CLASS_KEYS)})")
        if raw["name"] in seen:
            _fail(cwhere, "duplicate class name")
        seen.add(raw["name"])
        if raw.get("group") not in GROUPS:
            _fail(cwhere, f"group must be one of {GROUPS}, got {raw.get('group')!r}")
        if raw.get("role") not in ROLES:
            _fail(cwhere, f"role must be one of {ROLES}, got {raw.get('role')!r}")
        phrases = _str_list(raw.get("phrases"), cwhere, "phrases")
        if len(phrases) < MIN_PHRASES:
            _fail(cwhere, f"needs at least {MIN_PHRASES} phrases, has {len(phrases)}")
        sources = raw.get("sources")
        if not isinstance(sources, list) or not sources:
            _fail(cwhere, "needs a non-empty 'sources' list")
        classes.append(
            SoundClass(
                name=raw["name"],
                group=raw["group"],
                role=raw["role"],
                phrases=phrases,
                phrases_male=_str_list(raw.get("phrases_male"), cwhere, "phrases_male"),
                phrases_female=_str_list(raw.get("phrases_female"), cwhere, "phrases_female"),
                sources=tuple(_parse_source(s, cwhere, packages) for s in sources),
                exclude=_str_list(raw.get("exclude"), cwhere, "exclude"),
                audioset=_parse_audioset(raw.get("audioset"), cwhere),
            )
        )
    if not classes:
        _fail(where, "no classes")
    return ClassTable(packages, tuple(classes), table_name)


def _read_yaml(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({exc})") from None


def load_class_table(path: str | Path | None = None, name: str = "base") -> ClassTable:
    """Load a shipped table by ``name`` (``base``, ``world``), or the file ``path``, and validate it.

    A multi-file table merges its files in order: their packages (a package defined twice
    is an error) and their classes (base classes first, unchanged).
    """
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: class table not found")
        return parse_class_table(_read_yaml(path.read_text(), str(path)), str(path))
    if name not in TABLE_FILES:
        raise ConfigError(f"unknown class table {name!r}; choose one of {', '.join(TABLE_FILES)}")
    merged: dict[str, Any] = {"packages": {}, "classes": []}
    for file in TABLE_FILES[name]:
        where = f"wstag/scapes/{file}"
        data = _read_yaml(resources.files("wstag.scapes").joinpath(file).read_text(), where)
        if not isinstance(data, dict) or "classes" not in data or "packages" not in data:
            _fail(where, "expected a mapping with 'packages' and 'classes'")
        for pkg, info in (data["packages"] or {}).items():
            if pkg in merged["packages"]:
                _fail(where, f"package {pkg!r} is already defined by an earlier file of table {name!r}")
            merged["packages"][pkg] = info
        merged["classes"] += data["classes"] or []
    return parse_class_table(merged, " + ".join(f"wstag/scapes/{f}" for f in TABLE_FILES[name]), name)


@dataclass(frozen=True)
class ResolvedFile:
    """A concrete audio file for a class, with the source attributes it came from."""

    class_name: str
    source: str  # "package:relative/path"
    path: Path
    spec: SourceSpec


def list_package_files(root: Path) -> list[str]:
    """Relative POSIX paths of every file under a package root (sorted, stable)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def resolve_sources(
    table: ClassTable, sources_root: Path, audio_suffixes: tuple[str, ...]
) -> dict[str, list[ResolvedFile]]:
    """Match every source pattern against the unpacked packages.

    A pattern that matches nothing is an error (the table and the packages disagree).
    A file claimed by two classes is an error too: one recording, one label.
    """
    listings: dict[str, list[str]] = {}
    out: dict[str, list[ResolvedFile]] = {}
    owner: dict[str, str] = {}
    for cls in table.classes:
        files: list[ResolvedFile] = []
        for spec in cls.sources:
            root = sources_root / spec.package
            if spec.package not in listings:
                if not root.is_dir():
                    raise ConfigError(f"class {cls.name!r}: package {spec.package!r} is not fetched ({root} missing); run `wstag data fetch`")
                listings[spec.package] = [
                    f for f in list_package_files(root) if f.lower().endswith(audio_suffixes)
                ]
            hits = [f for f in listings[spec.package] if fnmatch.fnmatchcase(f, spec.pattern)]
            hits = [f for f in hits if not any(fnmatch.fnmatchcase(f, ex) for ex in cls.exclude)]
            if not hits:
                raise ConfigError(f"class {cls.name!r}: source {spec.package}:{spec.pattern} matches no audio file")
            if spec.max_files is not None and len(hits) > spec.max_files:
                # Deterministic, evenly spread subset of a huge glob.
                step = len(hits) / spec.max_files
                hits = [hits[int(i * step)] for i in range(spec.max_files)]
            for rel in hits:
                source = f"{spec.package}:{rel}"
                if owner.get(source, cls.name) != cls.name:
                    raise ConfigError(f"{source} is claimed by classes {owner[source]!r} and {cls.name!r}")
                if source in owner:
                    continue
                owner[source] = cls.name
                files.append(ResolvedFile(cls.name, source, root / rel, spec))
        out[cls.name] = files
    return out
