"""One call from nothing to a ready sound bank: fetch packages, then decode the bank.

Both steps reuse what the cache already holds: packages by their `.completed`
markers, the bank by the hash of the class table it was built from.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Iterable

from wstag.files import write_json
from wstag.scapes.bank import MANIFEST_VERSION, SoundBank, bank_folder, build_bank, load_bank
from wstag.scapes.classtable import ClassTable, load_class_table
from wstag.scapes.fetch import DEBIAN_PACKAGES, WORLD_PACKAGES, FetchedPackage, default_cache_dir, fetch_all


def table_fingerprint(table: ClassTable) -> str:
    """Changes when the class table or the bank's storage version changes."""
    return hashlib.sha256(f"{MANIFEST_VERSION}|{table!r}".encode()).hexdigest()[:16]


def prepare_bank(
    cache: Path | None = None,
    debs_dir: Path | None = None,
    table: ClassTable | None = None,
    log: Callable[[str], None] | None = None,
    progress: Callable[..., Iterable] | None = None,
    rebuild: bool = False,
) -> tuple[SoundBank, list[FetchedPackage]]:
    """Fetch what is missing and (re)build the bank when the class table changed."""
    cache = Path(cache) if cache else default_cache_dir()
    table = table or load_class_table()
    say = log or (lambda msg: None)
    used = {s.package for c in table.classes for s in c.sources}
    debian = [p for p in DEBIAN_PACKAGES + WORLD_PACKAGES if p in used]
    pypi = {name: info.version for name, info in table.packages.items() if info.origin == "pypi" and name in used}
    fetched = fetch_all(cache, debs_dir, debian, pypi, progress=say)
    stamp = cache / bank_folder(table) / "table.json"
    fp = table_fingerprint(table)
    if not rebuild and stamp.is_file() and json.loads(stamp.read_text()).get("table") == fp:
        try:
            return load_bank(cache, table), fetched
        except Exception:  # a corrupt manifest is rebuilt below
            pass
    say("decoding the curated recordings into the sound bank")
    bank = build_bank(table, cache, progress=progress, log=say)
    write_json(stamp, {"table": fp, "content_hash": bank.content_hash}, indent=None)
    return bank, fetched
