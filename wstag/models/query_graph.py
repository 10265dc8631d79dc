"""QGCA's text encoder (Tang et al. 2021, the paper's [58]): graph convolution over a phrase's words.

A phrase is a graph: its words are the nodes, each joined to its syntactic head
(``wstag.text.dependencies``; undirected edges, a self-loop on every word). Word
embeddings (random init, as the paper's encoder) pass through ``layers`` graph
convolutions, ``H <- H + ReLU(A_hat H W + b)`` with ``A_hat = D^-1/2 (A + I) D^-1/2``
(Kipf and Welling's propagation). The residual is ours: without it a two-word phrase,
whose normalised graph averages both words, would give both words one state after a
single layer, and the attention could no longer tell them apart (docs/qgca.md).

The encoder returns every word's state (``WordStates``), not one vector per phrase:
``wstag.models.cross_gating`` attends over them for each audio frame. Training batches
carry token ids, read back as words with the vocabulary (``words``) to look up their
parse, as the MiniLM encoder reads them; a parse is made once per distinct phrase.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Sequence

import torch
from torch import nn

from wstag.errors import ConfigError
from wstag.models.word_states import WordStates
from wstag.text.dependencies import HEADS, PARSER, Heads, HeadCache, require_parser

KIND = "graph"
#: Vocabulary ids that are not words: <pad> and <unk> (``wstag.text.vocabulary``).
_UNK_ID = 1
#: What an ``<unk>`` word is parsed as: a plain noun, so the known words keep a sensible parse.
UNK_WORD = "thing"


@dataclass(frozen=True)
class QueryGraphTextEncoderConfig:
    """Config section ``text_encoder`` with ``kind: graph``; pairs with ``interaction.kind: cross_gating``."""

    kind: str = KIND
    embed_dim: int = 512
    layers: int = 2  # graph convolutions (0: the word embeddings as they are)
    parser: str = PARSER

    def __post_init__(self) -> None:
        if self.kind != KIND:
            raise ConfigError(f"text_encoder.kind must be {KIND!r} here, got {self.kind!r}")
        for key, low in (("embed_dim", 1), ("layers", 0)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"text_encoder.{key} must be an integer >= {low}, got {value!r}")
        if self.parser != PARSER:
            raise ConfigError(f"text_encoder.parser must be {PARSER!r} (the dependency parser wstag installs), "
                              f"got {self.parser!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


GRAPH_FIELDS = frozenset(f.name for f in fields(QueryGraphTextEncoderConfig))


def graph_adjacency(heads: Sequence[Heads], length: int) -> torch.Tensor:
    """Each phrase's heads -> ``A_hat = D^-1/2 (A + I) D^-1/2``, (N, length, length); padded words have no edges."""
    phrase, row, col = [], [], []
    for p, hs in enumerate(heads):
        if len(hs) > length:
            raise ValueError(f"phrase {p} has {len(hs)} words, more than the {length} positions given")
        for i, h in enumerate(hs):  # a self-loop, and the edge to the head both ways (the root's head is itself)
            phrase += [p, p, p]
            row += [i, i, h]
            col += [i, h, i]
    adjacency = torch.zeros(len(heads), length, length)
    adjacency[phrase, row, col] = 1.0
    degree = adjacency.sum(dim=-1)  # (N, L); 0 at padded words
    scale = torch.where(degree > 0, degree.clamp_min(1.0).rsqrt(), 0.0)
    return scale[:, :, None] * adjacency * scale[:, None, :]


class QueryGraphTextEncoder(nn.Module):
    """Token ids (N, L) + lengths (N,) -> ``WordStates`` ((N, L, D) word states, (N, L) mask).

    ``words`` is the vocabulary in id order (``Vocabulary.itos``), to read ids as the
    words the parser sees; ``heads`` the parse behind a cache (the process's, unless a
    test gives one). A phrase of length 0 (padding) has no word: its mask row is empty.
    """

    open_vocabulary = False

    def __init__(self, vocab_size: int, config: QueryGraphTextEncoderConfig = QueryGraphTextEncoderConfig(),
                 words: Sequence[str] | None = None, heads: HeadCache | None = None) -> None:
        super().__init__()
        if vocab_size < 3:
            raise ConfigError(f"vocab_size must be >= 3 (<pad>, <unk> and a word), got {vocab_size}")
        if words is not None and len(words) != vocab_size:
            raise ValueError(f"words has {len(words)} entries but vocab_size is {vocab_size}")
        if heads is None:
            require_parser()
        self.config = config
        self.words = list(words) if words is not None else None
        self.heads = heads if heads is not None else HEADS
        d = config.embed_dim
        self.embedding = nn.Embedding(vocab_size, d, padding_idx=0)
        nn.init.normal_(self.embedding.weight, std=d ** -0.5)  # as the word encoder starts: s_fp not saturated
        with torch.no_grad():
            self.embedding.weight[0].zero_()
        self.convolutions = nn.ModuleList(nn.Linear(d, d) for _ in range(config.layers))

    @property
    def vocab_size(self) -> int:
        return self.embedding.num_embeddings

    def phrase_words(self, tokens: torch.Tensor, lengths: torch.Tensor) -> list[tuple[str, ...]]:
        """The words each row's ids stand for, as the parser reads them (``<unk>`` as ``UNK_WORD``)."""
        if self.words is None:
            raise ValueError("this query-graph text encoder has no vocabulary to read token ids as words "
                             "(build it with words=vocab.itos)")
        rows, counts = tokens.tolist(), lengths.tolist()
        if any(n < 0 or n > tokens.shape[1] for n in counts):
            raise ValueError(f"token lengths must lie in [0, {tokens.shape[1]}], got {counts}")
        return [tuple(UNK_WORD if i == _UNK_ID else self.words[i] for i in row[:n]) for row, n in zip(rows, counts)]

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> WordStates:
        if tokens.ndim != 2 or lengths.shape != tokens.shape[:1]:
            raise ValueError(f"QueryGraphTextEncoder expects tokens (N, L) and lengths (N,), got "
                             f"{tuple(tokens.shape)} and {tuple(lengths.shape)}")
        heads = [self.heads(words) for words in self.phrase_words(tokens, lengths)]
        weight = self.embedding.weight
        adjacency = graph_adjacency(heads, tokens.shape[1]).to(device=weight.device, dtype=weight.dtype)  # (N, L, L)
        mask = torch.arange(tokens.shape[1], device=tokens.device)[None, :] < lengths.to(tokens.device)[:, None]
        h = self.embedding(tokens)  # (N, L, D)
        for convolution in self.convolutions:
            h = h + torch.relu(adjacency @ convolution(h))  # padded words: no edges, nothing in or out
        return WordStates(torch.where(mask[:, :, None], h, 0.0), mask)
