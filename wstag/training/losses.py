"""Loss functions of the paper's training regimes, as small pure functions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-7


def clip_bce(clip_probs: torch.Tensor, labels: torch.Tensor, phrase_mask: torch.Tensor) -> torch.Tensor:
    """Eq. 8: mean BCE between pooled clip-phrase probabilities and 0/1 (or soft) labels.

    clip_probs, labels, phrase_mask: (B, N); padded phrases (mask False) do not count.
    """
    p = clip_probs.clamp(EPS, 1 - EPS)
    loss = F.binary_cross_entropy(p, labels, reduction="none")
    mask = phrase_mask.to(loss.dtype)
    return (loss * mask).sum() / mask.sum().clamp_min(1)


def text_pool(clip_phrase: torch.Tensor, phrase_mask: torch.Tensor, mode: str) -> torch.Tensor:
    """Eq. 4, Pool_T: clip-phrase scores (..., N) -> clip-sentence scores (...), padded phrases ignored.

    ``mode`` "mean" averages over the caption's phrases, "sum" adds them (paper III-B).
    """
    mask = phrase_mask.to(clip_phrase.dtype)
    total = (clip_phrase * mask).sum(-1)
    if mode == "sum":
        return total
    if mode == "mean":
        return total / mask.sum(-1).clamp_min(1)
    raise ValueError(f"text pooling must be 'mean' or 'sum', got {mode!r}")


def ranking_loss(s_cs: torch.Tensor, margin: float) -> torch.Tensor:
    """Eq. 5: max-margin ranking over a batch's clip-sentence scores s_cs (B audios x B captions).

    L = 1/B sum_i sum_{j != i} max(0, m + s(i, j) - s(i, i)) + max(0, m + s(j, i) - s(i, i)).
    A batch of one pair has no negatives: the loss is 0 (and carries no gradient signal).
    """
    b = s_cs.shape[0]
    if s_cs.ndim != 2 or s_cs.shape[1] != b:
        raise ValueError(f"s_cs must be square (B, B), got {tuple(s_cs.shape)}")
    diag = s_cs.diagonal()  # (B,)
    off = ~torch.eye(b, dtype=torch.bool, device=s_cs.device)
    wrong_caption = (margin + s_cs - diag[:, None]).clamp_min(0)  # L_t(i, j): audio i, caption j
    wrong_audio = (margin + s_cs.T - diag[:, None]).clamp_min(0)  # L_a(i, j): audio j, caption i
    return ((wrong_caption + wrong_audio) * off).sum() / b


def frame_bce(
    logits: torch.Tensor, targets: torch.Tensor, frame_mask: torch.Tensor, phrase_mask: torch.Tensor
) -> torch.Tensor:
    """Mean frame-level BCE over valid frames of valid phrases (SSTAG; Eq. 10's strong term).

    logits, targets: (B, T, N); frame_mask (B, T); phrase_mask (B, N). Targets may be soft.
    """
    t = min(logits.shape[1], targets.shape[1])
    loss = F.binary_cross_entropy_with_logits(logits[:, :t], targets[:, :t], reduction="none")
    mask = (frame_mask[:, :t, None] & phrase_mask[:, None, :]).to(loss.dtype)
    return (loss * mask).sum() / mask.sum().clamp_min(1)


def self_supervised_loss(
    student_logits: torch.Tensor,
    student_clip: torch.Tensor,
    labels: torch.Tensor,
    teacher_frame: torch.Tensor,
    teacher_clip: torch.Tensor,
    frame_mask: torch.Tensor,
    phrase_mask: torch.Tensor,
    frame_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 9-10: (total, frame term, clip term) of phrase-level self-supervision.

    The clip term is Eq. 8 with y_refined(n) = max(y(n), y_self(n)): a sampled negative
    the teacher hears in the clip stops being pushed to 0. The frame term is the BCE of
    the student's frame logits against the teacher's frame probabilities y_self(t, n),
    averaged over valid frames of valid phrases: frame-level targets a weak label lacks.
    student_logits, teacher_frame: (B, T, N); student_clip, labels, teacher_clip,
    phrase_mask: (B, N); frame_mask: (B, T).
    """
    refined = torch.maximum(labels, teacher_clip.to(labels.dtype))
    clip = clip_bce(student_clip, refined, phrase_mask)
    frame = frame_bce(student_logits, teacher_frame.to(student_logits.dtype), frame_mask, phrase_mask)
    return frame_weight * frame + clip, frame, clip
