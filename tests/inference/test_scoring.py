"""Evaluation's pair scoring and the Grounder answer through the same model methods."""

import numpy as np
import torch

from tests.inference.tiny import make_model_dir, tone_clip
from wstag.inference.grounder import Grounder
from wstag.inference.scoring import score_pairs
from wstag.records import Clip, Phrase, Segment


def test_score_pairs_equals_the_grounder_on_the_same_audio(tmp_path):
    g = Grounder(make_model_dir(tmp_path / "model"))
    audio = tone_clip(seconds=10.0)  # one block: the Grounder sees what evaluation sees
    with torch.no_grad():
        feats = g.model.frontend(torch.from_numpy(audio)[None])[0].numpy()  # (T_feat, n_mels)
    phrases = (Phrase("a dog barks", 0, 2, (Segment(1.0, 1.5),)), Phrase("rain falls", 4, 5, (Segment(0.0, 10.0),)))
    clip = Clip("c.flac", "a dog barks while rain falls", tuple("a dog barks while rain falls".split()), phrases,
                duration=10.0)
    pairs = score_pairs(g.model, g.vocab, [clip], {"c.flac": feats})
    scores = g.scores(g.encode(audio, sample_rate=32000), ["a dog barks", "rain falls"])
    got = np.stack([pairs[pid] for pid in sorted(pairs)], axis=1)
    assert got.shape == scores.probabilities.shape == (250, 2)
    np.testing.assert_allclose(got, scores.probabilities, atol=1e-5)
