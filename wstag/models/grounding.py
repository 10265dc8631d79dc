"""The grounding model: CRNN + text encoder + frame-phrase similarity (paper Eq. 3 / 7).

``s_fp(t, n) = sigmoid(a_t . t_n)``: the probability that phrase n sounds in frame t.
Every training regime shares this model; they differ only in how they pool and which
loss they apply. Frame-level losses should use the logits (BCE-with-logits is stable);
clip-level losses pool the probabilities (``wstag.models.pooling``).

QGCA (Table V, ``docs/qgca.md``) replaces the dot product by an interaction: its text
encoder gives word states, and each frame attends over them before the similarity.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import torch
from torch import nn

from wstag.audio.frames import FrameGrid
from wstag.audio.frontend import DEFAULT_FRONT_END, FrontEnd
from wstag.errors import ConfigError
from wstag.models.crnn import CRNN, CRNNConfig, length_mask
from wstag.models.class_text import ClassTextEncoder, ClassTextEncoderConfig
from wstag.models.cross_gating import CROSS_GATING, CrossGatingAttention, InteractionConfig
from wstag.models.minilm_text import MiniLMTextEncoder, MiniLMTextEncoderConfig
from wstag.models.query_graph import KIND as GRAPH_KIND
from wstag.models.query_graph import QueryGraphTextEncoder, QueryGraphTextEncoderConfig
from wstag.models.similarity import Similarity, SimilarityConfig
from wstag.models.text_encoder import TextEncoder, TextEncoderConfig
from wstag.models.word_states import WordStates

TextConfig = TextEncoderConfig | MiniLMTextEncoderConfig | ClassTextEncoderConfig | QueryGraphTextEncoderConfig


def check_pairing(text: TextConfig, interaction: InteractionConfig) -> None:
    """QGCA's two halves come together: word states need the attention, the attention needs word states."""
    graph = isinstance(text, QueryGraphTextEncoderConfig)
    if interaction.kind == CROSS_GATING and not graph:
        raise ConfigError(f"model.interaction.kind {CROSS_GATING!r} attends over a phrase's words: it needs "
                          f"model.text_encoder.kind {GRAPH_KIND!r} (the query graph)")
    if graph and interaction.kind != CROSS_GATING:
        raise ConfigError(f"model.text_encoder.kind {GRAPH_KIND!r} gives word states, not one vector per phrase: "
                          f"it needs model.interaction.kind {CROSS_GATING!r} (QGCA)")


