"""The CRNN audio encoder of paper Table I (SPEC 1): log-mel -> one embedding per 40 ms.

recording augmentation (training, off by default) -> mel BatchNorm -> SpecAugment
(training) -> 4 conv blocks of (conv3x3 -> BN -> ReLU) x 2,
each followed by avg + max pooling ((2,2), (2,2), (1,2), (1,2) in (time, freq)) and
dropout -> mean over frequency -> dropout -> FC + ReLU -> BiGRU.

Beyond Table I (for CPUs, preset ``cpu_fast``): an optional strided stem before the
blocks (``stem_stride``), configurable block pooling (``block_pools``; stem and blocks
together always downsample time by 4, so the output grid stays 40 ms), and a mel
BatchNorm without affine parameters (``mel_bn_affine``).

Padding never leaks into valid frames (in eval mode): padded time steps are zeroed
before every convolution, so a clip padded in a batch sees exactly the zeros a clip on
its own sees from the convolution's padding; each time pooling keeps
``floor(length / 2)`` frames (what the clip alone would give); the BiGRU runs on packed
sequences, so its backward direction starts at each clip's last valid frame. In
training mode BatchNorm's batch statistics still include padded positions (they are
zeros after masking); that only shifts the normalisation slightly and is the usual
practice.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from wstag.audio.augment import RecordingAugment
from wstag.audio.features import SpecAugment
from wstag.audio.frames import N_MELS, TIME_DOWNSAMPLE  # one definition, beside the grid it makes
from wstag.errors import ConfigError

#: (time, freq) pooling after each conv block (Table I); time pools multiply to 4.
BLOCK_POOLS: tuple[tuple[int, int], ...] = ((2, 2), (2, 2), (1, 2), (1, 2))
TEMPORAL = ("bigru", "none")


@dataclass(frozen=True)
class CRNNConfig:
    """Sizes of the audio encoder (config section ``audio_encoder``); defaults = Table I."""

    # None: the front end's (``GroundingModel`` fills it, so a config names it once, in
    # ``front_end``); a saved model folder records the number its weights expect.
    n_mels: int | None = None
    channels: tuple[int, int, int, int] = (64, 128, 256, 512)
    embed_dim: int = 512  # the FC before the GRU
    gru_hidden: int = 256  # per direction; the output embedding is 2 * gru_hidden
    block_dropout: float = 0.2
    frame_dropout: float = 0.5
    specaugment: bool = True
    specaug_time_width: int = 64
    specaug_time_stripes: int = 2
    specaug_freq_width: int = 8
    specaug_freq_stripes: int = 2
    # Recording augmentation (wstag.audio.augment), not in the paper: 0 = off.
    freq_shift: int = 0  # max mel bins of random shift
    filter_gain_db: float = 0.0  # FilterAugment's max gain
    filter_bands: int = 4
    level_db: float = 0.0  # max random level change
    # A strided conv (+ BN, ReLU) before the blocks, (time, freq) stride; (1, 1) = none
    # (Table I). The blocks then start at a lower resolution, where a CPU spends most of
    # a step (the first block at 10 ms x 64 mels); the stem's time stride counts towards
    # the 4x time downsampling, so block_pools must pool time by 4 / stem_stride[0].
    stem_stride: tuple[int, int] = (1, 1)
    # False: the mel BatchNorm only standardises (no learned scale and shift), so nothing
    # before the first convolution needs a gradient and its input gradient at full
    # resolution is never computed.
    mel_bn_affine: bool = True
    block_pools: tuple[tuple[int, int], ...] = BLOCK_POOLS  # (time, freq) pooling after each block
    # What gives each frame its context after the CNN: "bigru" (Table I: the whole clip, both
    # directions) or "none" (a per-frame tanh layer of the same width: the CNN's receptive field,
    # a few hundred ms, only). "none" is a diagnostic of how much clip-wide context spreads a
    # phrase over the whole clip under weak labels (reports/learning.md).
    temporal: str = "bigru"
    pretrained: str | None = None  # checkpoint loaded into this encoder by build_model
    pretrained_strict: bool = True  # False: load the matching keys, keep the rest random

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "stem_stride", _int_pair(self.stem_stride))
        object.__setattr__(self, "block_pools", tuple(_int_pair(p) for p in self.block_pools))
        _check_config(self)

    @property
    def out_dim(self) -> int:
        """Size of each output frame embedding (BiGRU: both directions)."""
        return 2 * self.gru_hidden

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        d["stem_stride"] = list(self.stem_stride)
        d["block_pools"] = [list(p) for p in self.block_pools]
        return d

    @property
    def has_stem(self) -> bool:
        return self.stem_stride != (1, 1)


def _int_pair(value: Any) -> Any:
    """A list from YAML/JSON -> tuple; anything else unchanged (``_check_config`` judges it)."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _check_config(cfg: CRNNConfig) -> None:
    where = "audio_encoder"
    ch = cfg.channels
    if not 1 <= len(ch) <= 8 or not all(_is_int(c) and c > 0 for c in ch):
        raise ConfigError(f"{where}.channels must be 1 to 8 positive integers, got {list(ch)}")
    pairs = [cfg.stem_stride, *cfg.block_pools]
    if not all(isinstance(p, tuple) and len(p) == 2 and all(_is_int(v) and v >= 1 for v in p) for p in pairs):
        raise ConfigError(f"{where}.stem_stride and block_pools must be [time, freq] pairs of integers >= 1, "
                          f"got {list(cfg.stem_stride)} and {[list(p) for p in cfg.block_pools]}")
    if len(cfg.block_pools) != len(ch):
        raise ConfigError(f"{where}.channels ({len(ch)} blocks) and {where}.block_pools "
                          f"({len(cfg.block_pools)} [time, freq] pairs) must have one entry per block")
    time_total = math.prod(p[0] for p in pairs)
    if time_total != TIME_DOWNSAMPLE:
        raise ConfigError(f"{where}.stem_stride and block_pools downsample time by {time_total}; it must be "
                          f"{TIME_DOWNSAMPLE} (one output frame every 40 ms, as evaluation and grounding read)")
    freq_total = math.prod(p[1] for p in pairs)
    if cfg.n_mels is not None and (not _is_int(cfg.n_mels) or cfg.n_mels < freq_total):
        raise ConfigError(f"{where}.n_mels must be an integer >= {freq_total} (frequency is downsampled "
                          f"by {freq_total}), got {cfg.n_mels!r}")
    for name in ("embed_dim", "gru_hidden"):
        value = getattr(cfg, name)
        if not _is_int(value) or value <= 0:
            raise ConfigError(f"{where}.{name} must be a positive integer, got {value!r}")
    for name in ("block_dropout", "frame_dropout"):
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ConfigError(f"{where}.{name} must be a number in [0, 1), got {value!r}")
    for name in ("filter_gain_db", "level_db"):
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 40:
            raise ConfigError(f"{where}.{name} must be a number of dB in [0, 40], got {value!r}")
    if not _is_int(cfg.filter_bands) or cfg.filter_bands < 1:
        raise ConfigError(f"{where}.filter_bands must be an integer >= 1, got {cfg.filter_bands!r}")
    for name in ("freq_shift", "specaug_time_width", "specaug_time_stripes", "specaug_freq_width",
                 "specaug_freq_stripes"):
        value = getattr(cfg, name)
        if not _is_int(value) or value < 0:
            raise ConfigError(f"{where}.{name} must be an integer >= 0, got {value!r}")
    if cfg.temporal not in TEMPORAL:
        raise ConfigError(f"{where}.temporal must be one of {TEMPORAL}, got {cfg.temporal!r}")
    for name in ("specaugment", "pretrained_strict", "mel_bn_affine"):
        if not isinstance(getattr(cfg, name), bool):
            raise ConfigError(f"{where}.{name} must be true or false, got {getattr(cfg, name)!r}")
    if cfg.pretrained is not None and not isinstance(cfg.pretrained, (str, os.PathLike)):
        raise ConfigError(f"{where}.pretrained must be a path or null, got {cfg.pretrained!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


CRNN_FIELDS = frozenset(f.name for f in fields(CRNNConfig))


def length_mask(lengths: torch.Tensor, size: int) -> torch.Tensor:
    """(B,) lengths -> (B, size) bool, True on the first ``lengths[b]`` steps."""
    return torch.arange(size, device=lengths.device)[None, :] < lengths[:, None]


class ConvBlock(nn.Module):
    """(conv3x3 -> BN -> ReLU) x 2, then avg + max pooling and dropout."""

    def __init__(self, c_in: int, c_out: int, pool: tuple[int, int], dropout: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)  # BN supplies the bias
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.pool = pool
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        """x (B, C_in, T, F), zero on padded steps; pad (B, 1, T, 1) bool or None (no padding)."""
        x = F.relu(self.bn1(self.conv1(x)))  # (B, C_out, T, F)
        if pad is not None:
            x = x.masked_fill(pad, 0.0)  # the second conv must see zeros past the end
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.avg_pool2d(x, self.pool) + F.max_pool2d(x, self.pool)  # (B, C_out, T/pt, F/pf)
        return self.dropout(x)


class StridedStem(nn.Module):
    """A conv with a (time, freq) stride -> BN -> ReLU: the blocks start at a lower resolution.

    A clip of T frames keeps ``T // stride_t`` of them (what a time pooling would keep),
    so lengths, and the 40 ms output grid, follow the same floor rule as without a stem.
    """

    def __init__(self, c_out: int, stride: tuple[int, int]) -> None:
        super().__init__()
        self.stride = stride
        # Kernel 3 (padding 1) up to stride 3; a larger stride s gets kernel s (no padding),
        # so every input bin is seen once rather than skipped.
        kernel = tuple(3 if s <= 3 else s for s in stride)
        padding = tuple(1 if k == 3 else 0 for k in kernel)
        self.conv = nn.Conv2d(1, c_out, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 1, T, F), zero past each clip's length -> (B, C, T // s_t, ceil(F / s_f)), lengths."""
        keep = x.shape[2] // self.stride[0]
        x = F.relu(self.bn(self.conv(x)[:, :, :keep]))
        return x, torch.div(lengths, self.stride[0], rounding_mode="floor")


class CRNN(nn.Module):
    """Log-mel (B, T, n_mels) + valid lengths -> (B, T // 4, 2 * gru_hidden) + lengths."""

    time_downsample = TIME_DOWNSAMPLE

    def __init__(self, config: CRNNConfig = CRNNConfig()) -> None:
        super().__init__()
        if config.n_mels is None:  # alone (no front end to take it from): SPEC 1's bands
            config = replace(config, n_mels=N_MELS)
        self.config = config
        self.augment = RecordingAugment(config.freq_shift, config.filter_gain_db, config.filter_bands,
                                        config.level_db)
        self.mel_bn = nn.BatchNorm1d(config.n_mels, affine=config.mel_bn_affine)
        self.spec_augment = (
            SpecAugment(config.specaug_time_width, config.specaug_time_stripes,
                        config.specaug_freq_width, config.specaug_freq_stripes)
            if config.specaugment else nn.Identity()
        )
        self.stem = StridedStem(config.channels[0], config.stem_stride) if config.has_stem else None
        c_in = (config.channels[0] if self.stem else 1, *config.channels[:-1])
        self.blocks = nn.ModuleList(
            ConvBlock(ci, co, pool, config.block_dropout)
            for ci, co, pool in zip(c_in, config.channels, config.block_pools)
        )
        self.frame_dropout = nn.Dropout(config.frame_dropout)
        self.fc = nn.Linear(config.channels[-1], config.embed_dim)
        if config.temporal == "bigru":
            self.gru = nn.GRU(config.embed_dim, config.gru_hidden, batch_first=True, bidirectional=True)
        else:
            self.frame_out = nn.Linear(config.embed_dim, 2 * config.gru_hidden)

    @property
    def out_dim(self) -> int:
        return self.config.out_dim

    def output_lengths(self, feat_lengths: torch.Tensor) -> torch.Tensor:
        """Valid output frames per clip: ``n_feature_frames // 4`` (the FrameGrid rule)."""
        return torch.div(feat_lengths, self.time_downsample, rounding_mode="floor")

    def forward(
        self, feats: torch.Tensor, feat_lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """feats (B, T, n_mels), feat_lengths (B,) -> (emb (B, T // 4, D), out_lengths (B,)).

        Embeddings at padded output frames are 0.
        """
        if feats.ndim != 3 or feats.shape[2] != self.config.n_mels:
            raise ValueError(f"CRNN expects log-mel (B, T, {self.config.n_mels}), got {tuple(feats.shape)}")
        b, t, _ = feats.shape
        if feat_lengths is None:
            feat_lengths = torch.full((b,), t, dtype=torch.long, device=feats.device)
        feat_lengths = feat_lengths.to(device=feats.device, dtype=torch.long)
        if feat_lengths.shape != (b,) or bool((feat_lengths < 0).any()) or bool((feat_lengths > t).any()):
            raise ValueError(f"feat_lengths must be (B,) = ({b},) values in [0, {t}], "
                             f"got {feat_lengths.tolist()}")
        padded = bool((feat_lengths < t).any())  # else skip all masking: nothing to leak

        x = self.augment(feats)  # padded steps stay ignored: they are masked before every conv
        x = self.mel_bn(x.reshape(b * t, feats.shape[2]))  # (B*T, M): statistics per mel bin
        x = self.spec_augment(x.reshape(feats.shape))  # (B, T, M); fills with 0 = the mean after BN
        # (B, 1, T, M) with channels_last strides (a view): every conv, BN and pooling after
        # it then runs channels_last, ~1.5x faster on CPU with few channels (oneDNN).
        x = x[..., None].permute(0, 3, 1, 2)
        lengths = feat_lengths

        def zero_padding(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
            """Zero the steps past each clip's length before a convolution; also return the mask."""
            if not padded:
                return x, None
            pad = ~length_mask(lengths, x.shape[2])[:, None, :, None]  # (B, 1, T, 1)
            return x.masked_fill(pad, 0.0), pad

        if self.stem is not None:
            x, lengths = self.stem(zero_padding(x)[0], lengths)
        for block in self.blocks:
            x = block(*zero_padding(x))  # (B, C, T', F')
            lengths = torch.div(lengths, block.pool[0], rounding_mode="floor")
        x = x.mean(dim=3).transpose(1, 2)  # (B, T // 4, C): mean over frequency
        x = F.relu(self.fc(self.frame_dropout(x)))  # (B, T4, embed_dim)
        if self.config.temporal == "none":  # each frame on its own, in the BiGRU's range [-1, 1]
            out = torch.tanh(self.frame_out(x))
            return out.masked_fill(~length_mask(lengths, out.shape[1])[:, :, None], 0.0) if padded else out, lengths
        return self._bigru(x, lengths, padded), lengths

    def _bigru(self, x: torch.Tensor, lengths: torch.Tensor, padded: bool) -> torch.Tensor:
        """x (B, T4, E) -> (B, T4, 2H); packed when padded so each direction sees only its clip."""
        b, t4, _ = x.shape
        if t4 == 0:
            return x.new_zeros(b, 0, self.out_dim)
        if not padded:
            return self.gru(x)[0]
        packed = pack_padded_sequence(x, lengths.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=t4)  # (B, T4, 2H)
        if bool((lengths == 0).any()):  # a clip shorter than one output frame: nothing valid
            out = out.masked_fill((lengths == 0)[:, None, None], 0.0)
        return out

    # -- pretrained weights (SPEC 1: audio_encoder.pretrained)
    def load_pretrained(self, path: str | os.PathLike, strict: bool = True) -> list[str]:
        """Load a checkpoint (safetensors, or a torch state dict) into this encoder.

        Accepts the encoder's own keys or any common prefix of them (``audio_encoder.``
        from a wstag model, ``model.audio_encoder.`` from Lightning, ``module.``, ...),
        and ``{"state_dict": ...}`` / ``{"model": ...}`` wrappers. Shape mismatches are
        always an error; missing or unexpected keys are an error when ``strict``,
        otherwise the missing ones keep their initial values and are returned.
        """
        path = Path(path)
        state = _read_state_dict(path)
        own = self.state_dict()
        prefix = _best_prefix(state, own)
        if prefix is None:
            raise ConfigError(f"pretrained audio encoder {path}: none of its {len(state)} keys match "
                              f"the CRNN (e.g. it has {sorted(state)[:3]}, the CRNN expects "
                              f"{list(own)[:3]})")
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        mismatched = [f"{k} {tuple(sub[k].shape)} vs {tuple(v.shape)}"
                      for k, v in own.items() if k in sub and sub[k].shape != v.shape]
        if mismatched:
            raise ConfigError(f"pretrained audio encoder {path}: shapes do not match the configured "
                              f"CRNN (file vs model): {_few(mismatched)}; check audio_encoder.channels, "
                              f"embed_dim and gru_hidden")
        missing = [k for k in own if k not in sub and not k.endswith("num_batches_tracked")]
        unexpected = [k for k in sub if k not in own]
        if strict and (missing or unexpected):
            parts = ([f"missing {_few(missing)}"] if missing else []) + (
                [f"unexpected {_few(unexpected)}"] if unexpected else [])
            raise ConfigError(f"pretrained audio encoder {path}: keys do not match the CRNN: "
                              f"{'; '.join(parts)} (set audio_encoder.pretrained_strict: false to "
                              f"load only the matching ones)")
        self.load_state_dict({k: v for k, v in sub.items() if k in own}, strict=False)
        return missing


def _few(items: list[str], n: int = 5) -> str:
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ConfigError(f"pretrained audio encoder {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt files raise many types
        raise ConfigError(f"pretrained audio encoder {path} cannot be read: {exc}") from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"pretrained audio encoder {path} is not a state dict of tensors")
    return state


def _best_prefix(state: dict[str, torch.Tensor], own: dict[str, torch.Tensor]) -> str | None:
    """The key prefix under which ``state`` holds the most of ``own``'s keys (None: no match)."""
    votes: Counter[str] = Counter()
    for key in state:
        for own_key in own:
            if key == own_key or key.endswith("." + own_key):
                votes[key[: len(key) - len(own_key)]] += 1
    return votes.most_common(1)[0][0] if votes else None
