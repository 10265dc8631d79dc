"""Clip BCE (Eq. 8) by hand; the phrase-level dataset's positives, negatives and padding."""

import math

import numpy as np
import pytest
import torch

from wstag.records import Clip, Phrase, Segment
from wstag.sampling.random_sampler import RandomNegativeSampler
from wstag.text.vocabulary import Vocabulary
from wstag.training.datasets import PhraseLevelDataset, collate_phrase_batch, pad_phrase_tokens
from wstag.training.losses import clip_bce


def test_clip_bce_hand_value_and_padding_ignored():
    probs = torch.tensor([[0.9, 0.2, 0.7]])
    labels = torch.tensor([[1.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False]])  # the third phrase is padding
    expected = -(math.log(0.9) + math.log(0.8)) / 2
    assert clip_bce(probs, labels, mask).item() == pytest.approx(expected, rel=1e-6)


def test_random_sampler_never_returns_a_positive_and_fills_up():
    pool = [f"sound {i}" for i in range(50)] + ["a dog barks"]
    s = RandomNegativeSampler(pool)
    neg = s.sample(["a dog barks", "sound 3"], 32, np.random.default_rng(0))
    assert len(neg) == 30 and len(set(neg)) == 30
    assert "a dog barks" not in neg and "sound 3" not in neg
    with pytest.raises(ValueError, match="empty"):
        RandomNegativeSampler([])


class _Features(dict):
    pass


def _clip(i, phrases, segments=None):
    ph = tuple(Phrase(p, 0, len(p.split()) - 1, segments) for p in phrases)
    return Clip(f"c{i}.flac", " and ".join(phrases), tuple(" and ".join(phrases).split()), ph)


def test_dataset_labels_positives_first_and_redraws_per_epoch():
    clips = [_clip(0, ["a dog barks", "rain falls"]), _clip(1, ["a bell rings"]), _clip(2, ["a cat meows"])]
    feats = _Features({c.audio_id: np.zeros((101, 64), np.float32) for c in clips})
    vocab = Vocabulary.build(c.caption for c in clips)
    pool = [p.text for c in clips for p in c.phrases] + [f"noise {i}" for i in range(40)]
    ds = PhraseLevelDataset(clips, feats, vocab, RandomNegativeSampler(pool), n_phrases=8, seed=0)
    item = ds[0]
    assert item["labels"].tolist() == [1, 1, 0, 0, 0, 0, 0, 0]
    first = item["tokens"]
    ds.epoch = 1
    assert ds[0]["tokens"][:2] == first[:2] and ds[0]["tokens"] != first
    batch = collate_phrase_batch([ds[0], ds[1]])
    assert batch["features"].shape == (2, 101, 64)
    assert batch["phrase_mask"].sum().item() == 16


def test_dataset_refuses_strong_labels():
    seg = (Segment(0.0, 1.0),)
    with pytest.raises(ValueError, match="must not see segments"):
        PhraseLevelDataset([_clip(0, ["a dog barks"], seg)], {}, Vocabulary.build(["a dog barks"]),
                           RandomNegativeSampler(["x"]))


def test_pad_phrase_tokens_shapes():
    tokens, lengths = pad_phrase_tokens([[[2, 3], [4]], [[5, 6, 7]]])
    assert tokens.shape == (2, 2, 3)
    assert lengths.tolist() == [[2, 1], [3, 0]]
    assert tokens[1, 1].tolist() == [0, 0, 0]


def test_caption_dataset_skips_captions_without_phrases():
    from wstag.training.datasets import CaptionDataset

    empty = Clip("c9.flac", "ambient", ("ambient",), ())
    clips = [_clip(0, ["a dog barks"]), empty]
    feats = _Features({c.audio_id: np.zeros((11, 64), np.float32) for c in clips})
    ds = CaptionDataset(clips, feats, Vocabulary.build(["a dog barks ambient"]))
    assert len(ds) == 1 and ds[0]["labels"].tolist() == [1.0]


def test_strong_dataset_rasterises_segments_on_the_40ms_grid():
    from wstag.audio.frames import DEFAULT_GRID
    from wstag.training.datasets import StrongPhraseDataset, collate_strong_batch

    clip = _clip(0, ["a dog barks"], (Segment(0.2, 0.4),))
    feats = _Features({clip.audio_id: np.zeros((101, 64), np.float32)})  # 1 s -> 25 output frames
    ds = StrongPhraseDataset([clip], feats, Vocabulary.build(["a dog barks"]), DEFAULT_GRID)
    item = ds[0]
    assert item["frame_targets"].shape == (1, 25)
    assert np.flatnonzero(item["frame_targets"][0]).tolist() == [5, 6, 7, 8, 9]  # centres 0.22 .. 0.38 s
    assert collate_strong_batch([item])["frame_targets"].shape == (1, 25, 1)


def test_validation_tag_auc_is_the_roc_auc_of_clip_scores(monkeypatch):
    from wstag.models.factory import build_model
    from wstag.training.config import TrainingConfig
    from wstag.training.phrase_level import PhraseLevelModule

    module = PhraseLevelModule(build_model("cpu", vocab_size=10), TrainingConfig())
    logged = {}
    monkeypatch.setattr(module, "log", lambda name, value, **kw: logged.__setitem__(name, value))
    # positives 0.9 and 0.3, negatives 0.1 and 0.8: 3 of the 4 (pos, neg) pairs are ordered
    module._val_scores = [np.array([0.9, 0.1]), np.array([0.8, 0.3])]
    module._val_labels = [np.array([True, False]), np.array([False, True])]
    module.on_validation_epoch_end()
    assert logged["val/tag_auc"] == pytest.approx(0.75)
    assert module._val_scores == []  # reset for the next epoch
