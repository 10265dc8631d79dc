"""The README's main job: from nothing to a trained, evaluated grounding model.

Fetch the sound bank (if absent), build the `small` corpus, train phrase-level WSTAG
with the CPU model, train it again with itself as the self-supervision teacher (paper
Eq. 9-10: the learning ladder's best measured recipe, ``reports/learning.md``), evaluate
both on the test split with both controls, and write a short report with one grounding
plot. Every step reuses what an earlier run left.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from wstag.data.audiogrounding import read_v2
from wstag.data.corpus import Corpus
from wstag.errors import ConfigError
from wstag.experiments.ship import measures_wordings, text_encoder_kind
from wstag.files import atomic_open, write_json
from wstag.inference.evaluate import METRIC_KEYS, evaluate_model
from wstag.scapes.build import build_corpus
from wstag.scapes.pipeline import prepare_bank
from wstag.shipped import CONFIG_DIR
from wstag.training.config import load_experiment, parse_experiment
from wstag.training.run import finished_run, train

#: The demo's recipe with the MiniLM text encoder: better than word embeddings on every seed
#: measured (results/demo_small_cpu.md), and it answers words no caption used.
DEMO_CONFIG = CONFIG_DIR / "phrase_random_cpu_minilm.yaml"  # package data: found in an installed wheel too
#: The student: the same recipe, with the trained demo model as its self-supervision teacher.
SELF_SUPERVISION = ("training.regime=self_supervised",)


def student_overrides(overrides: list[str], teacher_dir: Path) -> list[str]:
    """The demo's overrides for the self-supervised student of the model in ``teacher_dir``."""
    return [*overrides, *SELF_SUPERVISION, f"training.teacher={teacher_dir}"]


@dataclass(frozen=True)
class DemoResult:
    report: Path
    metrics: dict
    seconds: dict[str, float]
    peak_rss_mb: dict[str, float]  # the process's peak resident memory at the end of each step


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _plot_example(model_dir: Path, corpus: Path, out: Path) -> Path:
    """Ground the phrases of the first test clip with a short phrase and plot them."""
    from wstag.inference.grounder import Grounder
    from wstag.inference.plot import plot_grounding

    clips = read_v2(Corpus(corpus).labels("test"), require_segments=True)
    clip = next((c for c in clips if any(p.is_short(10.0) for p in c.phrases)), clips[0])
    grounder = Grounder(model_dir)
    audio = corpus / "test" / "audio" / clip.audio_id
    results = grounder.ground(audio, [p.text for p in clip.phrases])
    reference = {p.text: [(s.onset, s.offset) for s in p.segments] for p in clip.phrases}
    return plot_grounding(audio, results, grounder.front_end, out, reference=reference, title=clip.caption)


def write_report(out_dir: Path, metrics: dict, seconds: dict[str, float], train_info: dict, plot: Path,
                 peak_rss: dict[str, float], teacher_metrics: dict | None = None) -> Path:
    """The demo's report; with ``teacher_metrics`` the table shows the teacher beside the self-supervised model."""
    if teacher_metrics is None:
        header = "| metric (test split, %) | value |\n|---|---|"
        rows = "\n".join(f"| {k} | {metrics[k]:.1f} |" for k in METRIC_KEYS)
        recipe = ""
    else:
        header = ("| metric (test split, %) | with self-supervision (the model) | its teacher |\n"
                  "|---|---|---|")
        rows = "\n".join(f"| {k} | {metrics[k]:.1f} | {teacher_metrics[k]:.1f} |" for k in METRIC_KEYS)
        recipe = (", then trained again with that model as its self-supervision teacher (paper Eq. 9-10; "
                  "the better recipe over 6 seeds in `reports/learning.md`)")
    unseen = ""
    if "psds_whole_unseen_wording" in metrics:  # an open-vocabulary model, evaluated with --wordings too
        unseen = (f"\nWith a held-out wording of each pair's class (words no training caption used, "
                  f"`wstag/scapes/wordings.yaml`): PSDS whole {metrics['psds_whole_unseen_wording']:.1f}, "
                  f"{metrics['unseen_to_seen_percent']:.1f} % of the captions' own wordings.\n")
    steps = "\n".join(f"| {k} | {v:.0f} s | {peak_rss[k]:,.0f} MiB |" for k, v in seconds.items())
    text = f"""# wstag demo report

Phrase-level WSTAG (random negative sampling, linear-softmax pooling, CPU-sized CRNN,
{train_info['text_encoder']} text encoder) trained on the embedded `small` corpus{recipe}, evaluated
on its test split (SPEC 3).

{header}
{rows}
{unseen}
Pairs evaluated: {metrics['n_pairs_whole']} whole, {metrics['n_pairs_short']} short.
Controls: *wrong query* scores each pair with a phrase of a class absent from the clip;
*loudness* uses per-frame loudness as the score, with no model.

Training: {train_info['epochs']} epochs, best {train_info['monitor']} {train_info['best_score']:.4f},
data loading {100 * train_info['data_loading_share']:.1f} % of training wall time.

| step | wall time | peak resident memory so far |
|---|---|---|
{steps}

![grounding example]({plot.name})
"""
    path = out_dir / "report.md"
    with atomic_open(path) as fh:
        fh.write(text)
    return path


