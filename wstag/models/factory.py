"""Model configs as data and the one factory that builds them (open_clip style).

A config is a preset name, a ``ModelConfig``, or a dict with sections ``audio_encoder``
(``CRNNConfig`` fields), ``text_encoder`` (``TextEncoderConfig`` fields, or with
``kind: minilm`` the ``MiniLMTextEncoderConfig`` ones, with ``kind: graph`` QGCA's
``QueryGraphTextEncoderConfig``), ``similarity`` and ``interaction`` (``InteractionConfig``:
the paper's dot product, or QGCA's ``cross_gating``), optionally starting from ``preset``::

    build_model({"preset": "cpu", "audio_encoder": {"pretrained": "cnn.safetensors"}}, vocab_size)

Unknown keys and bad values raise ``ConfigError`` naming the key (``model.audio_encoder.chanels``).

Presets: ``paper`` is Table I exactly (channels 64/128/256/512, FC 512, BiGRU 256 each
way, 512-d embeddings): the default for GPU users. ``cpu`` keeps the topology but is
narrow enough to train the embedded benchmark on two CPU cores (``benchmarks/bench_model.py``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from wstag.audio.frames import FrameGrid
from wstag.audio.frontend import DEFAULT_FRONT_END, FrontEnd
from wstag.errors import ConfigError
from wstag.models.crnn import CRNN_FIELDS, CRNNConfig
from wstag.models.cross_gating import INTERACTION_FIELDS, InteractionConfig
from wstag.models.grounding import GroundingModel, TextConfig, check_pairing
from wstag.models.class_text import CLASS_FIELDS, ClassTextEncoderConfig
from wstag.models.class_text import KIND as CLASS_KIND
from wstag.models.minilm_text import KIND as MINILM_KIND
from wstag.models.minilm_text import MINILM_FIELDS, MiniLMTextEncoderConfig
from wstag.models.query_graph import GRAPH_FIELDS, QueryGraphTextEncoderConfig
from wstag.models.query_graph import KIND as GRAPH_KIND
from wstag.models.similarity import SIMILARITY_FIELDS, SimilarityConfig
from wstag.models.text_encoder import TEXT_FIELDS, TextEncoderConfig

#: ``text_encoder.kind``: word embeddings (the paper's, the default) or frozen MiniLM sentences.
#: ``class`` is a diagnostic (``wstag.models.class_text``): one vector per sound class of the corpus.
#: ``graph`` is QGCA's query graph (``wstag.models.query_graph``), with ``interaction.kind: cross_gating``.
TEXT_KINDS = ("word", MINILM_KIND, CLASS_KIND, GRAPH_KIND)


@dataclass(frozen=True)
class ModelConfig:
    """Both towers' sizes; the vocabulary size comes from the data at build time."""

    audio_encoder: CRNNConfig = field(default_factory=CRNNConfig)
    text_encoder: TextConfig = field(default_factory=TextEncoderConfig)
    similarity: SimilarityConfig = field(default_factory=SimilarityConfig)  # the paper's plain dot product
    interaction: InteractionConfig = field(default_factory=InteractionConfig)  # the paper's: none (a_t . t_n)

    def __post_init__(self) -> None:
        if self.text_encoder.embed_dim != self.audio_encoder.out_dim:
            raise ConfigError(
                f"model.text_encoder.embed_dim ({self.text_encoder.embed_dim}) must equal "
                f"2 * model.audio_encoder.gru_hidden ({self.audio_encoder.out_dim}): s_fp is their dot product")
        check_pairing(self.text_encoder, self.interaction)

    def to_dict(self) -> dict[str, Any]:
        d = {"audio_encoder": self.audio_encoder.to_dict(), "text_encoder": self.text_encoder.to_dict()}
        if not self.similarity.is_paper:  # older readers and model folders: no section means the paper's form
            d["similarity"] = self.similarity.to_dict()
        if not self.interaction.is_paper:  # likewise: no section means the dot product
            d["interaction"] = self.interaction.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "model") -> "ModelConfig":
        """Build from a dict (optionally ``preset`` + overrides); ConfigError names bad keys."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"{where} must be a mapping or a preset name, got {type(d).__name__}")
        _reject_unknown(d, {"preset", "audio_encoder", "text_encoder", "similarity", "interaction"}, where)
        base = get_preset(d["preset"]) if "preset" in d else cls()
        audio = _section(d, "audio_encoder", CRNN_FIELDS, where)
        kind = _text_kind(d, where)
        known = {MINILM_KIND: MINILM_FIELDS, CLASS_KIND: CLASS_FIELDS, GRAPH_KIND: GRAPH_FIELDS}.get(
            kind, TEXT_FIELDS | {"kind"})
        text = _section(d, "text_encoder", known, where)
        text.pop("kind", None)
        similarity = _section(d, "similarity", SIMILARITY_FIELDS, where)
        interaction = _section(d, "interaction", INTERACTION_FIELDS, where)
        if "channels" in audio and not isinstance(audio["channels"], (list, tuple)):
            raise ConfigError(f"{where}.audio_encoder.channels must be a list of 4 integers, "
                              f"got {audio['channels']!r}")
        try:
            if kind == MINILM_KIND:  # the preset's width, MiniLM's projection
                text_config = MiniLMTextEncoderConfig(**{"embed_dim": base.text_encoder.embed_dim, **text})
            elif kind == CLASS_KIND:
                text_config = ClassTextEncoderConfig(**{"embed_dim": base.text_encoder.embed_dim, **text})
            elif kind == GRAPH_KIND:
                text_config = QueryGraphTextEncoderConfig(**{"embed_dim": base.text_encoder.embed_dim, **text})
            else:
                text_config = replace(base.text_encoder, **text)
            return cls(replace(base.audio_encoder, **audio), text_config, replace(base.similarity, **similarity),
                       replace(base.interaction, **interaction))
        except ConfigError as exc:
            msg = str(exc)
            raise ConfigError(msg if msg.startswith(where) else f"{where}.{msg}") from None


def _reject_unknown(d: Mapping[str, Any], known: set[str] | frozenset[str], where: str) -> None:
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise ConfigError(f"unknown key {where}.{unknown[0]}" + (f" (and {unknown[1:]})" if unknown[1:] else "")
                          + f"; valid keys: {sorted(known)}")


def _text_kind(d: Mapping[str, Any], where: str) -> str:
    section = d.get("text_encoder")
    kind = section.get("kind", "word") if isinstance(section, Mapping) else "word"
    if kind not in TEXT_KINDS:
        raise ConfigError(f"{where}.text_encoder.kind must be one of {TEXT_KINDS}, got {kind!r}")
    return kind


def _section(d: Mapping[str, Any], name: str, known: frozenset[str], where: str) -> dict[str, Any]:
    section = d.get(name)
    section = {} if section is None else section
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}.{name} must be a mapping, got {type(section).__name__}")
    _reject_unknown(section, known, f"{where}.{name}")
    return copy.deepcopy(dict(section))


MODEL_PRESETS: dict[str, ModelConfig] = {
    # Paper Table I: ~6.1 M audio-encoder parameters (+ 512 per vocabulary word).
    "paper": ModelConfig(),
    # Same topology, narrow: ~0.39 M audio-encoder parameters. On two CPU cores a
    # training step (batch 32 x 10 s) takes ~1.2 s, inference runs ~1000x real time
    # (benchmarks/bench_model.py). The CNN's first block at full 10 ms x 64-mel
    # resolution is the floor: fewer than 8 channels is no faster (oneDNN blocks by 8),
    # while the FC/GRU/text width costs little, so those stay at half the paper's.
    "cpu": ModelConfig(
        audio_encoder=CRNNConfig(channels=(8, 16, 32, 64), embed_dim=256, gru_hidden=128),
        text_encoder=TextEncoderConfig(embed_dim=256),
    ),
    # The demo's model: a training step 0.33-0.43x and inference 0.50-0.58x of ``cpu``'s
    # per clip on two CPU cores (results/demo_small_cpu.md, benchmarks/bench_model.py),
    # with the same 40 ms output frames. Where ``cpu`` spent its step: the first block at
    # 10 ms x 64 mels (convolutions, and BatchNorm backward on 8 channels), the input
    # gradient of the mel BatchNorm at full resolution, and a 250-step BiGRU of 128 units.
    # Here a strided stem (time 2, frequency 4: kernel 3 x 4) starts the blocks at
    # 20 ms x 16 bins, the mel BatchNorm only standardises (no affine, so nothing before
    # the stem needs a gradient), and the BiGRU and embeddings are half as wide.
    "cpu_fast": ModelConfig(
        audio_encoder=CRNNConfig(channels=(8, 16, 32, 64), stem_stride=(2, 4),
                                 block_pools=((1, 2), (2, 2), (1, 1), (1, 1)), mel_bn_affine=False,
                                 embed_dim=128, gru_hidden=64),
        text_encoder=TextEncoderConfig(embed_dim=128),
    ),
}


def list_presets() -> list[str]:
    return sorted(MODEL_PRESETS)


def get_preset(name: str) -> ModelConfig:
    try:
        return MODEL_PRESETS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown model preset {name!r}; choose one of {list_presets()}") from None


def to_model_config(config: ModelConfig | Mapping[str, Any] | str) -> ModelConfig:
    """A preset name, dict or ``ModelConfig`` -> ``ModelConfig``."""
    if isinstance(config, ModelConfig):
        return config
    if isinstance(config, str):
        return get_preset(config)
    return ModelConfig.from_dict(config)


def model_config_of(model: GroundingModel) -> ModelConfig:
    """The config that rebuilds ``model``'s architecture."""
    return ModelConfig(model.audio_encoder.config, model.text_encoder.config, model.similarity.config,
                       model.interaction_config)


