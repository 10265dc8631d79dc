import pytest
import torch

from wstag.errors import ConfigError
from wstag.models.text_encoder import TextEncoder, TextEncoderConfig


def _encoder() -> TextEncoder:
    enc = TextEncoder(6, TextEncoderConfig(embed_dim=2))
    with torch.no_grad():  # rows: <pad>, <unk>, then four words
        enc.embedding.weight.copy_(torch.tensor(
            [[0.0, 0.0], [9.0, -9.0], [1.0, 2.0], [3.0, 4.0], [5.0, -6.0], [0.5, 0.5]]))
    return enc


def test_mean_of_word_vectors_by_hand() -> None:
    tokens = torch.tensor([[2, 3, 4], [2, 3, 0], [5, 0, 0]])  # (N, L)
    out = _encoder()(tokens, torch.tensor([3, 2, 1]))
    expected = torch.tensor([[(1 + 3 + 5) / 3, (2 + 4 - 6) / 3], [2.0, 3.0], [0.5, 0.5]])
    torch.testing.assert_close(out, expected)


def test_positions_past_the_length_are_ignored() -> None:
    enc = _encoder()
    clean = enc(torch.tensor([[2, 3, 0, 0]]), torch.tensor([2]))
    garbage = enc(torch.tensor([[2, 3, 4, 1]]), torch.tensor([2]))  # real ids in the padding
    torch.testing.assert_close(clean, garbage)


def test_unk_is_an_ordinary_row() -> None:
    out = _encoder()(torch.tensor([[1, 2]]), torch.tensor([2]))
    torch.testing.assert_close(out, torch.tensor([[5.0, -3.5]]))


def test_zero_length_gives_zero_vector() -> None:
    out = _encoder()(torch.tensor([[0, 0]]), torch.tensor([0]))
    assert (out == 0).all()


def test_pad_row_is_zero_and_gets_no_gradient() -> None:
    enc = TextEncoder(10, TextEncoderConfig(embed_dim=4))
    assert (enc.embedding.weight[0] == 0).all()
    enc(torch.tensor([[3, 0], [0, 0]]), torch.tensor([2, 2])).sum().backward()
    assert (enc.embedding.weight.grad[0] == 0).all()


def test_initial_scale_keeps_sigmoid_unsaturated() -> None:
    enc = TextEncoder(1000, TextEncoderConfig(embed_dim=512))
    assert enc.embedding.weight[1:].std().item() == pytest.approx(512 ** -0.5, rel=0.05)


def test_errors() -> None:
    with pytest.raises(ConfigError, match="vocab_size"):
        TextEncoder(2)
    with pytest.raises(ConfigError, match="text_encoder.embed_dim"):
        TextEncoderConfig(embed_dim=0)
    with pytest.raises(ValueError, match="lengths"):
        _encoder()(torch.tensor([[2, 3]]), torch.tensor([3]))
