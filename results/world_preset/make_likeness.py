"""Write results/world_preset/likeness.{md,json}: the world preset beside small and the real labels (issue 27, item 4).

Run from the repository root after building both corpora and measuring their negatives:
    wstag data build --preset small --out SMALL --seed 0
    wstag data build --preset world --out WORLD --seed 0      (twice, into WORLD and WORLD2, for the hash)
    wstag experiments negative-similarity ../shared/data/audiogrounding-v1/train.json SMALL WORLD \
        --out results/world_preset/negative-similarity.json
    python results/world_preset/make_likeness.py --variants SCRATCH   (optional: other mixings, 5 builds)
    python results/world_preset/make_likeness.py SMALL WORLD WORLD2

Every figure of a corpus is read from its labels (train split unless said): the caption phrases and
their classes (`phrase_classes`), the audible classes (`classes_present`). The real labels have no
classes: a phrase's class is the one the caption-frequencies study trusts it to name
(results/caption_frequencies/audiogrounding-v1-world.json with world-checks.yaml), so their
classes per clip count only the 62 % of phrases that map. The loudness control is
`wstag.inference.evaluate.loudness_control`: per-frame loudness as every test pair's score, no model,
on the shipped models' frame grid (what `wstag evaluate` reports as psds_whole_loudness).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

from wstag.audio.frames import FrameGrid
from wstag.data.audiogrounding import read_v1, read_v2
from wstag.experiments.caption_frequencies import load_checks, trusted_class
from wstag.inference.evaluate import loudness_control
from wstag.scapes.classtable import load_class_table
from wstag.scapes.frequencies import load_frequencies
from wstag.scapes.mixing import MixConfig

CHAINED = (*MixConfig().chain_classes, "male_speech", "female_speech")

OUT = Path("results/world_preset")
REAL = Path("../shared/data/audiogrounding-v1")
STUDY = Path("results/caption_frequencies/audiogrounding-v1-world.json")
CHECKS = Path("results/caption_frequencies/world-checks.yaml")
NEGATIVES = OUT / "negative-similarity.json"
VARIANTS = OUT / "mixing-variants.json"
#: World corpora with other mixings than the preset's (MixConfig fields changed), measured by --variants
MIXINGS = {
    "small's mixing (speech classes not chained)": {},
    "the preset: male_speech, female_speech chained": {"chain_classes": CHAINED},
    "fewer events per clip (mean 2.35)": {"n_events_weights": (0.2, 0.4, 0.25, 0.15)},
    "fewer events, speech classes chained": {"n_events_weights": (0.2, 0.4, 0.25, 0.15), "chain_classes": CHAINED},
    "fewer events (mean 2.02), long engines, trains, aircraft and sirens": {
        "n_events_weights": (0.30, 0.45, 0.18, 0.07),
        "chain_classes": (*CHAINED, "vehicle_engine", "train", "aircraft", "siren")},
}


def corpus_figures(folder: Path) -> dict:
    info = json.loads((folder / "corpus.json").read_text())
    train = json.loads((folder / "train" / "labels.json").read_text())
    per_class, wordings = Counter(), defaultdict(set)
    captioned, audible, phrases = [], [], []
    for clip in train:
        classes = clip["phrase_classes"]
        phrases.append(len(classes))
        captioned.append(len(set(classes)))
        audible.append(len(clip["classes_present"]))
        per_class.update(set(classes))  # clips that name the class
        for p, k in zip(clip["phrases"], classes):
            wordings[k].add(p["phrase"])
    test = read_v2(folder / "test" / "labels.json", require_segments=True)
    loudness = loudness_control(test, folder / "test" / "audio", FrameGrid())
    real_worded = {n for n, ws in load_frequencies(load_class_table(name="world")).wordings.items() if ws}
    classes = [k for clip in train for k in clip["phrase_classes"]]
    held = json.loads((folder / "wordings.json").read_text())["wordings"]
    counts = sorted(per_class.values(), reverse=True)
    splits = {s: sorted({k for c in json.loads((folder / s / "labels.json").read_text()) for k in c["classes_present"]})
              for s in ("train", "val", "test")}
    return {
        "preset": info["preset"], "content_hash": info["content_hash"], "sizes": info["sizes"],
        "phrases_per_clip": statistics.mean(phrases), "classes_per_clip": statistics.mean(captioned),
        "audible_classes_per_clip": statistics.mean(audible),
        "classes_named": len(per_class), "most": counts[0], "least": counts[-1],
        "top_class": per_class.most_common(1)[0][0], "top_share_of_clips": counts[0] / len(train),
        "wordings_per_class": _spread([len(v) for v in wordings.values()]),
        "short_share_train": info["stats"]["train"]["short_share"], "short_share_test": info["stats"]["test"]["short_share"],
        "loudness_psds_test": loudness, "classes_per_split": {s: len(v) for s, v in splits.items()},
        # the world preset captions a class the real labels name with their wordings only
        "real_wording_share": (sum(k in real_worded for k in classes) / len(classes)
                               if "frequencies" in info else 0.0),
        "held_out_wordings": {"classes": len(held), "wordings": sum(map(len, held.values()))},
        "template_classes": len({c.name for c in load_class_table(name="world").classes} - real_worded),
    }


def _spread(values: list[int]) -> dict:
    return {"mean": statistics.mean(values), "median": statistics.median(values), "min": min(values), "max": max(values)}


def real_figures() -> dict:
    study = json.loads(STUDY.read_text())
    checks = load_checks(CHECKS, load_class_table(name="world"))
    nearest = {r["phrase"]: (r["class"], r["similarity"]) for r in study["phrases"]}
    train = read_v1(REAL / "train.json")
    clips = train + read_v1(REAL / "val.json")
    per_class, wordings = Counter(), defaultdict(set)
    captioned, phrases, short, total = [], [], 0, 0
    for i, clip in enumerate(clips):
        texts = [p.text.strip().lower() for p in clip.phrases]
        classes = [trusted_class(t, *nearest[t], checks) for t in texts]
        phrases.append(len(texts))
        named = {k for k in classes if k}
        captioned.append(len(named))
        per_class.update(named)
        for t, k in zip(texts, classes):
            if k and i < len(train):
                wordings[k].add(t)
        short += sum(p.is_short(10.0) for p in clip.phrases)
        total += len(clip.phrases)
    counts = sorted(per_class.values(), reverse=True)
    return {
        "clips": len(clips), "phrases_per_clip": statistics.mean(phrases),
        "classes_per_clip": statistics.mean(captioned), "classes_named": len(per_class),
        "most": counts[0], "least": counts[-1], "top_class": per_class.most_common(1)[0][0],
        "top_share_of_clips": counts[0] / len(clips),
        "wordings_per_class": _spread([len(v) for v in wordings.values()]),
        "short_share": short / total,
    }


def main(small: Path, world: Path, world_again: Path | None = None) -> None:
    figures = {"real": real_figures(), "small": corpus_figures(small), "world": corpus_figures(world)}
    negatives = json.loads(NEGATIVES.read_text())["sets"]
    share = {k: next(v["share_within_tau"]["0.5"] for p, v in negatives.items() if cond(p))
             for k, cond in (("real", lambda p: p.endswith(".json")), ("small", lambda p: Path(p) == small),
                             ("world", lambda p: Path(p) == world))}
    for k, v in share.items():
        figures[k]["negatives_within_0.5"] = v
    again = json.loads((world_again / "corpus.json").read_text())["content_hash"] if world_again else None
    figures["world"]["content_hash_again"] = again
    mixings = json.loads(VARIANTS.read_text()) if VARIANTS.is_file() else {}
    (OUT / "likeness.json").write_text(json.dumps({**figures, "mixings": mixings}, indent=1) + "\n")
    text = format_report(figures, mixings)
    (OUT / "likeness.md").write_text(text)
    print(text)


def format_table(f: dict) -> str:
    r, s, w = f["real"], f["small"], f["world"]

    def wd(x: dict) -> str:
        d = x["wordings_per_class"]
        return f"{d['mean']:.1f} (median {d['median']:g}, {d['min']} to {d['max']})"

    rows = [
        ("clips (train)", f"{r['clips']} (train + val)", s["sizes"]["train"], w["sizes"]["train"]),
        ("phrases per clip", f"{r['phrases_per_clip']:.2f}", f"{s['phrases_per_clip']:.2f}", f"{w['phrases_per_clip']:.2f}"),
        ("classes per clip (captioned)", f"{r['classes_per_clip']:.2f} (mapped phrases only)",
         f"{s['classes_per_clip']:.2f}", f"{w['classes_per_clip']:.2f}"),
        ("classes per clip (audible)", "-", f"{s['audible_classes_per_clip']:.2f}", f"{w['audible_classes_per_clip']:.2f}"),
        ("classes named", r["classes_named"], s["classes_named"], w["classes_named"]),
        ("imbalance: clips naming the most / the least named class",
         f"{r['most']} / {r['least']} = {r['most'] / r['least']:.0f}x", f"{s['most']} / {s['least']} = {s['most'] / s['least']:.1f}x",
         f"{w['most']} / {w['least']} = {w['most'] / w['least']:.0f}x"),
        ("most named class (share of clips)", f"{r['top_class']} ({r['top_share_of_clips']:.0%})",
         f"{s['top_class']} ({s['top_share_of_clips']:.0%})", f"{w['top_class']} ({w['top_share_of_clips']:.0%})"),
        ("distinct wordings per class (train)", wd(r), wd(s), wd(w)),
        ("phrases in the real annotators' words", "all", "none (the table's templates)",
         f"{w['real_wording_share']:.1%} (the rest: templates of {w['template_classes']} classes the labels never name)"),
        ("random negatives within cosine 0.5 of a positive", f"{r['negatives_within_0.5']:.1%}",
         f"{s['negatives_within_0.5']:.1%}", f"{w['negatives_within_0.5']:.1%}"),
        ("short-phrase share", f"{r['short_share']:.1%} (10 s clips assumed)",
         f"{s['short_share_train']:.1%} train, {s['short_share_test']:.1%} test",
         f"{w['short_share_train']:.1%} train, {w['short_share_test']:.1%} test"),
        ("loudness control, PSDS whole (test)", "- (no audio)", f"{s['loudness_psds_test']:.1f}", f"{w['loudness_psds_test']:.1f}"),
        ("held-out wordings (wordings.json)", "-",
         f"{s['held_out_wordings']['wordings']} for {s['held_out_wordings']['classes']} classes",
         f"{w['held_out_wordings']['wordings']} for {w['held_out_wordings']['classes']} classes"),
        ("classes audible in train / val / test", "-", " / ".join(str(v) for v in s["classes_per_split"].values()),
         " / ".join(str(v) for v in w["classes_per_split"].values())),
        ("content hash", "-", s["content_hash"], f"{w['content_hash']}" + (
            f" (a second build: {w['content_hash_again']})" if w.get("content_hash_again") else "")),
    ]
    lines = ["| | real AudioGrounding v1 labels | small | world |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines) + "\n"


def format_mixings(mixings: dict) -> str:
    lines = ["| world corpus mixing | classes per clip | short-phrase share | most named class's share of clips | "
             "negatives within 0.5 | loudness PSDS | content hash |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {n} | {m['classes_per_clip']:.2f} | {m['short_share_train']:.1%} | {m['top_share_of_clips']:.0%} | "
              f"{m['negatives_within_0.5']:.1%} | {m['loudness_psds_test']:.1f} | {m['content_hash']} |"
              for n, m in mixings.items()]
    return "\n".join(lines) + "\n"


def format_report(f: dict, mixings: dict) -> str:
    head = (Path(__file__).parent / "likeness_notes.md").read_text()
    parts = [head.replace("{TABLE}", format_table(f)).replace("{MIXINGS}", format_mixings(mixings) if mixings
                                                               else "(not measured: run with --variants)\n")]
    return "".join(parts)


def variants(scratch: Path) -> None:
    """Build the world preset with each of MIXINGS and measure what its mixing moves."""
    from dataclasses import replace

    from wstag.data.audiogrounding import read_weak_v2
    from wstag.experiments.sampling_diagnosis import similar_negative_share
    from wstag.scapes.bank import load_bank
    from wstag.scapes.build import build_corpus
    from wstag.scapes.fetch import default_cache_dir
    from wstag.text.sbert import sbert_embedder

    bank = load_bank(default_cache_dir(), load_class_table(name="world"))
    out = {}
    for i, (name, fields) in enumerate(MIXINGS.items()):
        folder = scratch / f"world-mixing-{i}"
        info = build_corpus(bank, "world", folder, seed=0, config=replace(MixConfig(), **fields), force=True)
        train = json.loads((folder / "train" / "labels.json").read_text())
        test = read_v2(folder / "test" / "labels.json", require_segments=True)
        share = similar_negative_share(read_weak_v2(folder / "train" / "weak.json"), sbert_embedder())
        named = Counter(k for c in train for k in set(c["phrase_classes"]))
        out[name] = {"fields": {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()},
                     "content_hash": info.content_hash,
                     "classes_per_clip": statistics.mean(len(set(c["phrase_classes"])) for c in train),
                     "short_share_train": info.stats["train"]["short_share"],
                     "top_share_of_clips": named.most_common(1)[0][1] / len(train),
                     "negatives_within_0.5": share["share_within_tau"]["0.5"],
                     "loudness_psds_test": loudness_control(test, folder / "test" / "audio", FrameGrid())}
        print(name, out[name])
    VARIANTS.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--variants"] and len(sys.argv) == 3:
        variants(Path(sys.argv[2]))
        sys.exit(0)
    args = [Path(a) for a in sys.argv[1:]]
    if len(args) not in (2, 3):
        sys.exit(__doc__)
    main(*args)
