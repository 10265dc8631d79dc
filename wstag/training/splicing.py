"""Spliced clips: two training clips joined in time, each half scored on its own phrases.

Weak labels say *which* phrases a clip holds, never *where*; the clip BCE (Eq. 8) then
constrains only the pooled probability, and a model may mark a present phrase over the
whole clip (the demo's background phrases sit near 0.9 everywhere, and the spread of
such per-query offsets is most of the gap between its within-clip and pooled frame AUC:
``reports/learning/frame-diagnosis-sstag.md``). Joining clip A and clip B end to end
adds a constraint the captions do support, without any timestamp: A's phrases must be
present somewhere in A's frames and absent from B's, and the other way round. Each half
is pooled and scored as a clip of its own, over its own phrases (caption positives and
sampled negatives, as drawn) plus the other clip's positives as negatives: the hardest
negatives there are, a sound the model hears in the same recording a few seconds away.
A positive of the other clip spelled exactly as one of the half's own positives is left
out (it is in both halves). Paraphrases are not caught, as in random sampling.

The encoder sees one recording of ``len(A) + len(B)`` frames, so an epoch of spliced
pairs costs about the frames of its clips; evaluation never splices.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn.utils.rnn import pad_sequence


@dataclass(frozen=True)
class SplicedBatch:
    """A batch of joined (and single) clips, and the halves the loss pools over.

    ``batch`` has the phrase-level keys (features, feature_lengths, tokens, token_lengths,
    labels, phrase_mask) over 2 N phrase slots (a clip's N, then its partner's N).
    ``example`` (S,) is the row of ``batch`` each half lies in; ``start`` / ``end`` (S,)
    its feature frames; ``labels`` / ``mask`` (S, 2 N) its targets; ``own`` (S, 2 N) marks
    the half's own phrases (what the training tag AUC reads, comparable with unspliced runs).
    """

    batch: dict[str, torch.Tensor]
    example: torch.Tensor
    start: torch.Tensor
    end: torch.Tensor
    labels: torch.Tensor
    mask: torch.Tensor
    own: torch.Tensor


def _same_text(tokens_a: torch.Tensor, lengths_a: torch.Tensor, tokens_b: torch.Tensor,
               lengths_b: torch.Tensor) -> torch.Tensor:
    """(N_a, L), (N_a,), (N_b, L), (N_b,) -> (N_b,): phrase b is spelled as some phrase of a."""
    same = (tokens_b[:, None, :] == tokens_a[None, :, :]).all(-1) & (lengths_b[:, None] == lengths_a[None, :])
    return same.any(1)


def splice_batch(batch: dict[str, torch.Tensor], rate: float, generator: torch.Generator | None = None) -> SplicedBatch:
    """Join about ``rate`` of the batch's clips in random pairs; the rest stay single.

    Every example gets 2 N phrase slots (a single clip's second N are padding), so joined
    and single clips share one forward pass.
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"splice rate must lie in [0, 1], got {rate!r}")
    feats, lengths = batch["features"], batch["feature_lengths"]
    tokens, token_lengths = batch["tokens"], batch["token_lengths"]
    labels, mask = batch["labels"], batch["phrase_mask"]
    b, n = labels.shape
    order = torch.randperm(b, generator=generator).tolist()
    n_pairs = min(b // 2, int(torch.binomial(torch.tensor(b / 2.0), torch.tensor(rate), generator=generator).item())
                  if 0 < rate < 1 else (b // 2 if rate == 1 else 0))
    groups = [order[2 * k: 2 * k + 2] for k in range(n_pairs)] + [[i] for i in order[2 * n_pairs:]]

    pieces, ex_tokens, ex_token_lengths = [], [], []
    example, start, end, seg_labels, seg_mask, seg_own = [], [], [], [], [], []
    no_phrases = torch.zeros_like(tokens[0]), torch.zeros_like(token_lengths[0])
    zeros = torch.zeros(n, dtype=labels.dtype, device=labels.device)  # the other clip's phrases: all negatives
    off = torch.zeros(n, dtype=torch.bool, device=labels.device)
    for e, group in enumerate(groups):
        clip_feats = [feats[i, : int(lengths[i])] for i in group]
        pieces.append(torch.cat(clip_feats, 0))
        partner = group[1] if len(group) == 2 else None
        first = group[0]
        ex_tokens.append(torch.cat([tokens[first], tokens[partner] if partner is not None else no_phrases[0]], 0))
        ex_token_lengths.append(torch.cat([token_lengths[first],
                                           token_lengths[partner] if partner is not None else no_phrases[1]], 0))
        at = 0
        for side, i in enumerate(group):
            other = group[1 - side] if partner is not None else None
            if other is None:
                other_mask = off
            else:  # the other clip's positives, as negatives of this half (unless spelled as one of its own)
                positive = (labels[other] > 0.5) & mask[other]
                own_pos = (labels[i] > 0.5) & mask[i]
                dup = _same_text(tokens[i][own_pos], token_lengths[i][own_pos], tokens[other], token_lengths[other])
                other_mask = positive & ~dup
            halves = (labels[i], zeros) if side == 0 else (zeros, labels[i])
            masks = (mask[i], other_mask) if side == 0 else (other_mask, mask[i])
            owns = (mask[i], off) if side == 0 else (off, mask[i])
            example.append(e)
            start.append(at)
            at += int(lengths[i])
            end.append(at)
            seg_labels.append(torch.cat(halves))
            seg_mask.append(torch.cat(masks))
            seg_own.append(torch.cat(owns))
    joined = pad_sequence(pieces, batch_first=True)  # zeros past each length, as the collate pads
    joined_lengths = torch.tensor([len(p) for p in pieces], dtype=torch.long, device=lengths.device)
    ex_tok = torch.stack(ex_tokens)
    ex_len = torch.stack(ex_token_lengths)
    out = {"features": joined, "feature_lengths": joined_lengths, "tokens": ex_tok, "token_lengths": ex_len,
           "phrase_mask": ex_len > 0}
    index = dict(dtype=torch.long, device=lengths.device)
    return SplicedBatch(out, torch.tensor(example, **index), torch.tensor(start, **index), torch.tensor(end, **index),
                        torch.stack(seg_labels), torch.stack(seg_mask), torch.stack(seg_own))


def half_masks(spliced: SplicedBatch, out_mask: torch.Tensor, time_downsample: int) -> torch.Tensor:
    """(S, T_out): the output frames of each half (feature frames // ``time_downsample``)."""
    t = torch.arange(out_mask.shape[1], device=out_mask.device)
    lo = torch.div(spliced.start, time_downsample, rounding_mode="floor")
    hi = torch.div(spliced.end, time_downsample, rounding_mode="floor")
    inside = (t[None, :] >= lo[:, None]) & (t[None, :] < hi[:, None])
    return inside & out_mask[spliced.example]
