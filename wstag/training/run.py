"""Train a model from an experiment config on a corpus folder; export a model folder.

Lightning does the loop, checkpoints, early stopping and LR schedule; this module
wires data, model and regime together. Training resumes from `checkpoints/last.ckpt`
when an earlier run was interrupted. The exported model folder (safetensors weights,
config, vocabulary) loads without any training code.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader

from wstag.audio.frontend import DEFAULT_FRONT_END, FrontEnd
from wstag.data.audiogrounding import read_v2, read_weak_v2
from wstag.data.corpus import Corpus, LABELS, WEAK
from wstag.data.feature_cache import CACHE_NAME, FeatureStore
from wstag.data.packing import pack_features
from wstag.data.phrase_classes import phrase_classes
from wstag.errors import ConfigError
from wstag.files import write_json
from wstag.models.checkpoint import CONFIG, WEIGHTS, check_front_end, read_front_end, save_model
from wstag.models.clap import CONFIG as CLAP_CONFIG
from wstag.models.clap import load_clap
from wstag.models.factory import build_model
from wstag.provenance import code_commit
from wstag.sampling.class_oracle_sampler import AllClassesSampler, ClassOracleNegativeSampler
from wstag.sampling.clustering_sampler import ClusteringNegativeSampler
from wstag.sampling.random_sampler import RandomNegativeSampler
from wstag.sampling.similarity_sampler import SimilarityNegativeSampler
from wstag.text.vocabulary import Vocabulary
from wstag.training.clap import phrase_embedder, train_clap
from wstag.training.config import SAMPLED_REGIMES, ExperimentConfig
from wstag.training.datasets import (
    CaptionDataset, PhraseLevelDataset, StrongPhraseDataset, collate_phrase_batch, collate_strong_batch,
)
from wstag.training.distributed import is_launch_rank_zero, launched_processes
from wstag.training.fit import fit
from wstag.training.optimizers import PlateauWarmUp
from wstag.training.phrase_level import PhraseLevelModule
from wstag.training.precision import resolve_precision
from wstag.training.self_supervised import SelfSupervisedModule, load_teacher
from wstag.training.sentence_level import SentenceLevelModule
from wstag.training.strong import StrongModule

MODEL_DIR = "model"
#: The run folder's front end, written when a run starts: a resumed run (whose
#: last.ckpt has no model folder yet) must read the same features.
RUN_FRONT_END = "front_end.json"


class _RedrawNegatives(Callback):
    """Tell the datasets which epoch it is, so negatives are redrawn every epoch."""

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        trainer.train_dataloader.dataset.epoch = trainer.current_epoch


class _StepTimer(Callback):
    """Measure the share of wall time spent in forward/backward versus waiting for data."""

    def __init__(self) -> None:
        self.compute = 0.0
        self.total = 0.0
        self._t0 = self._tb = None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._t0 = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._tb = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.compute += time.perf_counter() - self._tb

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.total += time.perf_counter() - self._t0

    @property
    def data_share(self) -> float:
        return 1 - self.compute / self.total if self.total else 0.0


@dataclass(frozen=True)
class TrainResult:
    model_dir: Path
    monitor: str  # the validation metric that picked the best epoch
    best_score: float | None
    epochs: int
    seconds: float  # of training, earlier sessions of a resumed run included
    data_loading_share: float
    earlier_seconds: float = 0.0  # of ``seconds``, spent before this call (a resumed or finished run)


def _split_paths(data_dir: Path, split: str, strong: bool = False) -> tuple[Path, Path]:
    """The split's folder and its label file: weak.json, or labels.json for strong supervision."""
    folder = data_dir / split
    labels = folder / (LABELS if strong else WEAK)
    if not labels.is_file():
        raise ConfigError(f"{data_dir}: no {split}/{labels.name}; is this a corpus built by `wstag data build`?")
    return folder, labels


def _phrase_level(train_clips, val_clips, train_feats, val_feats, vocab, tc, sampler, grid):
    return (PhraseLevelDataset(train_clips, train_feats, vocab, sampler, tc.n_phrases, tc.seed),
            PhraseLevelDataset(val_clips, val_feats, vocab, sampler, tc.n_phrases, tc.seed + 1),
            collate_phrase_batch, PhraseLevelModule)


def _sentence_level(train_clips, val_clips, train_feats, val_feats, vocab, tc, sampler, grid):
    return (CaptionDataset(train_clips, train_feats, vocab), CaptionDataset(val_clips, val_feats, vocab),
            collate_phrase_batch, SentenceLevelModule)


