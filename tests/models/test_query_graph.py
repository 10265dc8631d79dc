"""QGCA's query-graph text encoder: the normalised graph by hand, word states, masks, config errors.

A fixed parse (a ``HeadCache`` with a lookup table) stands in for spaCy here, so each
graph is known; tests/text/test_dependencies.py runs the real parser.
"""

from __future__ import annotations

import math

import pytest
import torch

from wstag.errors import ConfigError
from wstag.models.query_graph import (
    UNK_WORD, QueryGraphTextEncoder, QueryGraphTextEncoderConfig, graph_adjacency,
)
from wstag.models.text_encoder import pad_token_ids
from wstag.models.word_states import WordStates
from wstag.text.dependencies import HeadCache
from wstag.text.vocabulary import Vocabulary

VOCAB = Vocabulary.build(["a dog barks", "a man speaks loudly"])
PARSES = {("a", "dog", "barks"): (1, 2, 2), ("a", "man", "speaks", "loudly"): (1, 2, 2, 2),
          ("dog",): (0,), ("a", UNK_WORD, "barks"): (1, 2, 2)}


def _heads(parses=PARSES) -> HeadCache:
    return HeadCache(lambda words: parses[tuple(words)])


def _encoder(layers: int = 2, embed_dim: int = 8, parses=PARSES) -> QueryGraphTextEncoder:
    return QueryGraphTextEncoder(len(VOCAB), QueryGraphTextEncoderConfig(embed_dim=embed_dim, layers=layers),
                                 words=VOCAB.itos, heads=_heads(parses))


def _tokens(*phrases: str) -> tuple[torch.Tensor, torch.Tensor]:
    return pad_token_ids([VOCAB.encode(p) if p else [] for p in phrases])


def test_a_small_parse_gives_the_hand_computed_graph():
    # "a dog barks": edges a-dog and dog-barks, a self-loop each; degrees with the loop 2, 3, 2
    a_hat = graph_adjacency([(1, 2, 2)], 4)[0]
    s6 = 1 / math.sqrt(6)
    expected = torch.tensor([[1 / 2, s6, 0, 0],
                             [s6, 1 / 3, s6, 0],
                             [0, s6, 1 / 2, 0],
                             [0, 0, 0, 0]])  # position 3 is padding: no edge, no loop
    assert torch.allclose(a_hat, expected)
    assert torch.equal(a_hat, a_hat.T)


def test_the_graph_of_several_phrases_keeps_each_to_its_own_words():
    a_hat = graph_adjacency([(0,), (1, 2, 2, 2), ()], 4)  # one word, a star around "speaks", an empty phrase
    assert a_hat.shape == (3, 4, 4)
    assert a_hat[0, 0, 0] == 1 and a_hat[0].sum() == 1
    assert torch.allclose(a_hat[1, 2, 2], torch.tensor(1 / 3))  # "speaks": its loop, "man" and "loudly"
    assert a_hat[1, 0, 2] == 0 and a_hat[1, 0, 1] > 0  # "a" hangs on "man", not on "speaks"
    assert not a_hat[2].any()
    with pytest.raises(ValueError, match="more than the 2 positions"):
        graph_adjacency([(1, 2, 2)], 2)


def test_word_states_shapes_and_masks():
    enc = _encoder()
    tokens, lengths = _tokens("a dog barks", "dog", "")
    out = enc(tokens, lengths)
    assert isinstance(out, WordStates)
    assert out.states.shape == (3, 3, 8) and out.mask.tolist() == [[True] * 3, [True, False, False], [False] * 3]
    assert not out.states[1, 1:].any() and not out.states[2].any()  # padded words and the empty phrase: zeros
    assert torch.isfinite(out.states).all()


def test_no_convolution_leaves_the_word_embeddings():
    enc = _encoder(layers=0)
    tokens, lengths = _tokens("a dog barks")
    assert torch.equal(enc(tokens, lengths).states[0], enc.embedding(tokens[0]))


def test_one_convolution_is_the_residual_gcn_by_hand():
    enc = _encoder(layers=1)
    tokens, lengths = _tokens("a dog barks")
    h0 = enc.embedding(tokens[0])  # (3, D)
    a_hat = graph_adjacency([(1, 2, 2)], 3)[0]
    conv = enc.convolutions[0]
    expected = h0 + torch.relu(a_hat @ (h0 @ conv.weight.T + conv.bias))
    assert torch.allclose(enc(tokens, lengths).states[0], expected, atol=1e-6)


def test_the_parse_shapes_the_states_and_padding_changes_nothing():
    tokens, lengths = _tokens("a dog barks")
    chain = _encoder()
    torch.manual_seed(0)
    star = _encoder(parses={("a", "dog", "barks"): (2, 2, 2)})
    star.load_state_dict(chain.state_dict())
    assert not torch.allclose(chain(tokens, lengths).states, star(tokens, lengths).states)
    padded = torch.cat([tokens, torch.zeros(1, 2, dtype=torch.long)], dim=1)  # two more padded positions
    assert torch.allclose(chain(padded, lengths).states[:, :3], chain(tokens, lengths).states)


def test_ids_are_read_back_as_words_and_unknown_ones_parse_as_a_noun():
    seen = []
    enc = QueryGraphTextEncoder(len(VOCAB), QueryGraphTextEncoderConfig(embed_dim=8), words=VOCAB.itos,
                                heads=HeadCache(lambda words: seen.append(words) or PARSES[tuple(words)]))
    tokens, lengths = pad_token_ids([VOCAB.encode("a xylophone barks")])
    enc(tokens, lengths)
    assert seen == [("a", UNK_WORD, "barks")]
    enc(tokens, lengths)
    assert len(seen) == 1  # parsed once per distinct phrase


def test_token_ids_need_the_vocabulary_and_valid_lengths():
    enc = QueryGraphTextEncoder(len(VOCAB), QueryGraphTextEncoderConfig(embed_dim=8), heads=_heads())
    tokens, lengths = _tokens("a dog barks")
    with pytest.raises(ValueError, match="no vocabulary"):
        enc(tokens, lengths)
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, 3\]"):
        _encoder()(tokens, torch.tensor([4]))
    with pytest.raises(ValueError, match="expects tokens"):
        _encoder()(tokens[0], lengths)
    with pytest.raises(ValueError, match="words has 2 entries"):
        QueryGraphTextEncoder(len(VOCAB), QueryGraphTextEncoderConfig(embed_dim=8), words=["a", "b"], heads=_heads())


@pytest.mark.parametrize("kwargs,message", [
    ({"layers": -1}, "text_encoder.layers must be an integer >= 0"),
    ({"layers": 1.5}, "text_encoder.layers must be an integer"),
    ({"embed_dim": 0}, "text_encoder.embed_dim must be an integer >= 1"),
    ({"parser": "stanza"}, "text_encoder.parser must be"),
    ({"kind": "word"}, "text_encoder.kind must be 'graph'"),
])
def test_bad_configs_name_the_key(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        QueryGraphTextEncoderConfig(**kwargs)
