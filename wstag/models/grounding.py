"""The grounding model: CRNN + text encoder + frame-phrase similarity (paper Eq. 3 / 7).

``s_fp(t, n) = sigmoid(a_t . t_n)``: the probability that phrase n sounds in frame t.
Every training regime shares this model; they differ only in how they pool and which
loss they apply. Frame-level losses should use the logits (BCE-with-logits is stable);
clip-level losses pool the probabilities (``wstag.models.pooling``).
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
from wstag.models.minilm_text import MiniLMTextEncoder, MiniLMTextEncoderConfig
from wstag.models.similarity import Similarity, SimilarityConfig
from wstag.models.text_encoder import TextEncoder, TextEncoderConfig


class GroundingModel(nn.Module):
    """Audio and phrases -> frame-phrase probabilities on the model's 40 ms ``grid``.

    ``front_end`` says what the audio encoder reads (``front_end.logmel()``) and on
    which grid it answers (``grid = front_end.grid``); it is checked against the CRNN
    here, so a mismatched config fails when the model is built, not at its first
    forward pass. The CRNN takes its ``n_mels`` from the front end unless its config
    names one (a saved folder does). A bare ``FrameGrid`` (older callers) means that
    grid with the default STFT and band edges: what wstag built before.

    ``text`` picks the text encoder: word embeddings (``TextEncoderConfig``) or frozen
    MiniLM sentences (``MiniLMTextEncoderConfig``), which read token ids back as text
    through ``words`` (the vocabulary in id order).
    """

    def __init__(
        self,
        audio: CRNNConfig,
        text: TextEncoderConfig | MiniLMTextEncoderConfig,
        vocab_size: int,
        front_end: FrontEnd | FrameGrid = DEFAULT_FRONT_END,
        words: Sequence[str] | None = None,
        similarity: SimilarityConfig = SimilarityConfig(),
    ) -> None:
        super().__init__()
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
        else:
            self.text_encoder = TextEncoder(vocab_size, text)
        self.similarity = Similarity(similarity)
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

    # -- towers
    def encode_audio(
        self, feats: torch.Tensor, feat_lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-mel (B, T_feat, M) + lengths (B,) -> (emb (B, T, D), out_lengths (B,))."""
        return self.audio_encoder(feats, feat_lengths)

    def encode_text(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Token ids (N, L) + lengths (N,) -> phrase embeddings (N, D)."""
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

    def frame_phrase_logits(self, audio_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
        """The logit of ``s_fp``: ``a_t . t_n`` scaled and shifted by ``similarity`` (the paper: as is).
        Float32 throughout: ``dot_products`` leaves autocast, and scale and bias are float32."""
        return self.similarity(self.dot_products(audio_emb, text_emb))

    def frame_phrase_probs(self, audio_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
        """``s_fp(t, n) = sigmoid(logit)`` (Eq. 3 / 7): (B, T, N) in [0, 1]."""
        return torch.sigmoid(self.frame_phrase_logits(audio_emb, text_emb))

    def query_vectors(self, text_emb: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Phrase embeddings (N, D) -> (w (N, D), b) with ``logit = a_t . w_n + b``.

        For code that scores stored audio embeddings itself (the collection index): the
        scale folds into the phrase vector, so each phrase still costs one dot product.
        """
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
        logits = self.frame_phrase_logits(audio_emb, text_emb.reshape(b, n, -1))  # (B, T, N)
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