def _sstag(train_clips, val_clips, train_feats, val_feats, vocab, tc, sampler, grid):
    return (StrongPhraseDataset(train_clips, train_feats, vocab, grid),
            StrongPhraseDataset(val_clips, val_feats, vocab, grid),
            collate_strong_batch, StrongModule)


def _self_supervised(train_clips, val_clips, train_feats, val_feats, vocab, tc, sampler, grid):
    return (*_phrase_level(train_clips, val_clips, train_feats, val_feats, vocab, tc, sampler, grid)[:3],
            SelfSupervisedModule)


#: regime -> (train dataset, val dataset, collate function, LightningModule class)
REGIMES = {"phrase_level": _phrase_level, "sentence_level": _sentence_level, "sstag": _sstag,
           "self_supervised": _self_supervised}


def _train_clap_into(config: ExperimentConfig, data, vocab: Vocabulary, folder: Path, say,
                     enable_progress_bar: bool) -> Path:
    """Train (or resume) ``config.clap`` on ``data`` into ``folder``; its model folder."""
    say(f"training CLAP on the training captions for audio-centric phrase embeddings ({folder})")
    result = train_clap(*data, vocab, config.clap, folder, seed=config.training.seed,
                        enable_progress_bar=enable_progress_bar, log=say)
    say(f"CLAP: {result.epochs} epochs in {result.seconds:.0f} s, best val loss {result.best_val_loss:.3f}")
    return result.folder


def _clap_model(config: ExperimentConfig, data, vocab: Vocabulary, out_dir: Path, say, enable_progress_bar: bool):
    """The CLAP behind the phrase embeddings: the configured folder, this run's earlier one, or a new one."""
    if config.clap.pretrained:
        say(f"phrase embeddings from the CLAP in {config.clap.pretrained}")
        return load_clap(config.clap.pretrained)
    folder = out_dir / "clap"
    if (folder / "model" / CLAP_CONFIG).is_file():
        say(f"phrase embeddings from this run's CLAP ({folder / 'model'})")
        return load_clap(folder / "model")
    if launched_processes() > 1:  # every rank would train its own into the same folder
        raise ConfigError(f"{out_dir}: no CLAP yet for sampling.embeddings clap, and {launched_processes()} processes "
                          f"were launched; train once on one process first, or set clap.pretrained=FOLDER")
    return load_clap(_train_clap_into(config, data, vocab, folder, say, enable_progress_bar))


def train_corpus_clap(config: ExperimentConfig, data_dir: Path, folder: Path, log=None,
                      enable_progress_bar: bool = True) -> Path:
    """The CLAP of ``config.clap`` trained on the corpus's training captions in ``folder``
    (trained on the first call, resumed if cut, reused after): its model folder.

    For runs that share one CLAP (every sampling row of one seed) instead of each
    training its own into its run folder.
    """
    say = log or (lambda m: None)
    model = Path(folder) / "model"
    if (model / CLAP_CONFIG).is_file():
        return model
    if config.training.threads is not None:
        torch.set_num_threads(config.training.threads)
    data_dir = Path(data_dir)
    splits = [_split_paths(data_dir, s) for s in ("train", "val")]
    clips = [read_weak_v2(labels) for _, labels in splits]
    prepared = [prepare_features(f, c, front_end=config.front_end, log=say) for (f, _), c in zip(splits, clips)]
    clips, feats = [c for _, c in prepared], [f for f, _ in prepared]
    vocab = Vocabulary.build(c.caption for c in clips[0])
    return _train_clap_into(config, (*clips, *feats), vocab, Path(folder), say, enable_progress_bar)


def make_sampler(config: ExperimentConfig, data, vocab: Vocabulary, out_dir: Path, say=lambda m: None,
                 enable_progress_bar: bool = True, data_dir: Path | None = None):
    """The negative sampler of ``config.sampling`` over the training phrases (random, Alg. 1 or Alg. 2).

    ``data`` is (train clips, val clips, train features, val features). Alg. 1 and 2
    embed phrases with a CLAP text tower (trained here unless configured), or with the
    pretrained Sentence-BERT of Fig. 10 (``sampling.embeddings: sbert``), which needs no CLAP.
    The class oracle reads the true phrase classes of the corpus in ``data_dir``.
    """
    sc = config.sampling
    pool = [p.text for c in data[0] for p in c.phrases]
    if sc.strategy in ("class_oracle", "all_classes"):
        if data_dir is None:
            raise ConfigError(f"sampling.strategy {sc.strategy} needs the corpus folder (its train/labels.json)")
        if sc.strategy == "all_classes":
            say("all classes: every class absent from the caption is a negative (a clip tagger)")
            return AllClassesSampler(pool, phrase_classes(data_dir))
        say("class oracle: random negatives minus the phrases of each positive's true class")
        return ClassOracleNegativeSampler(pool, phrase_classes(data_dir))
    if not sc.needs_embeddings:
        return RandomNegativeSampler(pool)
    if sc.embeddings == "sbert":
        from wstag.text.sbert import sbert_embedder  # sentence-transformers loads only when asked for

        say("phrase embeddings from Sentence-BERT (all-MiniLM-L6-v2, no CLAP)")
        embed = sbert_embedder()
    else:
        embed = phrase_embedder(*_clap_model(config, data, vocab, out_dir, say, enable_progress_bar))
    if sc.strategy == "similarity":
        return SimilarityNegativeSampler(pool, embed, sc.threshold, sc.batch)
    return ClusteringNegativeSampler(pool, embed, sc.n_clusters, sc.clustering, seed=config.training.seed,
                                     draw=sc.cluster_draw)