def _check_same_config(run_dir: Path, want: str) -> None:
    """Refuse to reuse a finished run of another config (an older demo, or other --epochs).

    A model folder from before config hashes were recorded is judged by the experiment
    config it saved, hashed as today's configs are.
    """
    info = json.loads((run_dir / "model" / "config.json").read_text())
    saved = info.get("config_hash")
    if saved is None:
        try:
            saved = parse_experiment(info["experiment"], str(run_dir / "model" / "config.json")).hash()
        except (KeyError, TypeError, ConfigError):
            saved = "unknown"
    if saved != want:
        raise ConfigError(f"{run_dir} holds a finished run of another config (hash {saved}, the demo's is {want}): "
                          f"delete it, or give --out another folder")


def run_demo(
    out_dir: Path,
    cache: Path | None = None,
    seed: int = 0,
    minutes: float | None = None,
    epochs: int | None = None,
    log: Callable[[str], None] | None = None,
    progress: Callable | None = None,
    self_supervision: bool = True,
) -> DemoResult:
    """The main job in ``out_dir``; ``minutes`` and ``epochs`` apply to each training (teacher and student)."""
    say = log or (lambda m: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    peak: dict[str, float] = {}

    t = time.perf_counter()
    bank, _ = prepare_bank(cache, log=say, progress=progress)
    seconds["fetch sound bank"] = time.perf_counter() - t
    peak["fetch sound bank"] = peak_rss_mb()
    say(f"[fetch] done in {seconds['fetch sound bank']:.1f} s")

    t = time.perf_counter()
    corpus = build_corpus(bank, "small", out_dir / "corpus", seed=0, progress=progress)
    seconds["build small corpus"] = time.perf_counter() - t
    peak["build small corpus"] = peak_rss_mb()
    say(f"[build] done in {seconds['build small corpus']:.1f} s (hash {corpus.content_hash})")

    overrides = [f"training.seed={seed}"]
    if minutes is not None:
        overrides.append(f"training.max_minutes={minutes}")
    if epochs is not None:
        overrides.append(f"training.max_epochs={epochs}")
    def train_once(config_overrides: list[str], run_dir: Path, step: str):
        config = load_experiment(DEMO_CONFIG, config_overrides)
        t = time.perf_counter()
        result = finished_run(run_dir)
        if result is not None:  # resuming it would train a second budget on top of the first
            _check_same_config(run_dir, config.hash())
            say(f"[train] reusing the finished run in {run_dir} (delete it to train again)")
        else:
            result = train(config, corpus.path, run_dir, progress=progress, log=say,
                           enable_progress_bar=progress is not None)
        seconds[step] = time.perf_counter() - t
        peak[step] = peak_rss_mb()
        say(f"[train] {step} done in {seconds[step]:.1f} s")
        return result

    teacher = train_once(overrides, out_dir / f"run-seed{seed}", "features + training")
    result = teacher
    if self_supervision:
        result = train_once(student_overrides(overrides, teacher.model_dir), out_dir / f"run-seed{seed}-self",
                            "training with self-supervision")

    t = time.perf_counter()
    saved = json.loads((result.model_dir / "config.json").read_text())
    metrics = evaluate_model(result.model_dir, corpus.path, "test", progress=progress,
                             wordings=measures_wordings(saved))
    teacher_metrics = None
    if self_supervision:  # what the student adds: the teacher on the same split, without the wordings
        teacher_metrics = evaluate_model(teacher.model_dir, corpus.path, "test", progress=progress)
    plot = _plot_example(result.model_dir, corpus.path, out_dir / f"grounding-seed{seed}.png")
    seconds["evaluation + plot"] = time.perf_counter() - t
    peak["evaluation + plot"] = peak_rss_mb()
    say(f"[evaluate] done in {seconds['evaluation + plot']:.1f} s")

    info = {"epochs": result.epochs, "monitor": result.monitor, "seed": seed,
            # a reused run from before provenance was recorded says null, not today's values
            "config_hash": saved.get("config_hash"), "code_commit": saved.get("code_commit"),
            "corpus_hash": corpus.content_hash,
            "train_seconds": result.seconds,
            "best_score": result.best_score if result.best_score is not None else float("nan"),
            "data_loading_share": result.data_loading_share,
            "text_encoder": "MiniLM" if text_encoder_kind(saved) == "minilm" else "word-embedding",
            "self_supervised": self_supervision}
    report = write_report(out_dir, metrics, seconds, info, plot, peak, teacher_metrics)
    write_json(out_dir / f"metrics-seed{seed}.json", {"metrics": metrics, "teacher_metrics": teacher_metrics,
                                                      "seconds": seconds, "peak_rss_mb": peak, "train": info})
    return DemoResult(report, metrics, seconds, peak)
