"""Score (clip, phrase) pairs with a trained model: frame probabilities per pair.

Each clip's audio is encoded once; every phrase asked of it (its own, or the
wrong-query control's) reuses those frame embeddings (the text side is one embedding
lookup and a dot product). The similarity is ``GroundingModel.frame_phrase_probs``, the
one training optimises, so evaluation cannot drift from it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import torch

from wstag.audio.frontend import FEATURE_FIELDS
from wstag.data.feature_cache import FeatureStore, pad_features
from wstag.errors import ConfigError
from wstag.evaluation.pairs import evaluation_pairs
from wstag.models.grounding import GroundingModel
from wstag.models.text_encoder import pad_token_ids
from wstag.records import Clip
from wstag.text.vocabulary import Vocabulary


def encode_phrases(model: GroundingModel, vocab: Vocabulary, texts: Sequence[str]) -> torch.Tensor:
    """Phrase texts -> (N, D) embeddings; a phrase of only unknown words maps to `<unk>`
    (an open-vocabulary text encoder reads the texts themselves)."""
    if model.open_vocabulary:
        return model.encode_texts(list(texts))
    return model.encode_text(*pad_token_ids([vocab.encode(t) or [1] for t in texts]))


@torch.inference_mode()
def score_pairs(
    model: GroundingModel,
    vocab: Vocabulary,
    clips: Iterable[Clip],
    features: Mapping[str, np.ndarray],
    queries: Mapping[str, str] | None = None,
    batch_size: int = 32,
    progress: Callable | None = None,
) -> dict[str, np.ndarray]:
    """pair id -> (T,) probabilities; ``queries`` replaces a pair's phrase text (controls).

    ``features`` must come from the model's front end: a ``FeatureStore`` opened for
    another one is refused, and any features with another number of mel bands too.
    """
    model.eval()
    front_end = model.front_end
    if isinstance(features, FeatureStore) and features.front_end is not None:
        diff = features.front_end.describe_difference(front_end, only=FEATURE_FIELDS)
        if diff:
            raise ConfigError(f"{features.path}: features are for another front end than the model's "
                              f"({diff}, features vs model)")
    wrap = progress or (lambda it, **kw: it)
    by_clip: dict[str, list[tuple[str, str]]] = defaultdict(list)
    clip_of: dict[str, Clip] = {}
    for pid, clip, idx in evaluation_pairs(clips):
        text = queries[pid] if queries is not None else clip.phrases[idx].text
        by_clip[clip.audio_id].append((pid, text))
        clip_of[clip.audio_id] = clip
    ids = list(by_clip)
    out: dict[str, np.ndarray] = {}
    batches = [ids[i: i + batch_size] for i in range(0, len(ids), batch_size)]
    for batch in wrap(batches, total=len(batches), desc="scoring"):
        x, lengths = pad_features([features[a] for a in batch])  # (B, T, n_mels), (B,)
        if x.shape[2] != front_end.n_mels:
            raise ConfigError(f"features of {batch[0]!r} have {x.shape[2]} mel bands; the model reads "
                              f"{front_end.n_mels} (front_end.n_mels)")
        emb, out_lengths = model.encode_audio(x, lengths)  # (B, T, D), (B,)
        for b, audio_id in enumerate(batch):
            pids, texts = zip(*by_clip[audio_id])
            text_emb = encode_phrases(model, vocab, texts)  # (N, D)
            probs = model.frame_phrase_probs(emb[b: b + 1, : out_lengths[b]], text_emb)[0]  # (T, N)
            for k, pid in enumerate(pids):
                out[pid] = probs[:, k].cpu().numpy().astype(np.float64)
    return out
