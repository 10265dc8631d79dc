"""Run a group of paper rows over seeds under one epoch budget: resumable, one JSON per row-seed.

A row is a config file under ``configs/`` (the paper's setting) plus the budget every
row of a group shares: the same epochs, and on a CPU the ``cpu_fast`` model in float32
on 2 threads with an EMA of the weights, as the demo (``configs/phrase_random_cpu.yaml``
says why). Each row-seed trains into ``WORK/seed{S}/{row}-{config hash}``, so a run that
was cut resumes from its last checkpoint, and a row whose config changed trains afresh
instead of mixing two settings. The finished row-seed is written to
``OUT/rows/{row}-seed{S}.json`` with its config and hash, seed, metrics, epochs, seconds,
code commit, corpus hash, and the path and SHA-256 of its model folder, which stays under
the (git-ignored) ``WORK/models/{row}-seed{S}``: results go into git, weights do not. A
JSON whose config hash still matches (and whose model folder is there) is not run again.

Self-supervised rows take as teacher the model of their ``teacher`` row for the same
seed, so rows run in an order where the teacher comes first. Rows that sample with CLAP
embeddings share one CLAP per seed, trained on the first need (in ``WORK/seed{S}/clap``)
and kept as ``WORK/models/clap-seed{S}`` beside the row models. Only result files go into
git: on another machine a group trains its rows (and CLAPs) again, and the SHA-256 in each
result file says whether a model someone hands over is the one its figures came from.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from typing import TYPE_CHECKING

from wstag.data.corpus import Corpus
from wstag.errors import ConfigError
from wstag.files import write_json
from wstag.provenance import code_commit
from wstag.shipped import CONFIG_DIR  # the rows' configs: package data, so an installed wheel has them

if TYPE_CHECKING:
    from wstag.training.config import ExperimentConfig

# Training, evaluation and config loading import torch and Lightning: they are imported
# where they are used, so that listing the groups (`wstag experiments --help`) stays instant.

#: seconds per epoch assumed for the estimate before any row has finished (measured: the
#: cpu_fast model on `small`, 2 cores, 53-65 s; the paper model on one H200 far less)
DEFAULT_EPOCH_SECONDS = {"cpu": 65.0, "cuda": 15.0}
DEFAULT_EPOCHS = {"cpu": 12, "cuda": 25}


@dataclass(frozen=True)
class Row:
    """One row of a paper table: its config, its label there, and the paper's figures."""

    key: str  # the config's file stem, e.g. "phrase_random_self"
    label: str  # as the paper's table names it
    section: str  # the table's grouping (e.g. "Phrase-level WSTAG")
    paper: tuple[float, float, float, float] | None = None  # PSDS, Th-AUC whole; PSDS, Th-AUC short
    teacher: str | None = None  # key of the row whose model (same seed) is this row's teacher
    config: str | None = None  # the config's file stem when it is not ``key`` (a factor study's row)
    overrides: tuple[str, ...] = ()  # what this row changes in that config (e.g. training.n_phrases=8)
    x: float | str | None = None  # where a figure plots this row (n, tau, data share, a pooling name)
    series: str | None = None  # which line or bar group of that figure
    #: the group's epochs times this (Fig. 7: 1 / data share, so a share gets as many gradient
    #: steps as the full set, and the figure measures data, not a shorter training)
    epoch_scale: float = 1.0
    #: a corpus.json key the corpus must have (a rung that changes the data, e.g. "event_takes": a
    #: corpus from `wstag data build --event-takes`), or "key=value" (e.g. "train_groups=1"), so the
    #: row never runs, mislabelled, on another corpus
    corpus_key: str | None = None

    def epochs(self, budget: int) -> int:
        return max(1, round(budget * self.epoch_scale))

    @property
    def config_path(self) -> Path:
        return CONFIG_DIR / f"{self.config or self.key}.yaml"


def resolve_device(device: str) -> str:
    """"auto" -> "cuda" where a GPU is visible, else "cpu"."""
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu or cuda, got {device!r}")
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def budget_overrides(config: "ExperimentConfig", device: str, epochs: int) -> list[str]:
    """The group's shared budget as config overrides: epochs, and the CPU model on a CPU.

    On a CPU every row gets the demo's recipe (cpu_fast, float32, 2 threads, EMA 0.99);
    rows that sample negatives pick their best epoch by val/tag_auc as the demo does
    (validation loss on unseen recordings is flat and noisy); the others have only
    val/loss. Early stopping keeps the config's patience. On a GPU the paper model.
    """
    from wstag.training.config import SAMPLED_REGIMES

    out = [f"training.max_epochs={epochs}"]
    if device == "cpu":
        out += ["model.preset=cpu_fast", "training.precision=32", "training.threads=2", "training.ema_decay=0.99"]
        if config.training.regime in SAMPLED_REGIMES:
            out.append("training.monitor=val/tag_auc")
    else:
        out += ["training.precision=auto"]
    return out


