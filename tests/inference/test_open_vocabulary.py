"""A MiniLM model folder in the Grounder and in evaluation scoring: any words, no refusal but empty ones.

A fake sentence model stands in for MiniLM (the real one: tests/cli/test_open_vocabulary.py).
"""

import warnings

import pytest
import torch

from wstag.errors import QueryError
from wstag.inference.grounder import Grounder
from wstag.inference.scoring import encode_phrases
from wstag.models import minilm_text
from wstag.models.checkpoint import save_model
from wstag.models.factory import build_model
from wstag.models.minilm_text import SentenceCache
from wstag.text.vocabulary import Vocabulary
from tests.inference.tiny import CAPTIONS, write_clip
from tests.models.test_minilm_text import FakeSentences


@pytest.fixture
def grounder(tmp_path, monkeypatch):
    monkeypatch.setattr(minilm_text, "SENTENCES", SentenceCache(FakeSentences()))
    torch.manual_seed(0)
    vocab = Vocabulary.build(CAPTIONS)
    model = build_model({"preset": "cpu_fast", "text_encoder": {"kind": "minilm"}}, len(vocab), words=vocab.itos)
    return Grounder.load(save_model(tmp_path / "model", model.eval(), vocab), device="cpu")


def test_a_phrase_of_unseen_words_is_answered_without_a_warning(grounder, tmp_path):
    clip = write_clip(tmp_path / "clip.wav")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "ignored the words" warning
        s = grounder.scores(clip, ["a canine yelps", "a dog barks"])
    assert s.probabilities.shape == (125, 2) and s.ignored_words == ((), ())
    assert not torch.allclose(torch.from_numpy(s.probabilities[:, 0]), torch.from_numpy(s.probabilities[:, 1]))
    assert grounder.check_phrase("a xylophone glissando") == []


@pytest.mark.parametrize("phrase,message", [("the", "no word that names a sound"), ("  ", "empty phrase"),
                                            ("...", "no words to look up")])
def test_only_phrases_naming_nothing_are_refused(grounder, phrase, message):
    with pytest.raises(QueryError, match=message):
        grounder.embed_phrases([phrase])


def test_evaluation_scoring_reads_the_text_not_the_vocabulary(grounder):
    model, vocab = grounder.model, grounder.vocab
    unseen = encode_phrases(model, vocab, ["a canine yelps", "a hound bays"])  # both all-<unk> for the vocab
    torch.testing.assert_close(unseen, model.encode_texts(["a canine yelps", "a hound bays"]))
    assert not torch.allclose(unseen[0], unseen[1])
