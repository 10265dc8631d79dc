"""The CLAP bi-encoder behind Alg. 1 and 2's phrase embeddings."""

import math

import numpy as np
import pytest
import torch

from wstag.errors import ConfigError, ModelFolderError
from wstag.models.clap import ClapConfig, ClapModel, contrastive_loss, load_clap, save_clap
from wstag.text.vocabulary import Vocabulary

SMALL = ClapConfig(channels=(8, 16), word_dim=12, embed_dim=6)


def test_contrastive_loss_hand_value():
    # diagonal 1, off-diagonal 0: each row's CE is log(1 + e^-1) in both directions
    assert contrastive_loss(torch.eye(2)).item() == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)
    # a wrong pairing costs more than a right one
    assert contrastive_loss(torch.tensor([[0.0, 5.0], [5.0, 0.0]])) > contrastive_loss(5 * torch.eye(2))


def test_audio_embeddings_are_unit_norm_and_ignore_padding():
    torch.manual_seed(0)
    model = ClapModel(10, SMALL).eval()
    short = torch.randn(1, 301, 64)
    padded = torch.cat([short, torch.full((1, 200, 64), 7.0)], dim=1)
    a = model.encode_audio(short, torch.tensor([301]))
    b = model.encode_audio(padded, torch.tensor([301]))
    assert torch.allclose(a, b, atol=1e-5)
    assert a.norm(dim=-1).item() == pytest.approx(1.0, abs=1e-5)


def test_text_embeddings_are_unit_norm_and_word_order_free():
    torch.manual_seed(0)
    vocab = Vocabulary.build(["a dog barks", "a cat meows"])
    model = ClapModel(len(vocab), SMALL)
    e = model.embed_texts(["a dog barks", "barks dog a", "a cat meows"], vocab)
    assert e.shape == (3, 6)
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert np.allclose(e[0], e[1], atol=1e-6)
    assert model.training  # embed_texts restores the mode it found


def test_save_load_round_trip(tmp_path):
    vocab = Vocabulary.build(["a dog barks"])
    model = ClapModel(len(vocab), SMALL)
    save_clap(tmp_path / "clap", model, vocab, extra={"epochs": 3})
    loaded, vocab2 = load_clap(tmp_path / "clap")
    assert vocab2 == vocab and loaded.config == SMALL
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])


def test_bad_folders_and_configs_raise_clear_errors(tmp_path):
    with pytest.raises(ModelFolderError, match="has no clap.json"):
        load_clap(tmp_path)
    vocab = Vocabulary.build(["a dog barks"])
    save_clap(tmp_path / "c", ClapModel(len(vocab), SMALL), vocab)
    (tmp_path / "c" / "clap.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelFolderError, match="cannot be loaded"):
        load_clap(tmp_path / "c")
    with pytest.raises(ConfigError, match="clap.channels"):
        ClapConfig(channels=())
    with pytest.raises(ConfigError, match="unknown keys"):
        ClapConfig.from_dict({"chanels": [8]})