def build_model(
    config: ModelConfig | Mapping[str, Any] | str,
    vocab_size: int,
    front_end: FrontEnd | FrameGrid = DEFAULT_FRONT_END,
    load_pretrained: bool = True,
    words: Sequence[str] | None = None,
) -> GroundingModel:
    """Build a ``GroundingModel``; load ``audio_encoder.pretrained`` if set and ``load_pretrained``.

    ``front_end`` is checked against the encoder (n_mels, time downsampling) here, at build time.
    ``words`` (``Vocabulary.itos``) lets a MiniLM or query-graph text encoder read token ids as text.
    """
    cfg = to_model_config(config)
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 3:
        raise ConfigError(f"vocab_size must be an integer >= 3 (<pad>, <unk> and a word), got {vocab_size!r}")
    model = GroundingModel(cfg.audio_encoder, cfg.text_encoder, vocab_size, front_end, words=words,
                           similarity=cfg.similarity, interaction=cfg.interaction)
    if load_pretrained and cfg.audio_encoder.pretrained is not None:
        model.audio_encoder.load_pretrained(cfg.audio_encoder.pretrained, strict=cfg.audio_encoder.pretrained_strict)
    return model


def count_parameters(model: GroundingModel) -> dict[str, int]:
    """Trainable parameters per tower and in total (QGCA's attention and gates: ``interaction``)."""
    def n(m) -> int:
        return sum(p.numel() for p in m.parameters() if p.requires_grad)

    counts = {"audio_encoder": n(model.audio_encoder), "text_encoder": n(model.text_encoder)}
    if model.interaction is not None:
        counts["interaction"] = n(model.interaction)
    return {**counts, "total": n(model)}
