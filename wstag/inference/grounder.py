"""The Grounder: ask when phrases happen in a recording, with a trained model folder.

``encode`` runs the audio encoder once per recording and returns its frame embeddings
(``Encoded``); ``scores`` and ``ground`` then cost one text embedding and a dot product
per phrase, through the same ``GroundingModel`` methods training uses
(``encode_audio``, ``encode_text``, ``frame_phrase_probs``). Files are also cached by
path, size and modification time, so passing the same path again does not re-encode it.

Long recordings are streamed in overlapping blocks (bounded memory: only the frame
embeddings of the whole file are kept), and the frames near each block's inner edges
are dropped so the bidirectional GRU always sees context on both sides.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import soxr
import torch

from wstag.audio.io import RESAMPLE_QUALITY, AudioBlock, iter_audio_blocks, validate_waveform
from wstag.errors import AudioError, ConfigError, QueryError
from wstag.inference.formats import to_tsv  # noqa: F401 - re-exported: older callers import it from here
from wstag.inference.queries import check_median, check_phrases, check_threshold
from wstag.inference.results import Detection, Detections, Encoded, Scores  # noqa: F401 - the public types
from wstag.models.checkpoint import CONFIG, WEIGHTS, load_model
from wstag.models.text_encoder import pad_token_ids
from wstag.shipped import resolve_model
from wstag.text.queries import check_open_phrase, phrase_token_ids

MIN_SECONDS = 0.1
BLOCK_SECONDS = 30.0
OVERLAP_SECONDS = 4.0
SILENCE = 1e-5  # peak amplitude below which a recording is called silent

#: The name ``embed_file`` results had before ``Encoded``.
AudioEmbedding = Encoded

Audio = str | os.PathLike | Encoded


class Grounder:
    """A trained model folder, ready to encode recordings and answer phrases about them."""

    def __init__(self, model_dir: str | os.PathLike, cache_size: int = 8, threads: int | None = None,
                 device: str | torch.device = "cpu") -> None:
        if threads:
            torch.set_num_threads(threads)
        self.model_dir = resolve_model(model_dir)  # a folder, or the name of a shipped model ("default")
        self.device = resolve_device(device)
        self.model, self.vocab, self.config = load_model(self.model_dir, device=self.device)
        self.model_id = _fingerprint(self.model_dir)
        self.front_end = self.model.front_end  # what the model was trained on: rate, STFT, mels, grid
        self.grid = self.front_end.grid
        self._cache: OrderedDict[tuple, Encoded] = OrderedDict()
        self.cache_size = cache_size
        self.audio_encoder_calls = 0  # how many recordings were encoded (tests, benchmarks)

    @classmethod
    def load(cls, model_dir: str | os.PathLike, device: str | torch.device = "auto", **kwargs) -> "Grounder":
        """Load a model folder, or a shipped model by name (``"default"``; an existing path wins);
        ``device="auto"`` takes a CUDA GPU when there is one."""
        return cls(model_dir, device=device, **kwargs)

    # -- audio side ----------------------------------------------------------------------
    @torch.no_grad()
    def embed_waveforms(self, waveforms: Sequence[np.ndarray]) -> list[torch.Tensor]:
        """A batch of mono waveforms at ``front_end.sample_rate`` -> list of (T_i, D) frame embeddings (CPU)."""
        n = max(len(w) for w in waveforms)
        x = torch.zeros(len(waveforms), n)
        for i, w in enumerate(waveforms):
            x[i, : len(w)] = torch.from_numpy(np.asarray(w, dtype=np.float32))
        lengths = torch.tensor([len(w) for w in waveforms])
        emb, out_lengths = self.model.from_waveform(x.to(self.device), lengths.to(self.device))
        self.audio_encoder_calls += len(waveforms)
        emb = emb.float().cpu()
        return [emb[i, : int(out_lengths[i])] for i in range(len(waveforms))]

    def encode(self, audio: str | os.PathLike | np.ndarray | torch.Tensor, sample_rate: int | None = None,
               name: str | None = None) -> Encoded:
        """Run the audio encoder once; query the result with ``scores``/``ground`` as often as needed.

        ``audio`` is a file (any format ``wstag.audio.io`` reads; cached) or a waveform
        array, (n,) or (n, channels), whose ``sample_rate`` must then be given: a wrong
        rate would silently shift every time.
        """
        if isinstance(audio, (str, os.PathLike)):
            if sample_rate is not None:
                raise ValueError("sample_rate is for waveform arrays; a file says its own rate")
            return self.embed_file(audio)
        if isinstance(audio, Encoded):
            return audio
        if sample_rate is None:
            raise ValueError("encode(array) needs sample_rate=, the rate the samples were recorded at")
        if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        name = name or "<array>"
        wave = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
        if wave.ndim == 2:  # (n, channels), as soundfile reads it
            wave = wave.mean(axis=1)
        wave = validate_waveform(wave, name, sample_rate=int(sample_rate))
        sr = self.front_end.sample_rate
        if int(sample_rate) != sr:
            wave = soxr.resample(wave, int(sample_rate), sr, quality=RESAMPLE_QUALITY).astype(np.float32)
        return self._encode_blocks(_array_blocks(wave, sr), name)

    def embed_file(self, path: str | os.PathLike) -> Encoded:
        """Encode a file once (cached by path, size and modification time)."""
        path = Path(path)
        if not path.exists():
            raise AudioError(f"{path}: audio file not found")
        if not path.is_file():
            raise AudioError(f"{path}: is not an audio file (a directory?)")
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        sr = self.front_end.sample_rate
        result = self._encode_blocks(iter_audio_blocks(path, BLOCK_SECONDS, sr, OVERLAP_SECONDS), str(path))
        self._cache[key] = result
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return result

    def _encode_blocks(self, blocks: Iterator[AudioBlock], name: str) -> Encoded:
        hop = self.grid.output_hop_samples
        sr = self.front_end.sample_rate
        keep = int(OVERLAP_SECONDS / 2 * sr) // hop  # frames dropped at inner block edges
        pieces: list[tuple[int, torch.Tensor]] = []
        n_samples, peak = 0, 0.0
        for i, block in enumerate(blocks):
            peak = max(peak, float(np.max(np.abs(block.audio))) if len(block.audio) else 0.0)
            n_samples = block.start + len(block.audio)
            if len(block.audio) < MIN_SECONDS * sr and i == 0:
                raise AudioError(f"{name}: too short to ground ({len(block.audio) / sr:.3f} s < {MIN_SECONDS} s)")
            pieces.append((block.start // hop, self.embed_waveforms([block.audio])[0]))
        emb = _stitch(pieces, keep)
        silent = peak < SILENCE
        if silent:
            warnings.warn(f"{name}: the recording is silent; every phrase will get low probabilities", stacklevel=3)
        times = np.asarray(self.grid.frame_time(np.arange(emb.shape[0])), dtype=np.float64)
        return Encoded(emb, times, n_samples / sr, name, silent, self.model_id)

    # -- text side -------------------------------------------------------------------------
    def check_phrase(self, phrase: str) -> list[str]:
        """Refuse an empty phrase or one with no known word naming a sound; return (and warn about) unknown words.

        An open-vocabulary (MiniLM) model knows every word: it refuses only a phrase
        with no word that names a sound, and ignores none."""
        if self.model.open_vocabulary:
            return check_open_phrase(phrase)
        return phrase_token_ids(self.vocab, phrase, self._vocab_hint())[1]

    def _vocab_hint(self) -> str:
        return f"the {len(self.vocab.words)} words it knows are in {self.model_dir / 'vocab.json'}"

    @torch.no_grad()
    def embed_phrases(self, phrases: Sequence[str]) -> tuple[torch.Tensor, list[list[str]]]:
        """Phrases -> ((N, D) embeddings on the CPU, each phrase's ignored words); refusals as ``check_phrase``."""
        if self.model.open_vocabulary:
            phrases = check_phrases(phrases)
            ignored = [check_open_phrase(p) for p in phrases]
            return self.model.encode_texts(phrases).float().cpu(), ignored
        checked = [phrase_token_ids(self.vocab, p, self._vocab_hint()) for p in check_phrases(phrases)]
        tokens, lengths = pad_token_ids([ids for ids, _ in checked])
        text = self.model.encode_text(tokens.to(self.device), lengths.to(self.device))
        return text.float().cpu(), [unknown for _, unknown in checked]

    # -- answers ---------------------------------------------------------------------------
    @torch.no_grad()
    def scores(self, audio: Audio, phrases: Sequence[str]) -> Scores:
        """Each phrase's probability in each 40 ms frame of ``audio`` (a file or an ``Encoded``)."""
        phrases = check_phrases(phrases)
        text, ignored = self.embed_phrases(phrases)  # phrases first: a refusal costs no audio encoding
        enc = self._encoded(audio)
        probs = self.model.frame_phrase_probs(enc.embeddings[None], text)[0]  # (T, N)
        return Scores(tuple(phrases), enc.times, probs.numpy().astype(np.float32), enc.duration, enc.source,
                      self.grid, tuple(tuple(u) for u in ignored))

    def ground(self, audio: Audio, phrases: Sequence[str], threshold: float = 0.5, median: int = 1) -> Detections:
        """When each phrase sounds in ``audio``: detections (phrase, onset, offset, peak) in phrase order.

        ``threshold``: probability a (median-filtered) frame must exceed; ``median``: odd
        window in frames (1 = none). The frame curves stay attached as ``.scores``.
        """
        check_threshold(threshold)
        check_median(median)
        return self.scores(audio, phrases).detect(threshold, median)

    def _encoded(self, audio: Audio) -> Encoded:
        if isinstance(audio, Encoded):
            if audio.model_id != self.model_id or audio.embeddings.shape[-1] != self.model.embed_dim:
                raise QueryError(f"{audio.source}: encoded by another model than {self.model_dir}; "
                                 f"encode it again with this Grounder")
            return audio
        if isinstance(audio, (str, os.PathLike)):
            return self.embed_file(audio)
        raise TypeError(f"expected a file path or an Encoded recording, got {type(audio).__name__}; "
                        f"for a waveform call encode(array, sample_rate) first")


def resolve_device(device: str | torch.device) -> torch.device:
    """"auto" -> CUDA when visible, else CPU; a device that is not there is one clear line."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device {device!r} is not a torch device (use auto, cpu or cuda): {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r}: no CUDA GPU is visible; use device='auto' or 'cpu'")
    return dev


def _fingerprint(folder: Path) -> str:
    """A short hash of the folder's weights and config: which model encoded a recording."""
    h = hashlib.sha256()
    for name in (CONFIG, WEIGHTS):
        with open(folder / name, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def _array_blocks(audio: np.ndarray, sample_rate: int) -> Iterator[AudioBlock]:
    """An in-memory waveform in the blocks ``iter_audio_blocks`` would stream from a file."""
    block = int(round(BLOCK_SECONDS * sample_rate))
    hop = block - int(round(OVERLAP_SECONDS * sample_rate))
    start = 0
    while True:
        yield AudioBlock(start, audio[start: start + block], sample_rate)
        if start + block >= len(audio):
            return
        start += hop


def _stitch(pieces: list[tuple[int, torch.Tensor]], keep: int) -> torch.Tensor:
    """Join block embeddings, each contributing the frames up to the next block's kept start."""
    out = []
    for i, (start, frames) in enumerate(pieces):
        lo = 0 if i == 0 else keep
        hi = frames.shape[0] if i == len(pieces) - 1 else (pieces[i + 1][0] + keep - start)
        out.append(frames[lo:hi])
    return torch.cat(out, dim=0)
