"""QGCA trains under the regimes of Table V: phrase-level WSTAG and SSTAG (and sentence-level scores).

A fixed chain parse stands in for spaCy (each word hangs on the next), so these run in
milliseconds; a few Adam steps on one batch must lower each regime's loss.
"""

from __future__ import annotations

import pytest
import torch

from wstag.models import query_graph
from wstag.models.factory import build_model
from wstag.models.pooling import get_pooling
from wstag.text.dependencies import HeadCache
from wstag.text.vocabulary import Vocabulary
from wstag.training.config import TrainingConfig
from wstag.training.datasets import pad_phrase_tokens
from wstag.training.phrase_level import PhraseLevelModule
from wstag.training.sentence_level import clip_sentence_scores
from wstag.training.strong import StrongModule

from tests.models.conftest import TINY_AUDIO

VOCAB = Vocabulary.build(["a dog barks", "rain falls while a man speaks", "birds chirp"])
QGCA = {"audio_encoder": TINY_AUDIO.to_dict(), "text_encoder": {"kind": "graph", "embed_dim": 8},
        "interaction": {"kind": "cross_gating"}}


@pytest.fixture(autouse=True)
def _chain_parse(monkeypatch):
    monkeypatch.setattr(query_graph, "HEADS", HeadCache(lambda words: tuple(min(i + 1, len(words) - 1)
                                                                          for i in range(len(words)))))


def _batch() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    phrases = [["a dog barks", "birds chirp", "rain falls"], ["a man speaks", "a dog barks"]]
    tokens, lengths = pad_phrase_tokens([[VOCAB.encode(p) for p in clip] for clip in phrases])
    labels = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    targets = torch.zeros(2, 25, 3)
    targets[0, 5:12, 0] = 1.0
    targets[1, 10:20, 0] = 1.0
    return {"features": torch.randn(2, 100, 64), "feature_lengths": torch.tensor([100, 80]), "tokens": tokens,
            "token_lengths": lengths, "labels": labels, "phrase_mask": lengths > 0, "frame_targets": targets}


def _trains(module, batch) -> tuple[float, float]:
    module.model.eval()  # no dropout or SpecAugment: the same batch gives the same loss
    optimiser = torch.optim.Adam(module.model.parameters(), lr=1e-2)
    first = None
    for _ in range(8):
        loss = module._loss(batch)
        first = float(loss.detach()) if first is None else first
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return first, float(module._loss(batch).detach())


@pytest.mark.parametrize("module_cls", [PhraseLevelModule, StrongModule])
def test_phrase_level_and_strong_regimes_lower_their_loss(module_cls):
    module = module_cls(build_model(QGCA, len(VOCAB), words=VOCAB.itos), TrainingConfig())
    first, last = _trains(module, _batch())
    assert last < first


def test_sentence_level_scores_every_clip_against_every_caption():
    model = build_model(QGCA, len(VOCAB), words=VOCAB.itos).eval()
    s_cs = clip_sentence_scores(model, _batch(), get_pooling("linear_softmax"), "mean")
    assert s_cs.shape == (2, 2) and torch.isfinite(s_cs).all()
