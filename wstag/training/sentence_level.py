"""Sentence-level WSTAG (paper III): every audio against every caption of the batch.

Frame-phrase probabilities (Eq. 3) for all B audios x B captions' phrases, audio
pooling over frames (Eq. 6) to clip-phrase scores, text pooling over each caption's
phrases to clip-sentence scores s_cs (B x B), and the max-margin ranking loss (Eq. 5).
At inference the model is used like the phrase-level one (frame-phrase probabilities).
"""

from __future__ import annotations

import torch

from wstag.training.losses import ranking_loss, text_pool
from wstag.training.phrase_level import PhraseLevelModule


def clip_sentence_scores(
    model, batch: dict[str, torch.Tensor], audio_pooling, text_pooling: str
) -> torch.Tensor:
    """s_cs (B audios, B captions), vectorised over the batch (no loop over pairs)."""
    audio_emb, out_lengths = model.encode_audio(batch["features"], batch["feature_lengths"])  # (B, T, D)
    tokens, lengths = batch["tokens"], batch["token_lengths"]  # (B, N, L), (B, N)
    b, n, l = tokens.shape
    text_emb = model.encode_text(tokens.reshape(b * n, l), lengths.reshape(b * n))  # (B*N, D)
    probs = torch.sigmoid(model.frame_phrase_logits(audio_emb, text_emb))  # (B, T, B*N)
    t = audio_emb.shape[1]
    mask = torch.arange(t, device=probs.device)[None, :] < out_lengths[:, None]  # (B, T)
    clip_phrase = audio_pooling(probs, mask).reshape(b, b, n)  # (B audios, B captions, N)
    phrase_mask = batch["phrase_mask"][None, :, :].expand(b, b, n)  # caption j's real phrases
    return text_pool(clip_phrase, phrase_mask, text_pooling)  # (B, B)


class SentenceLevelModule(PhraseLevelModule):
    """Shares the optimiser and logging of the phrase-level module; only the loss differs."""

    logs_tag_auc = False

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        s_cs = clip_sentence_scores(self.model, batch, self.pool, self.config.text_pooling)
        return ranking_loss(s_cs, self.config.margin)
