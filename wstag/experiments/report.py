"""REPORT.md for a group of rows: our mean and spread over seeds beside the paper's figures.

Every figure here is read from the row-seed JSON files the runner wrote; nothing is
typed in by hand except the paper's published numbers (in the group's rows).
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from wstag.experiments.runner import GroupRun, Row
from wstag.files import atomic_open

FIGURES = ("psds_whole", "th_auc_whole", "psds_short", "th_auc_short")
CONTROLS = ("psds_whole_wrong_query", "specificity", "psds_whole_loudness")


def mean_sd(results: Sequence[dict], key: str) -> tuple[float, float, int]:
    """Mean, sample standard deviation (0 for one seed) and count of a metric over seeds."""
    values = [r["metrics"][key] for r in results if not math.isnan(r["metrics"].get(key, math.nan))]
    if not values:
        return math.nan, math.nan, 0
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values)


def seed_spread(results: Mapping[str, list[dict]], key: str) -> float | None:
    """The pooled standard deviation of ``key`` across seeds of one row, over every row with
    two seeds or more: how far one seed's figure strays by chance. None without such a row."""
    dof, total = 0, 0.0
    for rs in results.values():
        _, sd, n = mean_sd(rs, key)
        if n > 1:
            dof, total = dof + n - 1, total + (n - 1) * sd ** 2
    return math.sqrt(total / dof) if dof else None


def cell(results: Sequence[dict], key: str) -> str:
    m, sd, n = mean_sd(results, key)
    if n == 0:
        return "-"
    return f"{m:.1f} ± {sd:.1f}" if n > 1 else f"{m:.1f}"