def prepare_features(folder: Path, clips, progress: Callable | None = None,
                     front_end: FrontEnd = DEFAULT_FRONT_END, log: Callable[[str], None] | None = None,
                     ) -> tuple[FeatureStore, list]:
    """The split's feature cache for ``front_end`` (packed or completed if needed), opened and
    checked, and the clips that have features: those whose audio cannot be read are named and left out."""
    result = pack_features(folder / "audio", [c.audio_id for c in clips], folder / CACHE_NAME,
                           front_end=front_end, progress=progress, log=log)
    if result.unreadable:
        names = ", ".join(list(result.unreadable)[:10]) + (" ..." if len(result.unreadable) > 10 else "")
        (log or print)(f"{folder}: {len(result.unreadable)} clips left out, their audio cannot be read: {names}")
    return FeatureStore(result.path, front_end), [c for c in clips if c.audio_id not in result.unreadable]


def check_run_front_end(out_dir: Path, front_end: FrontEnd) -> None:
    """Refuse to resume a run folder made with another front end; record it for a new run."""
    model_dir = out_dir / MODEL_DIR
    if (model_dir / CONFIG).is_file():
        check_front_end(model_dir, read_front_end(model_dir), front_end)
    path = out_dir / RUN_FRONT_END
    if path.is_file():
        try:
            stored = FrontEnd.from_dict(json.loads(path.read_text()))
        except (ValueError, TypeError, ConfigError) as exc:
            raise ConfigError(f"{path} is invalid: {exc}") from None
        diff = stored.describe_difference(front_end)
        if diff:
            raise ConfigError(f"{out_dir}: this run was started with another front end ({diff}, run vs config); "
                              f"use another --out")
        return
    write_json(path, front_end.to_dict())


def finished_run(out_dir: Path) -> TrainResult | None:
    """The result of a run that already wrote its model folder to ``out_dir``, else None.

    ``train`` on such a folder resumes from ``last.ckpt`` and trains further (how
    ``--max-epochs`` extends a run); callers that mean "this run, once" check here first.
    """
    model_dir = Path(out_dir) / MODEL_DIR
    if not (model_dir / WEIGHTS).is_file() or not (model_dir / CONFIG).is_file():
        return None
    try:
        info = json.loads((model_dir / CONFIG).read_text())
        seconds = float(info["train_seconds"])
        return TrainResult(model_dir, info["monitor"], info["best_score"], int(info["epochs"]), seconds,
                           float(info.get("data_loading_share", float("nan"))), earlier_seconds=seconds)
    except (ValueError, KeyError, TypeError):  # not written by train(): treat as unfinished
        return None


def with_phrase_classes(model: dict, data_dir: Path) -> dict:
    """The model config with the corpus's phrase classes filled in for the diagnostic class
    text encoder (``text_encoder.kind: class``); any other config unchanged."""
    text = model.get("text_encoder") if isinstance(model, dict) else None
    if not isinstance(text, dict) or text.get("kind") != "class" or text.get("phrase_class"):
        return model
    table = {t: c for t, c in phrase_classes(data_dir).items() if c is not None}
    return {**model, "text_encoder": {**text, "phrase_class": table}}


def _warmup(tc) -> list[Callback]:
    """The plateau schedule's warm-up callback, when one is asked for (cosine has its own)."""
    return [PlateauWarmUp(tc.warmup_epochs)] if tc.warmup_epochs > 0 and tc.lr_schedule == "plateau" else []


