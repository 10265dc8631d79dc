"""The MiniLM text encoder: projection, the sentence cache, what is saved, the missing-model refusal.

A fake sentence model (a fixed vector per text, recorded calls) stands in for MiniLM
here; the real one runs in tests/cli/test_open_vocabulary.py.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from wstag.errors import ConfigError, ModelFolderError
from wstag.models import minilm_text
from wstag.models.checkpoint import load_model, save_model
from wstag.models.factory import ModelConfig, build_model, count_parameters
from wstag.models.minilm_text import (
    SENTENCE_DIM, MiniLMTextEncoder, MiniLMTextEncoderConfig, SentenceCache,
)
from wstag.models.text_encoder import TextEncoderConfig, pad_token_ids
from wstag.text.vocabulary import Vocabulary

from .conftest import TINY_AUDIO

VOCAB = Vocabulary.build(["a dog barks", "rain falls while a man speaks"])


class FakeSentences:
    """texts -> a fixed unit vector per text; records each call's batch."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        rows = []
        for t in texts:
            rng = np.random.default_rng(sum(map(ord, t)) + 1000 * len(t))
            v = rng.standard_normal(SENTENCE_DIM)
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32)


@pytest.fixture
def fake() -> FakeSentences:
    return FakeSentences()


def _encoder(fake: FakeSentences, hidden: int = 0, embed_dim: int = 8) -> MiniLMTextEncoder:
    return MiniLMTextEncoder(len(VOCAB), MiniLMTextEncoderConfig(embed_dim=embed_dim, hidden=hidden),
                             words=VOCAB.itos, sentences=SentenceCache(fake))


@pytest.mark.parametrize("hidden", [0, 16])
def test_projection_shapes_and_zero_rows_for_padded_phrases(fake, hidden):
    enc = _encoder(fake, hidden)
    tokens, lengths = pad_token_ids([VOCAB.encode("a dog barks"), [], VOCAB.encode("rain falls")])
    out = enc(tokens, lengths)
    assert out.shape == (3, 8)
    assert (out[1] == 0).all() and (out[0] != 0).any() and (out[2] != 0).any()
    assert enc.encode_texts(["a man speaks", "rain"]).shape == (2, 8)
    n_params = sum(p.numel() for p in enc.parameters())
    assert n_params == (SENTENCE_DIM * 8 + 8 if hidden == 0 else SENTENCE_DIM * 16 + 16 + 16 * 8 + 8)


def test_token_ids_and_text_read_the_same_sentence(fake):
    enc = _encoder(fake)
    by_ids = enc(*pad_token_ids([VOCAB.encode("a dog barks")]))
    by_text = enc.encode_texts(["A dog barks."])  # tokenised as training phrases are
    torch.testing.assert_close(by_ids, by_text)
    assert fake.calls == [["a dog barks"]]


def test_each_distinct_phrase_runs_the_sentence_model_once_and_alone(fake):
    enc = _encoder(fake)
    ids = [VOCAB.encode(t) for t in ("a dog barks", "rain falls", "a dog barks", "a man speaks")]
    first = enc(*pad_token_ids(ids))
    assert enc.sentences.model_calls == 3 and len(enc.sentences) == 3
    again = enc(*pad_token_ids(ids[::-1]))
    assert enc.sentences.model_calls == 3  # every row a cache hit
    torch.testing.assert_close(again, first.flip(0))
    enc.encode_texts(["a canine yelps"])  # a new phrase runs the model live
    assert enc.sentences.model_calls == 4
    assert all(len(batch) == 1 for batch in fake.calls)  # one text per call: no batch-dependent vectors


def test_unknown_ids_are_left_out_of_the_sentence(fake):
    enc = _encoder(fake)
    enc(torch.tensor([[VOCAB.encode("dog")[0], VOCAB.unk_index, VOCAB.encode("barks")[0]]]), torch.tensor([3]))
    assert fake.calls == [["dog barks"]]


def test_the_sentence_model_is_frozen_and_outside_the_state_dict(fake):
    enc = _encoder(fake)
    assert sorted(enc.state_dict()) == ["projection.bias", "projection.weight"]
    enc.encode_texts(["a dog barks"]).sum().backward()
    assert enc.projection.weight.grad is not None  # the projection trains


def test_deepcopy_shares_the_cache_and_copies_the_weights(fake):
    enc = _encoder(fake)
    twin = copy.deepcopy(enc)  # what the EMA of the weights does
    assert twin.sentences is enc.sentences
    assert twin.projection.weight is not enc.projection.weight


def test_initial_scale_matches_the_word_encoder(fake):
    enc = _encoder(fake, embed_dim=128)
    out = enc.encode_texts([f"phrase {i}" for i in range(200)])
    assert out.pow(2).sum(1).mean().item() == pytest.approx(1.0, rel=0.2)  # |t| ~ 1, as D^-1/2 word rows


