"""Experiment configuration: one YAML per paper row, validated when loaded.

A YAML file has up to five sections: `model` (handed to the model factory, which
checks it), `front_end` (sample rate, STFT, mel bands, band edges: a
``wstag.audio.frontend.FrontEnd``, SPEC 1 by default; the one place for `n_mels`,
which the CRNN and the CLAP take from it), `training`, `sampling` and `clap`
(the bi-encoder behind Alg. 1 and 2's phrase embeddings), checked here. Unknown keys,
wrong types and bad values fail at load time with the file and key named. `key=value` overrides from the
command line use dotted paths (`training.max_epochs=5`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wstag.audio.frontend import DEFAULT_FRONT_END, FrontEnd
from wstag.errors import ConfigError
from wstag.models.clap import ClapConfig
from wstag.models.factory import to_model_config
from wstag.provenance import config_hash
from wstag.sampling.clustering_sampler import CLUSTER_DRAWS, CLUSTERING
from wstag.training.precision import PRECISIONS
from wstag.training.trainer_config import TrainerConfig

REGIMES = ("phrase_level", "sentence_level", "sstag", "self_supervised")
#: class_oracle: random sampling minus the phrases of the positives' true classes, a diagnostic
#: that needs the embedded benchmark's labels.json (``wstag.sampling.class_oracle_sampler``).
SAMPLING = ("random", "similarity", "clustering", "class_oracle", "all_classes")
#: Where Alg. 1 and 2's phrase embeddings come from: the CLAP text tower trained on the
#: captions (the paper's choice), or the pretrained Sentence-BERT of Fig. 10 (no training).
EMBEDDINGS = ("clap", "sbert")
SAMPLED_REGIMES = ("phrase_level", "self_supervised")  # regimes that draw negative phrases
POOLINGS = ("mean", "max", "linear_softmax", "exp_softmax")
#: (section, key) -> the value with which a key added later behaves as before it existed
#: (ExperimentConfig.hash leaves it out then). Never change a value listed here.
HASH_NEUTRAL: dict[tuple[str, str], Any] = {("training", "lr_schedule"): "plateau", ("training", "optimizer"): "adam",
                                            ("training", "weight_decay"): 0.0, ("training", "warmup_epochs"): 0.0,
                                            ("training", "splice"): 0.0,
                                            **{("trainer", k): v for k, v in dataclasses.asdict(TrainerConfig()).items()}}
LR_SCHEDULES = ("plateau", "cosine")
OPTIMIZERS = ("adam", "adamw")
#: validation metrics that may pick the best epoch (and drive LR decay, early stopping):
#: whether lower or higher is better. ``val/tag_auc`` is logged by the sampled regimes only.
MONITORS = {"val/loss": "min", "val/tag_auc": "max"}


@dataclass(frozen=True)
class TrainingConfig:
    regime: str = "phrase_level"
    audio_pooling: str = "linear_softmax"
    text_pooling: str = "mean"  # sentence-level only
    margin: float = 1.0  # sentence-level ranking loss
    n_phrases: int = 32
    batch_size: int = 32
    lr: float = 1e-3
    lr_factor: float = 0.1
    lr_patience: int = 3
    # "plateau": divide the LR by 1/lr_factor when the monitor stalls for lr_patience epochs
    # (the usual recipe when training runs to convergence); "cosine": anneal it to zero
    # over max_epochs, step by step, for short fixed-epoch CPU runs that never stall long
    # enough for a plateau to decay the LR.
    lr_schedule: str = "plateau"
    optimizer: str = "adam"  # the paper's Adam (weight_decay: L2 in the gradient), or "adamw" (decoupled)
    weight_decay: float = 0.0
    warmup_epochs: float = 0.0  # linear LR warm-up over this many epochs (0: none, the paper's)
    # Phrase-level: the share of training clips joined in time with another clip, each half
    # scored on its own phrases and the other's positives as negatives (wstag.training.splicing;
    # 0: none, the paper's).
    splice: float = 0.0
    max_epochs: int = 100
    early_stop_patience: int = 10
    grad_clip: float = 1.0
    num_workers: int = 0  # features come from an HDF5 cache: loading is cheap
    seed: int = 0
    max_minutes: float | None = None  # wall-clock budget (the CPU demo)
    train_fraction: float = 1.0  # SSTAG on a tenth of the clips, as the paper's AudioGrounding
    teacher: str | None = None  # self-supervision: the teacher's model folder
    frame_weight: float = 1.0  # self-supervision: weight of Eq. 10's frame term (1 as the paper writes it)
    monitor: str = "val/loss"  # picks the best epoch, decays the LR, stops early (MONITORS)
    ema_decay: float | None = None  # validate and keep an EMA of the weights (not in the paper)
    precision: str = "32"  # "32", "bf16" or "auto" (bf16 where the hardware has it): training/precision.py
    # CPU threads for training and evaluation (null: torch's default, one per core). A fixed
    # count makes a seed's figures the same on any number of cores: oneDNN and the GEMMs
    # split their sums by thread count, so 1 and 2 threads round differently.
    threads: int | None = None

    def validate(self, where: str) -> "TrainingConfig":
        def bad(key: str, why: str) -> None:
            raise ConfigError(f"{where}: training.{key} {why}")

        if self.regime not in REGIMES:
            bad("regime", f"must be one of {REGIMES}, got {self.regime!r}")
        if self.audio_pooling not in POOLINGS:
            bad("audio_pooling", f"must be one of {POOLINGS}, got {self.audio_pooling!r}")
        if self.text_pooling not in ("mean", "sum"):
            bad("text_pooling", f"must be 'mean' or 'sum', got {self.text_pooling!r}")
        for key in ("n_phrases", "batch_size", "max_epochs", "early_stop_patience", "lr_patience"):
            if getattr(self, key) < 1:
                bad(key, f"must be >= 1, got {getattr(self, key)}")
        if not 0 < self.lr < 1:
            bad("lr", f"must be in (0, 1), got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            bad("optimizer", f"must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if not 0 <= self.weight_decay < 1:
            bad("weight_decay", f"must be in [0, 1), got {self.weight_decay}")
        if not 0 <= self.warmup_epochs < self.max_epochs:
            bad("warmup_epochs", f"must be in [0, max_epochs = {self.max_epochs}), got {self.warmup_epochs}")
        if not 0 <= self.splice <= 1:
            bad("splice", f"must be a share in [0, 1], got {self.splice}")
        if self.splice and self.regime != "phrase_level":
            bad("splice", f"applies to the phrase_level regime (clip BCE over sampled phrases), not {self.regime!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            bad("lr_schedule", f"must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if not 0 < self.train_fraction <= 1:
            bad("train_fraction", f"must be in (0, 1], got {self.train_fraction}")
        if self.num_workers < 0:
            bad("num_workers", f"must be >= 0, got {self.num_workers}")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            bad("threads", f"must be an integer >= 1 or null, got {self.threads!r}")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            bad("ema_decay", f"must be in (0, 1) or null, got {self.ema_decay}")
        if self.precision not in PRECISIONS:
            bad("precision", f"must be one of {list(PRECISIONS)}, got {self.precision!r}")
        if self.monitor not in MONITORS:
            bad("monitor", f"must be one of {sorted(MONITORS)}, got {self.monitor!r}")
        if self.monitor == "val/tag_auc" and self.regime not in SAMPLED_REGIMES:
            bad("monitor", f"val/tag_auc needs sampled negatives (regimes {SAMPLED_REGIMES}); "
                           f"use val/loss for {self.regime}")
        if self.regime == "self_supervised" and not self.teacher:
            bad("teacher", "is required for self-supervision (the trained model folder)")
        if self.teacher and self.regime != "self_supervised":
            bad("teacher", f"is used by regime self_supervised only, not {self.regime!r}")
        if not self.frame_weight >= 0:
            bad("frame_weight", f"must be >= 0, got {self.frame_weight}")
        return self


@dataclass(frozen=True)
class SamplingConfig:
    strategy: str = "random"
    threshold: float = 0.5  # Alg. 1 tau
    batch: int = 64  # Alg. 1 candidate batch b
    n_clusters: int = 32  # Alg. 2
    clustering: str = "kmeans"
    embeddings: str = "clap"  # EMBEDDINGS
    cluster_draw: str = "uniform"  # Alg. 2's cluster order: CLUSTER_DRAWS (clustering_sampler says why)

    def validate(self, where: str) -> "SamplingConfig":
        def bad(key: str, why: str) -> None:
            raise ConfigError(f"{where}: sampling.{key} {why}")

        if self.strategy not in SAMPLING:
            bad("strategy", f"must be one of {SAMPLING}, got {self.strategy!r}")
        if not -1.0 <= self.threshold <= 1.0:
            bad("threshold", f"is a cosine similarity and must lie in [-1, 1], got {self.threshold}")
        if self.batch < 1:
            bad("batch", f"must be >= 1, got {self.batch}")
        if self.n_clusters < 2:
            bad("n_clusters", f"must be >= 2, got {self.n_clusters}")
        if self.clustering not in CLUSTERING:
            bad("clustering", f"must be one of {CLUSTERING}, got {self.clustering!r}")
        if self.embeddings not in EMBEDDINGS:
            bad("embeddings", f"must be one of {EMBEDDINGS}, got {self.embeddings!r}")
        if self.cluster_draw not in CLUSTER_DRAWS:
            bad("cluster_draw", f"must be one of {CLUSTER_DRAWS}, got {self.cluster_draw!r}")
        return self

    @property
    def needs_embeddings(self) -> bool:
        """Alg. 1 and 2 need phrase embeddings (a CLAP text tower or Sentence-BERT)."""
        return self.strategy in ("similarity", "clustering")

    @property
    def needs_clap(self) -> bool:
        """A CLAP is trained or loaded only when its text tower supplies the embeddings."""
        return self.needs_embeddings and self.embeddings == "clap"


@dataclass(frozen=True)
class ClapTrainingConfig:
    """Section ``clap``: the bi-encoder behind the phrase embeddings (paper IV-A)."""

    pretrained: str | None = None  # a CLAP folder from an earlier run: no training
    max_epochs: int = 40
    max_minutes: float | None = None
    early_stop_patience: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    model: dict = field(default_factory=dict)  # ClapConfig fields (channels, word_dim, embed_dim)

    def validate(self, where: str) -> "ClapTrainingConfig":
        def bad(key: str, why: str) -> None:
            raise ConfigError(f"{where}: clap.{key} {why}")

        for key in ("max_epochs", "early_stop_patience"):
            if getattr(self, key) < 1:
                bad(key, f"must be >= 1, got {getattr(self, key)}")
        if self.batch_size < 2:
            bad("batch_size", f"must be >= 2 (the other captions of a batch are the negatives), got {self.batch_size}")
        if not 0 < self.lr < 1:
            bad("lr", f"must be in (0, 1), got {self.lr}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            bad("max_minutes", f"must be > 0, got {self.max_minutes}")
        try:
            ClapConfig.from_dict(self.model)
        except (ConfigError, TypeError) as exc:
            raise ConfigError(f"{where}: clap.model: {exc}") from None
        return self


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    model: dict[str, Any] = field(default_factory=lambda: {"preset": "cpu"})
    training: TrainingConfig = TrainingConfig()
    sampling: SamplingConfig = SamplingConfig()
    clap: ClapTrainingConfig = ClapTrainingConfig()
    front_end: FrontEnd = DEFAULT_FRONT_END
    trainer: TrainerConfig = TrainerConfig()  # devices and nodes (DDP): wstag/training/trainer_config.py

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def hash(self) -> str:
        """The config hash that keys run folders and finished result files.

        Keys added after results were recorded are left out while they hold the value
        that reproduces the old behaviour (HASH_NEUTRAL), so adding an option does not
        retrain every finished row; any other value enters the hash as usual.
        """
        d = self.to_dict()
        for (section, key), old_behaviour in HASH_NEUTRAL.items():
            if d.get(section, {}).get(key, old_behaviour) == old_behaviour:
                d.get(section, {}).pop(key, None)
        d = {k: v for k, v in d.items() if v != {} or k not in {s for s, _ in HASH_NEUTRAL}}  # a new section, all old
        return config_hash(d)


def _coerce(value: str) -> Any:
    """Parse an override value the way YAML would (numbers, booleans, null, lists)."""
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    if isinstance(parsed, str):  # YAML 1.1 reads "5e-4" as a string
        try:
            return float(parsed)
        except ValueError:
            pass
    return parsed


def apply_overrides(data: dict[str, Any], overrides: list[str], where: str) -> dict[str, Any]:
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"{where}: override {item!r} must look like section.key=value")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        node = data
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{where}: override {key!r}: {p!r} is not a section")
        node[parts[-1]] = _coerce(value)
    return data


def _section(cls, raw: Any, name: str, where: str):
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: section {name!r} must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(raw) - set(fields)
    if unknown:
        raise ConfigError(f"{where}: unknown keys in {name!r}: {sorted(unknown)} (allowed: {sorted(fields)})")
    defaults = cls()
    for key, value in raw.items():
        expected = type(getattr(defaults, key))
        if getattr(defaults, key) is None or value is None:
            continue
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            raw[key] = float(value)
        elif expected is str and isinstance(value, int) and not isinstance(value, bool):
            raw[key] = str(value)  # YAML reads `precision: 32` as a number
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: {name}.{key} must be {expected.__name__}, got {value!r}")
    return cls(**raw).validate(where)


def _front_end(raw: Any, model: dict[str, Any], clap: "ClapTrainingConfig", where: str) -> FrontEnd:
    """The `front_end` section: the one place a config names the mel bands.

    The CRNN and a CLAP trained here take their ``n_mels`` from it (they read the same
    feature cache), so a config that also sets theirs is refused rather than checked.
    """
    try:
        front_end = DEFAULT_FRONT_END if raw is None else FrontEnd.from_dict(raw)
        model_mels = to_model_config(model).audio_encoder.n_mels
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    for key, value in (("model.audio_encoder.n_mels", model_mels), ("clap.model.n_mels", clap.model.get("n_mels"))):
        if value is not None:
            raise ConfigError(f"{where}: {key} is taken from front_end.n_mels; set the mel bands there only "
                              f"(front_end: {{n_mels: {value}}})")
    return front_end


def parse_experiment(data: Any, where: str, overrides: list[str] | None = None) -> ExperimentConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with model, training and sampling sections")
    data = apply_overrides(dict(data), overrides or [], where)
    unknown = set(data) - {"name", "model", "front_end", "training", "sampling", "clap", "trainer", "description"}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level keys {sorted(unknown)}")
    model = data.get("model") or {"preset": "cpu"}
    if not isinstance(model, dict):
        raise ConfigError(f"{where}: section 'model' must be a mapping")
    clap = _section(ClapTrainingConfig, data.get("clap"), "clap", where)
    config = ExperimentConfig(
        name=str(data.get("name") or Path(where).stem),
        model=model,
        training=_section(TrainingConfig, data.get("training"), "training", where),
        sampling=_section(SamplingConfig, data.get("sampling"), "sampling", where),
        clap=clap,
        front_end=_front_end(data.get("front_end"), model, clap, where),
        trainer=_section(TrainerConfig, data.get("trainer"), "trainer", where),
    )
    if config.sampling.strategy != "random" and config.training.regime not in SAMPLED_REGIMES:
        raise ConfigError(f"{where}: sampling.strategy {config.sampling.strategy!r} applies to phrase-level "
                          f"training; regime {config.training.regime!r} draws no negatives (use 'random')")
    return config


def load_experiment(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return parse_experiment(data, str(path), overrides)
