"""Write results/sound_classes/world.md: per class of the world table, its recordings, source
groups, packages and AudioSet label with parents, read from the built world bank's manifest.

Run after `wstag data fetch --table world`:  python results/sound_classes/make_world_table.py
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from wstag.scapes.bank import bank_folder
from wstag.scapes.classtable import load_class_table
from wstag.scapes.fetch import default_cache_dir
from wstag.scapes.ontology import path_text


def main() -> None:
    base = {c.name for c in load_class_table().classes}
    world = load_class_table(name="world")
    manifest = json.loads((default_cache_dir() / bank_folder(world) / "manifest.json").read_text())
    recs = defaultdict(list)
    for r in manifest["recordings"]:
        recs[r["class_name"]].append(r)
    lines = [
        "# The world class table: recordings per class",
        "",
        f"World sound bank (`wstag data fetch --table world`), manifest hash `{manifest['content_hash']}`: "
        f"{len(manifest['recordings'])} recordings in {len(world.classes)} classes "
        f"({len(base)} base classes, unchanged, and {len(world.classes) - len(base)} new ones from "
        "`wstag/scapes/classes_world.yaml`). Recordings are counted after content de-duplication; groups are "
        "the source groups that the train/val/test split keeps apart. The AudioSet path is the class's nearest "
        "label followed by its parents, level by level (`wstag.scapes.ontology`; `wstag data classes --table world "
        "--under Animal` lists the classes under a parent). rain and wind are base classes with fewer recordings or "
        "groups than the rule asks of new classes; they are kept as they are so that small does not change.",
        "",
        "| class | table | recordings | groups | train / val / test | packages | AudioSet label (parents) |",
        "|---|---|---:|---:|---|---|---|",
    ]
    short = []
    for c in world.classes:
        rs = recs.get(c.name, [])
        groups = {r["group"] for r in rs}
        split = "/".join(str(sum(r["split"] == s for r in rs)) for s in ("train", "val", "test"))
        pkgs = ", ".join(sorted({r["package"] for r in rs}))
        label = f"`{c.audioset.id}` {path_text(c)}"
        lines.append(f"| {c.name} | {'base' if c.name in base else 'world'} | {len(rs)} | {len(groups)} | {split} | "
                     f"{pkgs} | {label} |")
        if len(rs) < 5 or len(groups) < 2:
            short.append(c.name)
    new_short = [n for n in short if n not in base]
    lines += ["", f"Classes under 5 recordings or 2 groups: {', '.join(short) if short else 'none'} "
              f"(new classes among them: {', '.join(new_short) if new_short else 'none'}).", ""]
    out = Path(__file__).with_name("world.md")
    out.write_text("\n".join(lines))
    print(f"wrote {out}; short: {short}")


if __name__ == "__main__":
    main()