@dataclass
class GroupRun:
    """Where a group's results and runs live."""

    out: Path
    work: Path

    @classmethod
    def open(cls, out: Path, work: Path | None = None) -> "GroupRun":
        """Results in ``out``, runs and models in ``work`` (default ``OUT/runs``, git-ignored)."""
        return cls(Path(out), Path(work) if work else Path(out) / "runs")

    def result_path(self, row: Row, seed: int) -> Path:
        return self.out / "rows" / f"{row.key}-seed{seed}.json"

    def clap_model(self, seed: int) -> Path:
        """The CLAP model folder that every CLAP-sampling row of ``seed`` embeds phrases with."""
        return self.work / "models" / f"clap-seed{seed}"

    def read(self, row: Row, seed: int) -> dict | None:
        path = self.result_path(row, seed)
        return json.loads(path.read_text()) if path.is_file() else None

    def read_teacher(self, row: Row, seed: int) -> dict | None:
        """The finished result of ``row``'s teacher row for ``seed``, if its model folder is there."""
        done = self.read(Row(row.teacher, "", ""), seed) if row.teacher else None
        return done if done and (Path(done["model_dir"]) / "config.json").is_file() else None

    def results(self, rows: Sequence[Row], seeds: Sequence[int]) -> dict[str, list[dict]]:
        """Every finished row-seed, by row key."""
        return {r.key: [res for s in seeds if (res := self.read(r, s)) is not None] for r in rows}


def row_config(row: Row, seed: int, device: str, epochs: int, group: GroupRun,
               extra: Sequence[str] = ()) -> tuple["ExperimentConfig", Path | None]:
    """The row's config under the group's budget for one seed, and the folder to train the
    seed's CLAP in if its sampler needs one (teacher and CLAP resolved to this group's runs)."""
    from wstag.training.config import load_experiment

    base = load_experiment(row.config_path, [f"training.seed={seed}"])
    overrides = [f"training.seed={seed}", *budget_overrides(base, device, row.epochs(epochs)), *row.overrides, *extra]
    if row.teacher:
        teacher = group.read_teacher(row, seed)
        if teacher is None:
            raise ConfigError(f"row {row.key}: its teacher row {row.teacher} (seed {seed}) has not finished")
        overrides.append(f"training.teacher={teacher['model_dir']}")
    config = load_experiment(row.config_path, overrides)
    if not config.sampling.needs_clap or config.clap.pretrained:  # no CLAP, or one of the user's
        return config, None
    clap_dir = group.work / f"seed{seed}" / "clap"
    return load_experiment(row.config_path, [*overrides, f"clap.pretrained={group.clap_model(seed)}"]), clap_dir


def run_group(
    rows: Sequence[Row],
    data: Path,
    out: Path,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int | None = None,
    device: str = "auto",
    work: Path | None = None,
    extra: Sequence[str] = (),
    log: Callable[[str], None] | None = None,
    progress: Callable | None = None,
    after_row: Callable[[], None] | None = None,
) -> dict[str, list[dict]]:
    """Train and evaluate every row for every seed (seed-major, so one seed completes first).

    ``after_row`` runs after each finished row-seed (the CLI rewrites REPORT.md there).
    """
    from wstag.models.clap import CONFIG as CLAP_CONFIG
    from wstag.training.run import train_corpus_clap

    say = log or (lambda m: None)
    code_commit()  # read now: every row of this process records the code it loaded, whatever edits follow
    device = resolve_device(device)
    epochs = epochs or DEFAULT_EPOCHS[device]
    group = GroupRun.open(out, work)
    data = Path(data)
    todo = [(r, s) for s in seeds for r in rows]
    keys = [r.key for r in rows]
    info = Corpus(data).info() or {}
    for i, r in enumerate(rows):  # fail now, not hours in
        if r.corpus_key and not corpus_has(info, r.corpus_key):
            key, _, value = r.corpus_key.partition("=")
            raise ConfigError(f"row {r.key} trains on a corpus built with --{key.replace('_', '-')}"
                              f"{' ' + value if value else ''}; {data} is not one (its corpus.json has "
                              f"{key}: {json.dumps(info.get(key))})")
        if r.teacher and r.teacher not in keys[:i] and any(group.read_teacher(r, s) is None for s in seeds):
            raise ConfigError(f"row {r.key} needs its teacher row {r.teacher}: run it first (or with it)")

    if not todo:  # a figure drawn from the corpus alone
        return {}
    pending = [(r, s) for r, s in todo if not _is_current(group, r, s, device, epochs, extra)]
    per_epoch = _seconds_per_epoch(group, rows, seeds) or DEFAULT_EPOCH_SECONDS[device]
    hours = len(pending) * (epochs * per_epoch + 90) / 3600  # a data share's more epochs are shorter in proportion
    say(f"{len(todo) - len(pending)} of {len(todo)} row-seeds done; {len(pending)} to run, "
        f"{epochs} epochs each on {device} (more on a data share): about {hours:.1f} h "
        f"({per_epoch:.0f} s per full-data epoch, plus evaluation)")
    for row, seed in todo:
        if (row, seed) not in pending:
            continue
        start = time.perf_counter()
        config, clap_dir = row_config(row, seed, device, epochs, group, extra)
        if clap_dir is not None and not (group.clap_model(seed) / CLAP_CONFIG).is_file():
            trained = train_corpus_clap(config, data, clap_dir, log=lambda m: say(f"[CLAP seed {seed}] {m}"),
                                        enable_progress_bar=progress is not None)
            shutil.copytree(trained, group.clap_model(seed), dirs_exist_ok=True)
        result = _run_row(row, seed, config, data, group, device, extra, say, progress)
        say(f"[{row.key} seed {seed}] PSDS {result['metrics']['psds_whole']:.1f} whole / "
            f"{result['metrics']['psds_short']:.1f} short, specificity {result['metrics']['specificity']:.1f}; "
            f"{result['epochs']} epochs in {time.perf_counter() - start:.0f} s")
        if after_row is not None:
            after_row()
    return group.results(rows, seeds)