def test_errors_are_one_clear_line(fake):
    with pytest.raises(ConfigError, match=r"text_encoder.hidden must be an integer >= 0"):
        MiniLMTextEncoderConfig(hidden=-1)
    with pytest.raises(ConfigError, match=r"text_encoder.text_model must be 'all-MiniLM-L6-v2'"):
        MiniLMTextEncoderConfig(text_model="bert-base")
    with pytest.raises(ValueError, match="no vocabulary to read token ids"):
        MiniLMTextEncoder(5, MiniLMTextEncoderConfig(embed_dim=8), sentences=SentenceCache(fake))(
            torch.tensor([[2]]), torch.tensor([1]))
    with pytest.raises(ValueError, match="words has 2 entries but vocab_size is 5"):
        MiniLMTextEncoder(5, words=["<pad>", "<unk>"], sentences=SentenceCache(fake))


# -- configs: the word encoder's stay as they were -------------------------------------------------
def test_kind_selects_the_encoder_and_the_word_config_is_unchanged():
    word = ModelConfig.from_dict({"preset": "cpu_fast"})
    assert word.to_dict()["text_encoder"] == {"embed_dim": 128}  # what existing folders and hashes hold
    assert ModelConfig.from_dict({"preset": "cpu_fast", "text_encoder": {"kind": "word"}}) == word
    cfg = ModelConfig.from_dict({"preset": "cpu_fast", "text_encoder": {"kind": "minilm", "hidden": 32}})
    assert cfg.text_encoder == MiniLMTextEncoderConfig(embed_dim=128, hidden=32)
    assert cfg.to_dict()["text_encoder"] == {"kind": "minilm", "embed_dim": 128, "hidden": 32,
                                            "text_model": "all-MiniLM-L6-v2"}
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg  # what load_model reads back


@pytest.mark.parametrize("section,message", [
    ({"kind": "glove"}, r"model.text_encoder.kind must be one of \('word', 'minilm', 'class', 'graph'\), got 'glove'"),
    ({"kind": "minilm", "dropout": 0.1}, r"unknown key model.text_encoder.dropout"),
    ({"kind": "word", "hidden": 8}, r"unknown key model.text_encoder.hidden"),
    ({"kind": "minilm", "embed_dim": 64}, r"model.text_encoder.embed_dim \(64\) must equal"),
])
def test_bad_text_encoder_sections_name_the_key(section, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig.from_dict({"preset": "cpu_fast", "text_encoder": section})


# -- model folders -----------------------------------------------------------------------------------
def _minilm_model():
    cfg = ModelConfig(TINY_AUDIO, MiniLMTextEncoderConfig(embed_dim=8))
    return build_model(cfg, len(VOCAB), words=VOCAB.itos)


@pytest.fixture
def fake_process_cache(monkeypatch, fake):
    monkeypatch.setattr(minilm_text, "SENTENCES", SentenceCache(fake))


def test_a_folder_holds_the_projection_and_names_the_text_model(tmp_path, fake_process_cache):
    model = _minilm_model().eval()
    assert count_parameters(model)["text_encoder"] == SENTENCE_DIM * 8 + 8
    folder = save_model(tmp_path / "m", model, VOCAB)
    weights = load_file(str(folder / "model.safetensors"))
    assert [k for k in weights if k.startswith("text_encoder.")] == ["text_encoder.projection.bias",
                                                                     "text_encoder.projection.weight"]
    config = json.loads((folder / "config.json").read_text())
    assert config["model"]["text_encoder"]["text_model"] == "all-MiniLM-L6-v2"
    loaded, vocab, _ = load_model(folder)
    assert loaded.open_vocabulary and loaded.text_encoder.words == VOCAB.itos
    torch.testing.assert_close(loaded.encode_texts(["a canine yelps"]), model.encode_texts(["a canine yelps"]))
    ids = pad_token_ids([VOCAB.encode("a dog barks")])
    torch.testing.assert_close(loaded.encode_text(*ids), model.encode_text(*ids))


def test_loading_without_the_text_model_is_refused_in_one_line(tmp_path, fake_process_cache, monkeypatch):
    folder = save_model(tmp_path / "m", _minilm_model(), VOCAB)
    from wstag.text import sbert

    def missing():
        raise ConfigError("SBERT phrase embeddings need the all-MiniLM-L6-v2 package: pip install x")

    monkeypatch.setattr(sbert, "sbert_model_folder", missing)
    with pytest.raises(ModelFolderError) as err:
        load_model(folder)
    message = str(err.value)
    assert message.startswith(f"model folder {folder}: the open-vocabulary text encoder needs the "
                              f"all-MiniLM-L6-v2 sentence model, which is not installed here: pip install")
    assert "\n" not in message


def test_a_word_model_says_it_reads_token_ids():
    model = build_model(ModelConfig(TINY_AUDIO, TextEncoderConfig(embed_dim=8)), len(VOCAB))
    assert not model.open_vocabulary
    with pytest.raises(TypeError, match="reads token ids"):
        model.encode_texts(["a dog barks"])
