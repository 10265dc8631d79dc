"""The Grounder: ask when phrases happen in a recording, with a trained model folder.

The audio encoder runs once per recording; its frame embeddings are cached, so a
second query on the same audio costs one text embedding and a dot product. Long
recordings are streamed in overlapping blocks (bounded memory: only the frame
embeddings of the whole file are kept), and the frames near each block's inner edges
are dropped so the bidirectional GRU always sees context on both sides.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from wstag.audio.io import iter_audio_blocks
from wstag.errors import AudioError, QueryError
from wstag.evaluation.segments import scores_to_segments
from wstag.inference.scoring import encode_phrases
from wstag.models.checkpoint import load_model

MIN_SECONDS = 0.1
BLOCK_SECONDS = 30.0
OVERLAP_SECONDS = 4.0
SILENCE = 1e-5  # peak amplitude below which a recording is called silent


@dataclass(frozen=True)
class AudioEmbedding:
    """Frame embeddings of a whole recording on the model's 40 ms grid."""

    frames: torch.Tensor  # (T, D)
    duration: float
    silent: bool


@dataclass(frozen=True)
class Grounding:
    """One phrase's answer: frame probabilities and the detected segments (seconds)."""

    phrase: str
    probabilities: np.ndarray  # (T,)
    segments: list[tuple[float, float]]
    unknown_words: list[str]


class Grounder:
    def __init__(self, model_dir: str | Path, cache_size: int = 8, threads: int | None = None):
        if threads:
            torch.set_num_threads(threads)
        self.model, self.vocab, self.config = load_model(model_dir)
        self.front_end = self.model.front_end  # what the model was trained on: rate, STFT, mels, grid
        self.grid = self.front_end.grid
        self._cache: OrderedDict[tuple, AudioEmbedding] = OrderedDict()
        self.cache_size = cache_size
        self.audio_encoder_calls = 0  # how many recordings were encoded (tests, benchmarks)

    # -- audio side ----------------------------------------------------------------------
    @torch.inference_mode()
    def embed_waveforms(self, waveforms: Sequence[np.ndarray]) -> list[torch.Tensor]:
        """A batch of mono waveforms at ``front_end.sample_rate`` -> list of (T_i, D) frame embeddings."""
        n = max(len(w) for w in waveforms)
        x = torch.zeros(len(waveforms), n)
        for i, w in enumerate(waveforms):
            x[i, : len(w)] = torch.from_numpy(np.asarray(w, dtype=np.float32))
        lengths = torch.tensor([len(w) for w in waveforms])
        emb, out_lengths = self.model.from_waveform(x, lengths)
        self.audio_encoder_calls += len(waveforms)
        return [emb[i, : out_lengths[i]] for i in range(len(waveforms))]

    def embed_file(self, path: str | Path) -> AudioEmbedding:
        """Encode a recording once (cached by path, size and modification time)."""
        path = Path(path)
        if not path.is_file():
            raise AudioError(f"{path}: no such audio file")
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        hop = self.grid.output_hop_samples
        sr = self.front_end.sample_rate
        keep = int(OVERLAP_SECONDS / 2 * sr) // hop  # frames dropped at inner block edges
        pieces: list[torch.Tensor] = []
        n_samples, peak = 0, 0.0
        blocks = iter_audio_blocks(path, BLOCK_SECONDS, sr, OVERLAP_SECONDS)
        for i, block in enumerate(blocks):
            peak = max(peak, float(np.max(np.abs(block.audio))) if len(block.audio) else 0.0)
            n_samples = block.start + len(block.audio)
            if len(block.audio) < MIN_SECONDS * sr and i == 0:
                raise AudioError(f"{path}: too short to ground ({len(block.audio) / sr:.3f} s < {MIN_SECONDS} s)")
            frames = self.embed_waveforms([block.audio])[0]
            start_frame = block.start // hop
            pieces.append((start_frame, frames))
        emb = self._stitch(pieces, keep)
        silent = peak < SILENCE
        if silent:
            warnings.warn(f"{path}: the recording is silent; every phrase will get low probabilities", stacklevel=2)
        result = AudioEmbedding(emb, n_samples / sr, silent)
        self._cache[key] = result
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return result

    @staticmethod
    def _stitch(pieces: list[tuple[int, torch.Tensor]], keep: int) -> torch.Tensor:
        """Join block embeddings, each contributing the frames up to the next block's kept start."""
        out = []
        for i, (start, frames) in enumerate(pieces):
            lo = 0 if i == 0 else keep
            hi = frames.shape[0] if i == len(pieces) - 1 else (pieces[i + 1][0] + keep - start)
            out.append(frames[lo:hi])
        return torch.cat(out, dim=0)

    # -- text side -------------------------------------------------------------------------
    def check_phrase(self, phrase: str) -> list[str]:
        """Raise for an empty phrase; return the words the model does not know."""
        if not phrase or not phrase.strip():
            raise QueryError("empty phrase: give words describing a sound, e.g. 'a dog barks'")
        unknown = self.vocab.unknown_words(phrase)
        if unknown and len(unknown) == len(phrase.split()):
            warnings.warn(f"phrase {phrase!r}: the model knows none of these words {unknown}; "
                          "the answer is what it says for an unknown word", stacklevel=2)
        return unknown

    @torch.inference_mode()
    def ground(
        self, audio: str | Path, phrases: Sequence[str], threshold: float = 0.5, median_window: int = 1
    ) -> list[Grounding]:
        """Probabilities and segments of each phrase in the recording at ``audio``."""
        if not phrases:
            raise QueryError("no phrase given")
        unknown = [self.check_phrase(p) for p in phrases]
        emb = self.embed_file(audio)
        text = encode_phrases(self.model, self.vocab, list(phrases))  # (N, D)
        probs = torch.sigmoid(emb.frames @ text.T).numpy().astype(np.float64)  # (T, N)
        out = []
        for k, phrase in enumerate(phrases):
            segs = scores_to_segments(probs[:, k], threshold=threshold, median_window=median_window,
                                      grid=self.grid, duration=emb.duration)
            out.append(Grounding(phrase, probs[:, k], [(float(a), float(b)) for a, b in segs], unknown[k]))
        return out


def to_tsv(results: Sequence[Grounding]) -> str:
    """DCASE/Audacity-style label lines: onset, offset, phrase (tab-separated, seconds)."""
    lines = ["onset\toffset\tphrase"]
    for r in results:
        lines += [f"{a:.3f}\t{b:.3f}\t{r.phrase}" for a, b in r.segments]
    return "\n".join(lines) + "\n"