class GroundingModel(nn.Module):
    """Audio and phrases -> frame-phrase probabilities on the model's 40 ms ``grid``.

    ``front_end`` says what the audio encoder reads (``front_end.logmel()``) and on
    which grid it answers (``grid = front_end.grid``); it is checked against the CRNN
    here, so a mismatched config fails when the model is built, not at its first
    forward pass. The CRNN takes its ``n_mels`` from the front end unless its config
    names one (a saved folder does). A bare ``FrameGrid`` (older callers) means that
    grid with the default STFT and band edges: what wstag built before.

    ``text`` picks the text encoder: word embeddings (``TextEncoderConfig``), frozen
    MiniLM sentences (``MiniLMTextEncoderConfig``), which read token ids back as text
    through ``words`` (the vocabulary in id order), or QGCA's query graph
    (``QueryGraphTextEncoderConfig``, which reads them as words to parse). ``interaction``
    says how a frame meets a phrase: the paper's dot product (the default), or QGCA's
    frame-wise attention and cross-gating over the query graph's word states.
    """

    def __init__(
        self,
        audio: CRNNConfig,
        text: TextConfig,
        vocab_size: int,
        front_end: FrontEnd | FrameGrid = DEFAULT_FRONT_END,
        words: Sequence[str] | None = None,
        similarity: SimilarityConfig = SimilarityConfig(),
        interaction: InteractionConfig = InteractionConfig(),
    ) -> None:
        super().__init__()
        check_pairing(text, interaction)
        if text.embed_dim != audio.out_dim:
            raise ConfigError(f"text_encoder.embed_dim ({text.embed_dim}) must equal the audio "
                              f"embedding size 2 * audio_encoder.gru_hidden ({audio.out_dim}): "
                              f"s_fp is their dot product")
        if isinstance(front_end, FrameGrid):
            front_end = FrontEnd.from_grid(front_end, n_mels=audio.n_mels)
        if audio.n_mels is None:  # the usual case: the front end names the mel bands once
            audio = replace(audio, n_mels=front_end.n_mels)
        if audio.n_mels != front_end.n_mels:  # a saved folder's weights expect their own number
            raise ConfigError(f"model.audio_encoder.n_mels ({audio.n_mels}) must equal front_end.n_mels "
                              f"({front_end.n_mels}): the CRNN reads the front end's mel bands")
        if front_end.time_downsample != CRNN.time_downsample:
            raise ConfigError(f"front_end.time_downsample {front_end.time_downsample} does not match "
                              f"the CRNN's time pooling ({CRNN.time_downsample})")
        self.front_end = front_end
        self.grid = front_end.grid
        self.audio_encoder = CRNN(audio)
        if isinstance(text, ClassTextEncoderConfig):
            self.text_encoder = ClassTextEncoder(vocab_size, text, words)
        elif isinstance(text, MiniLMTextEncoderConfig):
            self.text_encoder = MiniLMTextEncoder(vocab_size, text, words)
        elif isinstance(text, QueryGraphTextEncoderConfig):
            self.text_encoder = QueryGraphTextEncoder(vocab_size, text, words)
        else:
            self.text_encoder = TextEncoder(vocab_size, text)
        self.similarity = Similarity(similarity)
        # Built last, and only for QGCA: the dot product's models draw and save exactly what they did before.
        self.interaction_config = interaction
        self.interaction = None if interaction.is_paper else CrossGatingAttention(audio.out_dim, interaction)
        # Buffers only, not saved: rebuilt from the front end, so checkpoints stay weights-only.
        self.frontend = front_end.logmel()

    @property
    def embed_dim(self) -> int:
        return self.audio_encoder.out_dim

    @property
    def vocab_size(self) -> int:
        return self.text_encoder.vocab_size

    @property
    def open_vocabulary(self) -> bool:
        """True when the text encoder reads any words (``encode_texts``), not only its vocabulary's."""
        return isinstance(self.text_encoder, MiniLMTextEncoder)

    @property
    def scores_by_dot_product(self) -> bool:
        """True when a phrase is one vector and a frame's logit one dot product with it (``query_vectors``).

        False for QGCA: its attention gives every frame its own reading of the phrase.
        """
        return self.interaction is None

    # -- towers
    def encode_audio(
        self, feats: torch.Tensor, feat_lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-mel (B, T_feat, M) + lengths (B,) -> (emb (B, T, D), out_lengths (B,))."""
        return self.audio_encoder(feats, feat_lengths)

    def encode_text(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor | WordStates:
        """Token ids (N, L) + lengths (N,) -> phrase embeddings (N, D), or for QGCA the words'
        states (``WordStates``: (N, L, D) and their mask), which ``frame_phrase_logits`` takes alike."""
        return self.text_encoder(tokens, lengths)

    def encode_texts(self, phrases: Sequence[str]) -> torch.Tensor:
        """Phrase texts -> (N, D), for an open-vocabulary text encoder (word encoders read token ids)."""
        if not self.open_vocabulary:
            raise TypeError("the word-embedding text encoder reads token ids: use encode_text")
        return self.text_encoder.encode_texts(phrases)

    def features(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (B, n) zero-padded + sample lengths (B,) -> (log-mel (B, T_feat, M), feat_lengths (B,))."""
        if waveform.ndim != 2:
            raise ValueError(f"waveform must be (B, n_samples), got {tuple(waveform.shape)}")
        if lengths is None:
            lengths = torch.full((waveform.shape[0],), waveform.shape[1], dtype=torch.long)
        feat_lengths = torch.tensor([self.grid.n_feature_frames(int(n)) for n in lengths],
                                    dtype=torch.long, device=waveform.device)
        return self.frontend(waveform), feat_lengths

    def from_waveform(
        self, waveform: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms (B, n) at ``grid.sample_rate``, zero-padded, + sample lengths (B,)
        -> (emb (B, T, D), out_lengths (B,)). For inference: call ``eval()`` first."""
        feats, feat_lengths = self.features(waveform, lengths)
        return self.encode_audio(feats, feat_lengths)

    # -- similarity
    @staticmethod
    def dot_products(audio_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
        """``a_t . t_n``: audio (B, T, D) with phrases per clip (B, N, D) or shared (N, D) -> (B, T, N).

        The shared form scores every clip against one phrase set (sentence-level
        training compares each clip with every caption's phrases; inference with a
        query list).
        """
        # Float32 even under bf16 autocast: the probabilities near 0 and 1 that pooling
        # and the BCE read would otherwise round to exactly 0 or 1 (8 mantissa bits).
        with torch.autocast(audio_emb.device.type, enabled=False):
            audio_emb, text_emb = audio_emb.float(), text_emb.float()
            if text_emb.ndim == 2:
                return torch.einsum("btd,nd->btn", audio_emb, text_emb)
            if text_emb.ndim == 3 and text_emb.shape[0] == audio_emb.shape[0]:
                return torch.einsum("btd,bnd->btn", audio_emb, text_emb)
        raise ValueError(f"phrase embeddings must be (N, D) or (B, N, D) with B = {audio_emb.shape[0]}, "
                         f"got {tuple(text_emb.shape)}")

    def frame_phrase_logits(self, audio_emb: torch.Tensor, text_emb: torch.Tensor | WordStates) -> torch.Tensor:
        """The logit of ``s_fp``: ``a_t . t_n`` scaled and shifted by ``similarity`` (the paper: as is);
        for QGCA ``a'_t . q'_t`` after its attention and cross-gating (``wstag.models.cross_gating``).
        Float32 throughout: the products leave autocast, and scale and bias are float32."""
        if self.interaction is None:
            if isinstance(text_emb, WordStates):
                raise TypeError("word states (a query-graph encoder's) need interaction.kind cross_gating")
            return self.similarity(self.dot_products(audio_emb, text_emb))
        if not isinstance(text_emb, WordStates):
            raise TypeError("the cross-gating interaction attends over a phrase's words: give it the query-graph "
                            "encoder's WordStates (encode_text), not phrase vectors")
        return self.similarity(self.interaction(audio_emb, text_emb))

    def frame_phrase_probs(self, audio_emb: torch.Tensor, text_emb: torch.Tensor | WordStates) -> torch.Tensor:
        """``s_fp(t, n) = sigmoid(logit)`` (Eq. 3 / 7): (B, T, N) in [0, 1]."""
        return torch.sigmoid(self.frame_phrase_logits(audio_emb, text_emb))

    def query_vectors(self, text_emb: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Phrase embeddings (N, D) -> (w (N, D), b) with ``logit = a_t . w_n + b``.

        For code that scores stored audio embeddings itself (the collection index): the
        scale folds into the phrase vector, so each phrase still costs one dot product.
        A QGCA model has no such vector (``scores_by_dot_product``) and is refused.
        """
        if not self.scores_by_dot_product:
            raise ConfigError("this model (QGCA: interaction.kind cross_gating) reads a phrase anew in every frame, "
                              "so a phrase is no single vector to score stored frames with; use a dot-product "
                              "model for the collection index and search, or Grounder.scores per recording")
        return text_emb * float(self.similarity.scale.detach()), float(self.similarity.bias.detach())

    # -- whole model
    def forward_logits(
        self,
        feats: torch.Tensor,
        feat_lengths: torch.Tensor | None,
        tokens: torch.Tensor,
        token_lengths: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-mel (B, T_feat, M), phrases per clip tokens (B, N, L) + lengths (B, N)
        -> (logits (B, T, N), mask (B, T) bool of valid output frames).

        Values at padded frames are meaningless: pool and average with ``mask``.
        """
        if tokens.ndim != 3 or token_lengths.shape != tokens.shape[:2]:
            raise ValueError(f"tokens must be (B, N, L) with lengths (B, N), got "
                             f"{tuple(tokens.shape)} and {tuple(token_lengths.shape)}")
        audio_emb, out_lengths = self.encode_audio(feats, feat_lengths)  # (B, T, D), (B,)
        b, n, l = tokens.shape
        text_emb = self.encode_text(tokens.reshape(b * n, l), token_lengths.reshape(b * n))
        per_clip = text_emb.per_clip(b, n) if isinstance(text_emb, WordStates) else text_emb.reshape(b, n, -1)
        logits = self.frame_phrase_logits(audio_emb, per_clip)  # (B, T, N)
        return logits, length_mask(out_lengths, audio_emb.shape[1])

    def forward(
        self,
        feats: torch.Tensor,
        feat_lengths: torch.Tensor | None,
        tokens: torch.Tensor,
        token_lengths: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As ``forward_logits`` but returns (probs (B, T, N), mask (B, T))."""
        logits, mask = self.forward_logits(feats, feat_lengths, tokens, token_lengths)
        return torch.sigmoid(logits), mask