def train(
    config: ExperimentConfig,
    data_dir: Path,
    out_dir: Path,
    progress: Callable | None = None,
    log: Callable[[str], None] | None = None,
    enable_progress_bar: bool = True,
) -> TrainResult:
    """Train ``config`` on the corpus in ``data_dir``; write checkpoints and the model folder to ``out_dir``."""
    tc = config.training
    say = log or (lambda m: None)
    commit = code_commit()  # the code that trains: read now, as the tree may change during a long run
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if tc.threads is not None:  # for the rest of the process: evaluation then rounds alike too
        torch.set_num_threads(tc.threads)
    front_end = config.front_end
    check_run_front_end(out_dir, front_end)
    L.seed_everything(tc.seed, workers=True, verbose=False)
    strong = tc.regime == "sstag"
    train_folder, train_labels = _split_paths(data_dir, "train", strong)
    val_folder, val_labels = _split_paths(data_dir, "val", strong)
    read = (lambda p: read_v2(p, require_segments=True)) if strong else read_weak_v2
    train_clips, val_clips = read(train_labels), read(val_labels)
    if tc.train_fraction < 1.0:
        rng = np.random.default_rng(tc.seed)
        keep = np.sort(rng.choice(len(train_clips), max(1, round(tc.train_fraction * len(train_clips))), replace=False))
        train_clips = [train_clips[i] for i in keep]
        say(f"training on {len(train_clips)} clips ({tc.train_fraction:.0%} of the train split)")
    train_feats, train_clips = prepare_features(train_folder, train_clips, progress, front_end, say)
    val_feats, val_clips = prepare_features(val_folder, val_clips, progress, front_end, say)

    vocab_path = out_dir / "vocab.json"
    vocab = Vocabulary.load(vocab_path) if vocab_path.is_file() else Vocabulary.build(c.caption for c in train_clips)
    if is_launch_rank_zero():  # DDP: the other ranks build the same vocabulary
        vocab.save(vocab_path)
    data = (train_clips, val_clips, train_feats, val_feats)
    sampler = (make_sampler(config, data, vocab, out_dir, say, enable_progress_bar, data_dir)
               if tc.regime in SAMPLED_REGIMES else None)
    train_ds, val_ds, collate, module_cls = REGIMES[tc.regime](*data, vocab, tc, sampler, front_end.grid)
    # The ranking loss needs negatives: never a last batch of one clip.
    drop_last = tc.regime == "sentence_level"
    loader = dict(batch_size=tc.batch_size, collate_fn=collate, num_workers=tc.num_workers)
    train_dl = DataLoader(train_ds, shuffle=True, drop_last=drop_last and len(train_ds) > tc.batch_size, **loader)
    val_dl = DataLoader(val_ds, shuffle=False, **loader)

    # checks n_mels and time_downsample; the words let a MiniLM text encoder read token ids as text
    model = build_model(with_phrase_classes(config.model, data_dir), len(vocab), front_end, words=vocab.itos)
    if module_cls is SelfSupervisedModule:  # the teacher is read from its folder, on resume too
        module = SelfSupervisedModule(model, tc, load_teacher(tc.teacher, model, vocab, front_end))
        say(f"self-supervision from the teacher in {tc.teacher}")
    else:
        module = module_cls(model, tc)
    timer = _StepTimer()
    precision = resolve_precision(tc.precision)  # "auto" -> what this machine runs, as recorded below
    result = fit(module, train_dl, val_dl, out_dir, max_epochs=tc.max_epochs, max_minutes=tc.max_minutes,
                 early_stop_patience=tc.early_stop_patience, grad_clip=tc.grad_clip,
                 monitor=tc.monitor, ema_decay=tc.ema_decay, precision=precision, trainer=config.trainer,
                 seed=tc.seed, callbacks=[_RedrawNegatives(), timer, *_warmup(tc)], enable_progress_bar=enable_progress_bar,
                 log=say)
    model_dir = out_dir / MODEL_DIR
    trained = TrainResult(model_dir, tc.monitor, result.best_score, result.epochs, result.seconds, timer.data_share,
                          result.earlier_seconds)
    if not result.is_global_zero:  # DDP: rank 0 alone holds the best weights and writes the model folder
        return trained
    extra = {
        "experiment": config.to_dict(),
        "config_hash": config.hash(),
        "code_commit": commit,
        "seed": tc.seed,
        "corpus": str(data_dir),
        "monitor": tc.monitor,
        "precision": precision,
        "best_score": result.best_score,
        "epochs": result.epochs,
        "train_seconds": round(result.seconds, 1),
        "data_loading_share": round(timer.data_share, 4),
    }
    if Corpus(data_dir).is_complete:
        extra["corpus_hash"] = Corpus(data_dir).content_hash
    save_model(model_dir, module.model.cpu(), vocab, extra=extra)
    return trained