def corpus_has(info: Mapping[str, Any], corpus_key: str) -> bool:
    """Whether corpus.json ``info`` has ``corpus_key`` ("key", or "key=value" compared as text)."""
    key, sep, value = corpus_key.partition("=")
    return key in info and (not sep or str(info[key]) == value)


def _is_current(group: GroupRun, row: Row, seed: int, device: str, epochs: int, extra: Sequence[str]) -> bool:
    """A finished JSON whose config hash is what this row would train now."""
    done = group.read(row, seed)
    if done is None:
        return False
    try:
        config, _ = row_config(row, seed, device, epochs, group, extra)
    except ConfigError:  # e.g. its teacher's JSON is gone: train again
        return False
    return done["config_hash"] == config.hash() and (Path(done["model_dir"]) / "config.json").is_file()


def _seconds_per_epoch(group: GroupRun, rows: Sequence[Row], seeds: Sequence[int]) -> float | None:
    done = [r for rs in group.results(rows, seeds).values() for r in rs if r.get("epochs")]
    return statistics.median(r["train_seconds"] / r["epochs"] for r in done) if done else None


#: per-epoch curves every row records (absent metrics give empty lists)
CURVES = ("train/tag_auc", "val/tag_auc", "train/loss_epoch", "val/loss")


def _curve(run_dir: Path, metric: str) -> list[float | None]:
    from wstag.training.curves import validation_curve

    return [None if math.isnan(v) else round(v, 4) for v in validation_curve(run_dir, metric)]


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of a file (None when it is not there)."""
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run_row(row: Row, seed: int, config: "ExperimentConfig", data: Path, group: GroupRun, device: str,
             extra: Sequence[str], say, progress) -> dict:
    from wstag.inference.evaluate import evaluate_model
    from wstag.models.checkpoint import WEIGHTS
    from wstag.training.run import finished_run, train

    chash = config.hash()
    run_dir = group.work / f"seed{seed}" / f"{row.key}-{chash[:8]}"
    start = time.perf_counter()
    trained = finished_run(run_dir)
    if trained is None:  # new, or cut before its model folder: train() resumes from last.ckpt
        trained = train(config, data, run_dir, progress=progress, log=lambda m: say(f"[{row.key} seed {seed}] {m}"),
                        enable_progress_bar=progress is not None)
    # The model folder stays under the (git-ignored) work folder, named by row and seed, for
    # later rows (a self-supervised row's teacher) and figures; the result records its path
    # and the SHA-256 of its weights, so a copy elsewhere can be checked against the figures.
    model_dir = group.work / "models" / f"{row.key}-seed{seed}"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    shutil.copytree(trained.model_dir, model_dir, ignore=shutil.ignore_patterns("metrics.json"))
    metrics = evaluate_model(model_dir, data, "test", progress=progress)
    saved = json.loads((model_dir / "config.json").read_text())
    result = {
        "row": row.key, "label": row.label, "section": row.section, "seed": seed,
        "config_file": str(row.config_path.relative_to(CONFIG_DIR.parent)), "config": config.to_dict(),
        "config_hash": chash, "overrides": [*row.overrides, *extra], "device": device,
        "metrics": metrics, "epochs": trained.epochs, "train_seconds": round(trained.seconds, 1),
        "val_curve": {"metric": trained.monitor, "values": _curve(run_dir, trained.monitor)},  # still improving?
        "curves": {m: _curve(run_dir, m) for m in CURVES},  # train beside val: fitting vs carrying over
        "seconds": round(time.perf_counter() - start + trained.earlier_seconds, 1),  # a cut row's whole time
        "code_commit": saved.get("code_commit") or code_commit(), "evaluated_with": code_commit(),
        "corpus_hash": Corpus(data).content_hash, "teacher": config.training.teacher,
        "model_dir": str(model_dir), "model_sha256": file_sha256(model_dir / WEIGHTS), "run_dir": str(run_dir),
    }
    path = group.result_path(row, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, result)
    return result