def figures_table(rows: Sequence[Row], results: Mapping[str, list[dict]]) -> str:
    """The paper's layout: each figure as ours (mean ± sd over seeds) / the paper's."""
    head = ("| | approach | seeds | PSDS whole | Th-AUC whole | PSDS short | Th-AUC short |\n"
            "|---|---|---|---|---|---|---|")
    lines, section = [head], None
    for row in rows:
        rs = results.get(row.key, [])
        cells = []
        for i, key in enumerate(FIGURES):
            paper = f"{row.paper[i]:.1f}" if row.paper and not math.isnan(row.paper[i]) else "-"
            cells.append(f"{cell(rs, key)} / {paper}")
        shown = row.section if row.section != section else ""
        section = row.section
        lines.append(f"| {shown} | {row.label} | {len(rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: epochs over which ``curve_cell`` measures whether the validation metric still moved
CURVE_TAIL = 3


def curve_cell(results: Sequence[dict]) -> str:
    """The monitored validation metric at the last epoch and its change over the last
    ``CURVE_TAIL`` epochs (means over seeds): a row still improving when it stopped was
    cut by its epoch budget, not converged. "-" for rows whose JSON has no curve."""
    curves = [r["val_curve"] for r in results if len(r.get("val_curve", {}).get("values") or []) > CURVE_TAIL]
    curves = [c for c in curves if None not in (c["values"][-1], c["values"][-1 - CURVE_TAIL])]
    if not curves:
        return "-"
    last = statistics.fmean(c["values"][-1] for c in curves)
    change = statistics.fmean(c["values"][-1] - c["values"][-1 - CURVE_TAIL] for c in curves)
    return f"{curves[0]['metric'].split('/')[-1]} {last:.3f} ({change:+.3f})"


def controls_table(rows: Sequence[Row], results: Mapping[str, list[dict]]) -> str:
    head = ("| approach | wrong-query PSDS | specificity | loudness PSDS | epochs | "
            f"validation: last epoch (change over {CURVE_TAIL}) | train min / seed (median) |\n"
            "|---|---|---|---|---|---|---|")
    lines = [head]
    for row in rows:
        rs = results.get(row.key, [])
        if not rs:
            lines.append(f"| {row.label} ({row.key}) | - | - | - | - | - | - |")
            continue
        epochs = sorted({r["epochs"] for r in rs})
        minutes = statistics.median(r["train_seconds"] for r in rs) / 60  # as the group's time: a contended seed aside
        lines.append(f"| {row.label} ({row.key}) | " + " | ".join(cell(rs, k) for k in CONTROLS)
                     + f" | {'/'.join(map(str, epochs))} | {curve_cell(rs)} | {minutes:.1f} |")
    return "\n".join(lines)


def provenance(results: Mapping[str, list[dict]]) -> str:
    done = [r for rs in results.values() for r in rs]
    if not done:
        return "No row has finished yet."
    corpora = sorted({str(r.get("corpus_hash")) for r in done})
    commits = sorted({_short_commit(str(r.get("code_commit"))) for r in done})
    dirty = sum(str(r.get("code_commit", "")).endswith("-dirty") for r in done)
    devices = sorted({r.get("device", "?") for r in done})
    pairs = sorted({r["metrics"].get("n_pairs_whole") for r in done if r["metrics"].get("n_pairs_whole")})
    short = sorted({r["metrics"].get("n_pairs_short") for r in done if r["metrics"].get("n_pairs_short")})
    return (f"{len(done)} row-seeds; corpus hash {', '.join(corpora)}; test split {', '.join(map(str, pairs))} "
            f"(clip, phrase) pairs, {', '.join(map(str, short))} of them short; device {', '.join(devices)}; "
            f"code commits {', '.join(commits)}"
            + (f" ({dirty} of {len(done)} row-seeds trained from a working tree with uncommitted changes: "
               f"`-dirty`)" if dirty else "")
            + ". One JSON per row-seed in `rows/` (config and its hash, seed, metrics, epochs, seconds, code "
              "commit, corpus hash; newer rows the path and SHA-256 of their model folder).")


NOT_REPRODUCED = (
    "- Figs. 15 and 16 (qualitative: five predictions of the proposed system; WSTAG against an AudioSet SED "
    "model on a Freesound clip): they need the paper's real clips and an AudioSet-trained SED model, neither "
    "available here; Fig. 14 (one short pair) is drawn from the benchmark instead.\n"
    "- Points the figures leave out: Fig. 7's 5 % share and Fig. 9's n = 128 (each a further row per seed on "
    "2 CPU cores). The plots show our figures only; the paper's are in each table beside ours.")


PER_CLASS = "per-class"  # OUT/per-class.json: `wstag experiments per-class MODELS --out OUT/per-class`
RECORDING_SHIFT = "recording-shift"  # OUT/recording-shift.json: its classes set beside OUT/per-class.json


def per_class_section(out: Path, worst: int = 10) -> str:
    """Which sounds the models still miss, and whether quiet or short ones (``OUT/per-class.json``)."""
    path = out / f"{PER_CLASS}.json"
    if not path.is_file():
        return ""
    from wstag.experiments.per_class import format_study, study_summary

    study = json.loads(path.read_text(encoding="utf-8"))
    lines = "\n".join(f"- {study_summary(name, s)}" for name, s in study.items())
    tables = format_study(study, worst=worst, level=3).split("\n", 2)[2]  # without its own title
    shift = out / f"{RECORDING_SHIFT}.json"
    if shift.is_file():  # why those classes: `wstag experiments recording-shift --per-class OUT/per-class.json`
        from wstag.experiments.recording_shift import shift_summary

        why = "\n".join(f"- {line}" for line in shift_summary(json.loads(shift.read_text(encoding="utf-8"))))
        lines += (f"\n\nWhich classes, and why: how far each class's test recordings sound from its training "
                  f"recordings ([{RECORDING_SHIFT}.md]({RECORDING_SHIFT}.md), level-free log-mel statistics):\n\n{why}")
    return (f"## Per sound class, per loudness and per duration\n\nFrom `{PER_CLASS}.json` (seed-0 models, test "
            f"split; every class in [{PER_CLASS}.md]({PER_CLASS}.md)).\n\n{lines}\n\n{tables}\n")


def _notes(out: Path) -> str:
    """Links to the diagnosis notes in OUT and to the reports of neighbouring study folders."""
    links = [f"- [{p.stem}]({p.name})" for p in sorted(out.glob("*.md")) if p.name != "REPORT.md"]
    links += [f"- [{p.parent.name}]({os.path.relpath(p, out)})" for p in sorted(out.parent.glob("*/REPORT.md"))
              if p.parent != out]
    return "\n".join(links)


def _short_commit(commit: str) -> str:
    """The first 12 hex digits, keeping a ``-dirty`` mark."""
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")


def paired_seeds(results: Mapping[str, list[dict]], a: str, b: str, key: str) -> list[int]:
    """The seeds at which both rows have a ``key`` figure."""
    def seeds(row: str) -> set[int]:
        return {r["seed"] for r in results.get(row, []) if not math.isnan(r["metrics"].get(key, math.nan))}
    return sorted(seeds(a) & seeds(b))


#: two-sided 95 % quantiles of Student's t by degrees of freedom
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


@dataclass(frozen=True)
class Difference:
    """A paired difference ``a - b`` over common seeds with its 95 % interval ``mean ± half``."""

    mean: float
    half: float  # nan: no uncertainty known (one seed and no row with two)
    seeds: int
    method: str  # "t over seeds" or "pooled seed spread"

    @property
    def low(self) -> float:
        return self.mean - self.half

    @property
    def high(self) -> float:
        return self.mean + self.half

    def side(self, threshold: float = 0.0) -> int:
        """+1 / -1 when the whole interval lies above / below ``threshold``; 0 when it holds it (or is unknown)."""
        if math.isnan(self.half):
            return 0
        return 1 if self.low > threshold else -1 if self.high < threshold else 0

    def text(self) -> str:
        if math.isnan(self.half):
            return f"{self.mean:+.1f}, no interval ({self.seeds} seed)"
        return f"{self.mean:+.1f} ± {self.half:.1f}, 95 % interval, {self.seeds} seed{'s' * (self.seeds != 1)}"


def paired_difference(results: Mapping[str, list[dict]], a: str, b: str, key: str,
                      spread_from: Mapping[str, list[dict]] | None = None) -> Difference | None:
    """``a - b`` on ``key`` over the seeds both rows have, with its 95 % interval.

    Three seeds or more: a t-interval over the per-seed differences. Fewer: the normal
    interval of a difference of two means of ``n`` seeds each, from the pooled seed spread
    of every row (sd of a difference of one-seed figures is sqrt(2) sd), or of the rows of
    ``spread_from`` (more rows measured the same way). None when the rows share no seed.
    """
    seeds = paired_seeds(results, a, b, key)
    if not seeds:
        return None
    by = {row: {r["seed"]: r["metrics"][key] for r in results[row]} for row in (a, b)}
    diffs = [by[a][s] - by[b][s] for s in seeds]
    mean, n = statistics.fmean(diffs), len(diffs)
    if n >= 3:
        return Difference(mean, T95.get(n - 1, 1.96) * statistics.stdev(diffs) / math.sqrt(n), n, "t over seeds")
    spread = seed_spread(spread_from if spread_from is not None else results, key)
    half = math.nan if spread is None else 1.96 * spread * math.sqrt(2 / n)
    return Difference(mean, half, n, "pooled seed spread")


def compare(results: Mapping[str, list[dict]], a: str, b: str, key: str) -> float | None:
    """Mean of ``a`` minus mean of ``b`` on ``key`` over the seeds both rows have (a paired
    difference: a row with more seeds is not compared through its other seeds' spread);
    None when they share no seed."""
    seeds = paired_seeds(results, a, b, key)
    if not seeds:
        return None
    ma, _, _ = mean_sd([r for r in results[a] if r["seed"] in seeds], key)
    mb, _, _ = mean_sd([r for r in results[b] if r["seed"] in seeds], key)
    return ma - mb


def plot_group(group, results: Mapping[str, list[dict]], path: Path, metric: str = "psds_short") -> Path | None:
    """The paper's figure for a factor group: ``metric`` (mean, sd bars) against each row's x.

    Numeric x: one line per series; names: grouped bars. None when no row has results.
    """
    if not any(results.get(r.key) for r in group.rows):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = list(dict.fromkeys(r.series for r in group.rows))
    numeric = all(isinstance(r.x, (int, float)) for r in group.rows)
    fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=120)
    names = list(dict.fromkeys(str(r.x) for r in group.rows))
    width = 0.8 / max(len(series), 1)
    for i, name in enumerate(series):
        rows = [r for r in group.rows if r.series == name]
        stats = [(r, *mean_sd(results.get(r.key, []), metric)) for r in rows]
        stats = [t for t in stats if t[3] > 0]
        if not stats:
            continue
        label = name or "ours"
        if numeric:
            stats.sort(key=lambda t: t[0].x)
            ax.errorbar([t[0].x for t in stats], [t[1] for t in stats], yerr=[t[2] for t in stats],
                        marker="o", capsize=3, label=label)
        else:
            xs = [names.index(str(t[0].x)) + (i - (len(series) - 1) / 2) * width for t in stats]
            ax.bar(xs, [t[1] for t in stats], width, yerr=[t[2] for t in stats], capsize=3, label=label)
    if not numeric:
        ax.set_xticks(range(len(names)), names)
    ax.set_xlabel(group.xlabel)
    ax.set_ylabel(metric.replace("psds_", "PSDS ").replace("th_auc_", "Th-AUC ") + " (%)")
    ax.set_title(group.title, fontsize=10)
    ax.grid(alpha=0.3)
    if len(series) > 1 or series[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def group_section(group, results: Mapping[str, list[dict]], out: Path, note: str | None = None) -> str:
    """One group's section: figures beside the paper's, controls, the paper's conclusions measured.
    ``note`` replaces the group's note (whose findings were measured on the main corpus)."""
    note = group.note if note is None else note
    conclusions = "\n".join(f"- {line}" for line in group.conclusions(results))
    plot = plot_group(group, results, out / "figures" / f"{group.name}.png") if group.xlabel else None
    image = f"![{group.title}](figures/{group.name}.png)\n" if plot else ""
    corpus = corpus_figure_text(group, out)
    if not group.rows:
        return f"## {group.title}\n\n{note}\n\n{corpus}\n"
    figures = "\n".join(part for part in (image, corpus) if part)
    return f"""## {group.title}

{note} {group_time(group.rows, results)} {group_seeds(group.rows, results)}

{figures}
Ours (mean ± standard deviation over seeds) / the paper's published figure, in percent.

{figures_table(group.rows, results)}

Controls: wrong-query PSDS scores each test pair with a phrase of a class absent from the
clip; specificity = PSDS whole - wrong-query PSDS; loudness PSDS uses per-frame loudness, no model.
Validation: the metric that picked the best epoch, at the last epoch run; a clear rise over the last
epochs means the epoch budget, not convergence, ended the row.

{controls_table(group.rows, results)}

What the paper concludes, measured here:

{conclusions}
"""


#: a group gets 3 seeds where 3 times its measured one-seed time fits this (the issue's size of a group)
GROUP_BUDGET_MIN = 90
FULL_SEEDS = 3


def one_seed_minutes(rows: Sequence[Row], results: Mapping[str, list[dict]]) -> float:
    """One seed of the rows, run alone: each row's median time over its seeds, summed.

    The median, so that one seed timed beside another job does not inflate the figure.
    """
    return sum(statistics.median(r.get("seconds", r["train_seconds"]) for r in results[row.key])
               for row in rows if results.get(row.key)) / 60


def group_seeds(rows: Sequence[Row], results: Mapping[str, list[dict]]) -> str:
    """How many seeds each row has, and why not 3 where it has fewer.

    A group gets 3 seeds where 3 times its measured one-seed time fits ``GROUP_BUDGET_MIN``;
    otherwise 1 (a row another group shares may have more).
    """
    counts = {row.key: len(results.get(row.key, [])) for row in rows}
    if not any(counts.values()):
        return ""
    by_count: dict[int, list[str]] = {}
    for key, n in counts.items():
        by_count.setdefault(n, []).append(key)
    if len(by_count) == 1:
        n = next(iter(by_count))
        text = f"Every row has {n} seed{'s' * (n != 1)}."
    else:
        parts = [f"{n} for {', '.join(keys)}" for n, keys in sorted(by_count.items(), reverse=True)]
        text = f"Seeds per row: {'; '.join(parts)}."
    if min(counts.values()) >= FULL_SEEDS:
        return text
    three = FULL_SEEDS * one_seed_minutes(rows, results)
    if three > GROUP_BUDGET_MIN:
        return (f"{text} {FULL_SEEDS} seeds of every row would take about {three:.0f} min, over the "
                f"{GROUP_BUDGET_MIN}-minute size of a group: 1 seed (a row another group shares may have more).")
    return f"{text} {FULL_SEEDS} seeds would take about {three:.0f} min; the others are not run yet."


def group_time(rows: Sequence[Row], results: Mapping[str, list[dict]]) -> str:
    """What one seed of the group cost: its rows' training and evaluation time, summed.

    A row shared with an earlier group ran once but counts in each group that lists it,
    so the figure is what the group costs when it is run on its own.
    """
    done = [r for row in rows for r in results.get(row.key, [])]
    if not done:
        return ""
    n_run = sum(1 for row in rows if results.get(row.key))
    epochs = "/".join(str(e) for e in sorted({r["epochs"] for r in done}))
    devices = ", ".join(sorted({r.get("device", "?") for r in done}))
    missing = f"; {len(rows) - n_run} of its {len(rows)} rows not run yet" if n_run < len(rows) else ""
    several = "; a row with several seeds counts its median" if len(done) > n_run else ""
    rows_text = f"{n_run} row{'s' * (n_run != 1)} of {epochs} epochs"
    return (f"One seed of this group on its own: {rows_text}, {one_seed_minutes(rows, results):.0f} min of "
            f"training and evaluation on {devices} (measured{several}){missing}.")


#: a conclusion line as ``groups`` writes it: "claim: holds here (detail)"
VERDICT = re.compile(r"^(?P<claim>.*?): (?P<verdict>holds|does not hold|inconclusive|not measured yet)(?: here)?"
                     r"(?P<detail>.*)$")


SUMMARY_NOTE = ("Each claim is judged on the paired difference over the seeds both sides have, with its "
                "95 % interval: a t-interval over seeds with three seeds or more, else a normal interval "
                "from the pooled seed spread of every row with two seeds or more (the spread of a "
                "difference of two one-seed figures is sqrt(2) times one row's). *holds* and *does not "
                "hold* only when the interval lies on one side of the claim's threshold; *inconclusive* "
                "otherwise. Where the paper's four metrics disagree, the detail says so.")


def summary_table(groups: Sequence, results: Mapping[str, list[dict]]) -> str:
    """Every claim of the paper the groups test, one line each, with its verdict here.

    The issue's own targets (lines starting "Target:") stay in their group's section.
    """
    lines = ["| group | the paper's conclusion | here | measured |", "|---|---|---|---|"]
    for group in groups:
        for line in group.conclusions(results):
            match = VERDICT.match(line)
            if match is None or line.startswith("Target:"):
                continue
            detail = match["detail"].strip().removeprefix("(").removesuffix(")")
            lines.append(f"| {group.title.split(':')[0]} | {match['claim']} | {match['verdict']} | {detail} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def corpus_figure_text(group, out: Path) -> str:
    """The group's corpus and model figures as ``draw_*_figure`` wrote them (empty if not drawn)."""
    names = [f"{group.corpus_figure}_corpus" if group.corpus_figure else None,
             f"{group.model_figure}_models" if group.model_figure else None]
    paths = [Path(out) / "figures" / f"{n}.md" for n in names if n]
    return "\n".join(p.read_text() for p in paths if p.is_file())


def _figure_markdown(figure, folder: Path, name: str) -> Path:
    image = f"![{figure.name}](figures/{figure.png.name})\n\n" if figure.png is not None else ""
    path = folder / f"{name}.md"
    with atomic_open(path) as fh:
        fh.write(f"{image}{figure.markdown}\n\nNumbers: `figures/{figure.json.name}`\n")
    return path


def draw_model_figure(group, data: Path, out: Path, seed: int = 0) -> Path | None:
    """Draw the group's figure of trained models (Fig. 14) once their rows (and model folders) exist."""
    if not group.model_figure:
        return None
    from wstag.experiments import figures

    labels = {r.key: r.label for r in group.rows}
    run = GroupRun(Path(out), Path(out))
    done = {k: run.read(Row(k, "", ""), seed) for k in group.figure_models}
    if any(d is None for d in done.values()):
        return None
    models = {labels[k]: Path(d["model_dir"]) for k, d in done.items()}  # where the runner kept them
    if not all((m / "config.json").is_file() for m in models.values()):
        return None
    folder = Path(out) / "figures"
    name = f"{group.model_figure}_models"
    figure = figures.fig14(data, folder, models, seed=seed, name=name)
    return _figure_markdown(figure, folder, name)


def draw_corpus_figure(group, data: Path, out: Path, clap_folder: Path | None = None) -> Path | None:
    """Draw the group's corpus figure (Figs. 4, 11, 12, 13) into ``OUT/figures`` with its paragraph.

    Sentence-BERT embeds the phrases, and the CLAP too when ``clap_folder`` holds one.
    """
    if not group.corpus_figure:
        return None
    from wstag.experiments import figures
    from wstag.text.sbert import sbert_embedder

    folder = Path(out) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{group.corpus_figure}_corpus"
    clap = clap_folder if clap_folder is not None and Path(clap_folder).is_dir() else None
    if group.corpus_figure == "fig4":
        figure = figures.fig4(data, folder, name=name)
    else:
        make = getattr(figures, group.corpus_figure)
        figure = make(data, folder, {"sbert": sbert_embedder()}, clap_folder=clap, name=name)
    return _figure_markdown(figure, folder, name)


def relink(text: str, out: Path, report_dir: Path) -> str:
    """Rewrite the relative paths in ``text`` (written as seen from ``out``) as seen from
    ``report_dir``: image links, and backticked names of files and folders in ``out``."""
    prefix = Path(os.path.relpath(out, report_dir))
    if prefix == Path("."):
        return text

    def inside(name: str) -> bool:
        return name.startswith("figures/") or (Path(out) / name.rstrip("/")).exists()

    text = re.sub(r"\]\((?!https?:|#|/)([^)\s]+)\)",
                  lambda m: f"]({(prefix / m[1]).as_posix()})" if inside(m[1]) else m[0], text)
    return re.sub(r"`([\w.{}*-]+(?:/[\w.{}*-]*)*)`",
                  lambda m: f"`{(prefix / m[1]).as_posix()}{'/' if m[1].endswith('/') else ''}`"
                  if inside(m[1]) else m[0], text)


def seeds_in(rows_dir: Path) -> list[int]:
    """The seeds of the row-seed files (``KEY-seedN.json``) in ``rows_dir``."""
    return sorted({int(p.stem.rsplit("-seed", 1)[1]) for p in rows_dir.glob("*-seed*.json")})


def beside_sections(beside: Sequence[tuple[str, Sequence, Path]], report_dir: Path) -> tuple[list[str], list[str]]:
    """The sections and summary lines of the same groups run on another corpus (``(label, groups,
    folder)``: e.g. Table II on the `world` preset), each judged on its own rows only."""
    sections, summary = [], []
    for label, groups, folder in beside:
        folder = Path(folder)
        rows_dir = folder / "rows"
        if not rows_dir.is_dir():
            continue
        seeds = seeds_in(rows_dir)
        results = GroupRun(folder, folder).results([r for g in groups for r in g.rows], seeds)
        shown = [g for g in groups if any(results.get(r.key) for r in g.rows)]
        for group in shown:
            note = (f"The rows of the section above, with the same configs and epochs, trained and tested on the "
                    f"{label} corpus; the section above's notes were measured on its own corpus.")
            text = group_section(group, results, folder, note=note).replace(
                f"## {group.title}", f"## {group.title} (on {label})", 1)
            sections.append(relink(text, folder, report_dir))
        if shown:
            sections.append(relink(f"Provenance of the sections on {label}: {provenance(results)}\n", folder, report_dir))
        lines = relink(summary_table(shown, results), folder, report_dir).splitlines()[2:]
        summary += [line.replace("| ", f"| {label}: ", 1) for line in lines]
    return sections, summary


def write_report(groups: Sequence, out: Path, seeds: Sequence[int] | None = None,
                 path: Path | None = None, beside: Sequence[tuple[str, Sequence, Path]] = ()) -> Path:
    """Write the report of the groups (``groups.Group``) whose results are in ``OUT/rows``.

    It goes to ``path`` (default ``OUT/REPORT.md``); its links point into ``OUT`` from there.
    Groups share ``OUT``: a row that two groups list (same key, same config) is run once.
    ``seeds`` limits the seeds read (default: every seed found). ``beside`` adds the sections of
    groups run on other corpora (``(label, groups, folder)``), after this corpus's, and their claims
    to the summary, each judged on its own corpus's rows.
    """
    rows_dir = Path(out) / "rows"
    found = seeds_in(rows_dir) if rows_dir.is_dir() else []
    seeds = list(seeds) if seeds is not None else found
    run = GroupRun(Path(out), Path(out))
    # every group's conclusions see every row: the seed spread they judge margins by is pooled over all
    everything = run.results([r for g in groups for r in g.rows], seeds)
    shown = [g for g in groups if any(everything.get(r.key) for r in g.rows) or corpus_figure_text(g, Path(out))]
    sections = [group_section(group, everything, Path(out)) for group in shown]
    path = Path(path) if path is not None else Path(out) / "REPORT.md"
    summary = summary_table(shown, everything)
    other_sections, other_summary = beside_sections(beside, path.parent)
    if other_summary:
        # relinked twice: harmless, a path already pointing into another folder is not inside OUT
        summary = "\n".join([summary or "| group | the paper's conclusion | here | measured |\n|---|---|---|---|",
                              *other_summary])
    per_class, notes = per_class_section(Path(out)), _notes(Path(out))
    head = [
        "# wstag: the paper's tables on the embedded benchmark\n",
        "Every figure below is read from the row-seed JSON files in `rows/`; the paper's figures "
        "are its published ones. Th-AUC by the paper authors' conventions (SPEC 3; `th_auc_convention` "
        "in each JSON).\n",
        *([f"## Which of the paper's conclusions hold here\n\n{SUMMARY_NOTE}\n\n{summary}\n"] if summary else []),
        *sections,
    ]
    tail = [
        *([per_class] if per_class else []),
        "## What the report does not reproduce\n",
        NOT_REPRODUCED + "\n",
        *([f"## Notes and studies beside the tables\n\n{notes}\n"] if notes else []),
        "## Provenance\n",
        provenance(everything) + "\n",
    ]
    # this corpus's parts are relinked from OUT; the other corpora's sections already were, from theirs
    text = "\n".join([relink("\n".join(head), Path(out), path.parent), *other_sections,
                      relink("\n".join(tail), Path(out), path.parent)])
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as fh:
        fh.write(text)
    return path
