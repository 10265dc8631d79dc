"""Log-mel features computed once per corpus split and kept in HDF5 (float16).

Epochs then read ready features instead of decoding and transforming audio again
(SPEC 4). The file records the front end's parameters; a cache made with other
parameters is rebuilt, and a half-written cache never replaces a complete one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable, Sequence

import h5py
import numpy as np
import torch

from wstag.audio.features import LogMel
from wstag.audio.frames import F_MAX, F_MIN, HOP, N_FFT, N_MELS, SAMPLE_RATE
from wstag.audio.io import load_audio
from wstag.data.atomic import atomic_path
from wstag.errors import AudioError

FRONT_END = {"sample_rate": SAMPLE_RATE, "n_fft": N_FFT, "hop": HOP, "n_mels": N_MELS, "f_min": F_MIN, "f_max": F_MAX}
CACHE_NAME = "features.h5"


def _front_end_tag() -> str:
    return json.dumps(FRONT_END, sort_keys=True)


def cache_is_current(path: Path, audio_ids: Sequence[str]) -> bool:
    if not path.is_file():
        return False
    try:
        with h5py.File(path, "r") as h5:
            return h5.attrs.get("front_end") == _front_end_tag() and set(audio_ids) <= set(h5["logmel"].keys())
    except OSError:
        return False


def build_feature_cache(
    audio_dir: Path,
    audio_ids: Sequence[str],
    out: Path,
    batch_size: int = 32,
    progress: Callable[..., Iterable] | None = None,
) -> Path:
    """Compute log-mels of ``audio_ids`` (files in ``audio_dir``) into ``out`` unless current."""
    out = Path(out)
    if cache_is_current(out, audio_ids):
        return out
    wrap = progress or (lambda it, **kw: it)
    logmel = LogMel().eval()
    batches = [audio_ids[i: i + batch_size] for i in range(0, len(audio_ids), batch_size)]
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5, torch.inference_mode():
        h5.attrs["front_end"] = _front_end_tag()
        group = h5.create_group("logmel")
        for batch in wrap(batches, total=len(batches), desc="caching log-mel features"):
            waves = [load_audio(Path(audio_dir) / aid, SAMPLE_RATE) for aid in batch]
            n = max(len(w) for w in waves)
            padded = torch.zeros(len(waves), n)
            for i, w in enumerate(waves):
                padded[i, : len(w)] = torch.from_numpy(w)
            feats = logmel(padded).numpy()  # (B, T, 64)
            for aid, w, f in zip(batch, waves, feats):
                t = len(w) // HOP + 1
                group.create_dataset(aid, data=f[:t].astype(np.float16))
    return out


class FeatureStore:
    """Read-only access to a feature cache; opens the file lazily (one handle per worker)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise AudioError(f"{self.path}: feature cache not found; it is built by `wstag train`")
        self._h5: h5py.File | None = None

    def __getitem__(self, audio_id: str) -> np.ndarray:
        if self._h5 is None:
            self._h5 = h5py.File(self.path, "r")
        try:
            return self._h5["logmel"][audio_id][()].astype(np.float32)
        except KeyError:
            raise AudioError(f"{self.path}: no features for {audio_id!r}") from None

    def __getstate__(self):  # picklable for DataLoader workers: reopen in each process
        return {"path": self.path, "_h5": None}


def pad_features(features: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a list of (T_i, F) arrays -> (B, T, F) and lengths (B,)."""
    t = max(f.shape[0] for f in features)
    out = torch.zeros(len(features), t, features[0].shape[1])
    for i, f in enumerate(features):
        out[i, : f.shape[0]] = torch.from_numpy(np.asarray(f, dtype=np.float32))
    return out, torch.tensor([f.shape[0] for f in features], dtype=torch.long)
