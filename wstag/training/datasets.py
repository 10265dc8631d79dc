"""Phrase-level training data: a clip's features with n phrases and their clip labels.

Each item holds the caption's phrases (label 1) and negatives drawn by a sampler
(label 0) up to n = 32 (paper IV). Only weak labels are read: the clips passed in
have no segments. Negatives are redrawn every epoch (seeded by seed, epoch, index).
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from wstag.data.feature_cache import FeatureStore, pad_features
from wstag.records import Clip
from wstag.text.vocabulary import Vocabulary


class NegativeSampler(Protocol):
    def sample(self, positives: Sequence[str], n_total: int, rng: np.random.Generator) -> list[str]: ...


def _require_weak(clips: Sequence[Clip]) -> None:
    """Weakly-supervised training must never read segments (SPEC 5.2)."""
    for c in clips:
        if any(p.segments is not None for p in c.phrases):
            raise ValueError(f"clip {c.audio_id}: weak training must not see segments")


class PhraseLevelDataset(Dataset):
    def __init__(
        self,
        clips: Sequence[Clip],
        features: FeatureStore,
        vocab: Vocabulary,
        sampler: NegativeSampler,
        n_phrases: int = 32,
        seed: int = 0,
    ):
        _require_weak(clips)
        self.clips = [c for c in clips if c.phrases]
        self.features = features
        self.vocab = vocab
        self.sampler = sampler
        self.n_phrases = n_phrases
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict:
        clip = self.clips[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        positives = list(dict.fromkeys(p.text for p in clip.phrases))[: self.n_phrases]
        negatives = self.sampler.sample(positives, self.n_phrases, rng)
        phrases = positives + negatives
        labels = np.array([1.0] * len(positives) + [0.0] * len(negatives), dtype=np.float32)
        return {
            "features": self.features[clip.audio_id],
            "tokens": [self.vocab.encode(p) for p in phrases],
            "labels": labels,
        }


def pad_phrase_tokens(token_lists: Sequence[Sequence[Sequence[int]]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (B clips x N_b phrases x L words) -> tokens (B, N, L), lengths (B, N); padded phrases have length 0."""
    b = len(token_lists)
    n = max((len(t) for t in token_lists), default=0)
    length = max((len(p) for t in token_lists for p in t), default=1)
    tokens = torch.zeros(b, n, max(length, 1), dtype=torch.long)
    lengths = torch.zeros(b, n, dtype=torch.long)
    for i, phrases in enumerate(token_lists):
        for j, ids in enumerate(phrases):
            tokens[i, j, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
            lengths[i, j] = len(ids)
    return tokens, lengths


def collate_phrase_batch(items: list[dict]) -> dict[str, torch.Tensor]:
    feats, feat_lengths = pad_features([it["features"] for it in items])
    tokens, token_lengths = pad_phrase_tokens([it["tokens"] for it in items])
    labels = torch.zeros(tokens.shape[:2])
    for i, it in enumerate(items):
        labels[i, : len(it["labels"])] = torch.from_numpy(it["labels"])
    return {
        "features": feats,  # (B, T, 64)
        "feature_lengths": feat_lengths,  # (B,)
        "tokens": tokens,  # (B, N, L)
        "token_lengths": token_lengths,  # (B, N)
        "labels": labels,  # (B, N)
        "phrase_mask": token_lengths > 0,  # (B, N)
    }


class CaptionDataset(Dataset):
    """Sentence-level data: a clip's features and its caption's phrases (no negatives:
    the other captions of the batch are the negatives of the ranking loss)."""

    def __init__(self, clips: Sequence[Clip], features: FeatureStore, vocab: Vocabulary):
        _require_weak(clips)
        self.clips = [c for c in clips if c.phrases]  # captions without a phrase cannot be ranked
        self.features = features
        self.vocab = vocab
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict:
        clip = self.clips[index]
        phrases = list(dict.fromkeys(p.text for p in clip.phrases))
        return {
            "features": self.features[clip.audio_id],
            "tokens": [self.vocab.encode(p) for p in phrases],
            "labels": np.ones(len(phrases), dtype=np.float32),
        }


class StrongPhraseDataset(Dataset):
    """SSTAG data: a clip's phrases with frame targets rasterised from their segments."""

    def __init__(self, clips: Sequence[Clip], features: FeatureStore, vocab: Vocabulary, grid):
        self.clips = [c for c in clips if c.phrases]
        for c in self.clips:
            if not c.is_strong:
                raise ValueError(f"clip {c.audio_id}: strong supervision needs segments on every phrase")
        self.features = features
        self.vocab = vocab
        self.grid = grid
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict:
        clip = self.clips[index]
        feats = self.features[clip.audio_id]
        n_out = feats.shape[0] // self.grid.time_downsample
        merged: dict[str, list] = {}
        for p in clip.phrases:  # the same text twice in a caption: one query, both segments
            merged.setdefault(p.text, []).extend((s.onset, s.offset) for s in p.segments)
        targets = np.stack([self.grid.segments_to_frame_mask(segs, n_out) for segs in merged.values()])
        return {
            "features": feats,
            "tokens": [self.vocab.encode(t) for t in merged],
            "labels": np.ones(len(merged), dtype=np.float32),
            "frame_targets": targets,  # (N, T_out)
        }


def collate_strong_batch(items: list[dict]) -> dict[str, torch.Tensor]:
    batch = collate_phrase_batch(items)
    b, n = batch["labels"].shape
    t = max(it["frame_targets"].shape[1] for it in items)
    targets = torch.zeros(b, t, n)
    for i, it in enumerate(items):
        ft = torch.from_numpy(it["frame_targets"])  # (N_i, T_i)
        targets[i, : ft.shape[1], : ft.shape[0]] = ft.T
    batch["frame_targets"] = targets  # (B, T, N)
    return batch
