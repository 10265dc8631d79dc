"""Write results/sound_classes/world.md: per class of the world table, its recordings, source
groups, packages and AudioSet label with parents, read from the built world bank's manifest.

Run after `wstag data fetch --table world`, optionally with world corpora built twice by
`wstag data build --preset world --seed 0` (their corpus.json gives the content hash):
    python results/sound_classes/make_world_table.py [CORPUS_DIR ...]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from wstag.scapes.bank import bank_folder
from wstag.scapes.classtable import load_class_table
from wstag.scapes.fetch import default_cache_dir
from wstag.scapes.ontology import path_text


SMALL_UNCHANGED = [
    "## small is unchanged",
    "",
    "The base table (`classes.yaml` alone) is pinned by `tests/scapes/test_world.py`: its class list, a digest of "
    "every field that reaches a manifest row or a clip (identical to the table at commit 2055543, before this "
    "work), and its `table_fingerprint` `fb0a67f52bcb8ff1`, the stamp of the cached bank `e0283b36bebece2f` that "
    "the small corpus `c4c3189763fd63c7` was built from, so that bank is reused, not rebuilt. The world bank's "
    "rows of base classes have the same recordings, groups and splits, and all but one are identical field for "
    "field. The exception predates this work: Scratch `Vocals/Oooo-badada.mp3` has a corrupt MP3 frame "
    "(libmpg123 \"dequantization failed\") and decodes today to an active level of -9.37 dB where the cached "
    "base bank, built earlier, holds -9.03 dB, so a fresh rebuild of the base bank on this machine would not "
    "give `e0283b36bebece2f`.",
    "",
]


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
    corpora = [json.loads((Path(d) / "corpus.json").read_text()) for d in sys.argv[1:]]
    if corpora:
        hashes = sorted({c["content_hash"] for c in corpora})
        lines += [
            "## The world preset",
            "",
            "`wstag data build --preset world --out DIR --seed 0` (the world table's classes in AudioCaps' "
            "proportions, captioned with real wordings, " + " / ".join(str(v) for v in corpora[0]["sizes"].values())
            + " clips) gave content hash " + " and ".join(f"`{h}`" for h in hashes)
            + f" from sound bank `{corpora[0]['bank_hash']}` in {len(corpora)} build(s)"
            + (" (identical)" if len(hashes) == 1 and len(corpora) > 1 else "") + "; classes per split: "
            + ", ".join(f"{s} {st['classes']}" for s, st in corpora[0]["stats"].items())
            + ". How it is drawn and how much like the real labels it is: `results/world_preset/likeness.md`.",
            "",
        ]
    lines += SMALL_UNCHANGED
    out = Path(__file__).with_name("world.md")
    out.write_text("\n".join(lines))
    print(f"wrote {out}; short: {short}")


if __name__ == "__main__":
    main()
