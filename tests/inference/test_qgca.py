"""A QGCA model folder in the Grounder, in evaluation's pair scoring, and refused by the collection index.

QGCA reads each phrase anew in every frame (docs/qgca.md): per-recording answers work as for
any model, while the index, which scores stored frames with one vector per phrase, refuses it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.inference.tiny import CAPTIONS, tone_clip
from wstag.errors import ConfigError
from wstag.index import Index
from wstag.inference.grounder import Grounder
from wstag.inference.scoring import score_pairs
from wstag.models.checkpoint import save_model
from wstag.models.factory import build_model
from wstag.records import Clip, Phrase, Segment
from wstag.text.vocabulary import Vocabulary

QGCA = {"preset": "cpu_fast", "text_encoder": {"kind": "graph"}, "interaction": {"kind": "cross_gating"}}


@pytest.fixture(scope="module")
def grounder(tmp_path_factory) -> Grounder:
    torch.manual_seed(0)
    vocab = Vocabulary.build(CAPTIONS)
    model = build_model(QGCA, len(vocab), words=vocab.itos).eval()
    return Grounder.load(save_model(tmp_path_factory.mktemp("qgca") / "model", model, vocab), device="cpu")


def test_the_grounder_answers_phrases_and_equals_pair_scoring(grounder):
    audio = tone_clip(seconds=10.0)
    scores = grounder.scores(grounder.encode(audio, sample_rate=32000), ["a dog barks", "rain falls", "a man speaks"])
    assert scores.probabilities.shape == (250, 3) and np.isfinite(scores.probabilities).all()
    assert not np.allclose(scores.probabilities[:, 0], scores.probabilities[:, 1])
    with torch.no_grad():
        feats = grounder.model.frontend(torch.from_numpy(audio)[None])[0].numpy()
    phrases = (Phrase("a dog barks", 0, 2, (Segment(1.0, 1.5),)), Phrase("rain falls", 4, 5, (Segment(0.0, 10.0),)))
    clip = Clip("c.flac", "a dog barks while rain falls", tuple("a dog barks while rain falls".split()), phrases,
                duration=10.0)
    pairs = score_pairs(grounder.model, grounder.vocab, [clip], {"c.flac": feats})
    got = np.stack([pairs[pid] for pid in sorted(pairs)], axis=1)
    np.testing.assert_allclose(got, scores.probabilities[:, :2], atol=1e-5)


def test_a_long_recording_is_answered_frame_by_frame(grounder, tmp_path):
    path = tmp_path / "long.flac"
    sf.write(path, tone_clip(seconds=40.0), 32000)  # streamed in overlapping 30 s blocks
    detections = grounder.ground(path, ["a dog barks"], threshold=0.0)
    assert detections.scores.probabilities.shape == (1000, 1)


def test_the_collection_index_refuses_a_qgca_model(grounder, tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "a.wav", tone_clip(seconds=2.0), 32000)
    with pytest.raises(ConfigError, match="QGCA model .* cannot be searched by one dot product"):
        Index.build(audio, grounder, tmp_path / "index")
    assert not (Path(tmp_path) / "index").exists()
