"""Log-mel features computed once per corpus split and kept in HDF5 (float16).

Epochs then read ready features instead of decoding and transforming audio again
(SPEC 4). The file records the ``FrontEnd`` that made it (attribute ``front_end``); a
cache made with another front end is rebuilt by ``build_feature_cache``, opening one
for a front end it was not made with is refused, and a half-written cache never
replaces a complete one. Only the fields that decide the log-mel values
(``FEATURE_FIELDS``) are compared: the model's time downsampling does not change them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable, Sequence

import h5py
import numpy as np
import torch

from wstag.audio.frontend import DEFAULT_FRONT_END, FEATURE_FIELDS, FrontEnd
from wstag.audio.io import load_audio
from wstag.data.atomic import atomic_path
from wstag.errors import AudioError, ConfigError

CACHE_NAME = "features.h5"


def _stored_front_end(h5: h5py.File) -> FrontEnd | None:
    """The front end a cache file was made with; None if it records none (or an unreadable one)."""
    tag = h5.attrs.get("front_end")
    try:  # caches before time_downsample was recorded lack it: from_dict takes the default
        return FrontEnd.from_dict(json.loads(tag)) if tag is not None else None
    except (ValueError, TypeError, ConfigError):
        return None


def _difference(stored: FrontEnd | None, expected: FrontEnd) -> str:
    """What differs (cache vs expected), in one line; "" when the features match."""
    if stored is None:
        return "it records no front end"
    return stored.describe_difference(expected, only=FEATURE_FIELDS)


def cache_is_current(path: Path, audio_ids: Sequence[str], front_end: FrontEnd = DEFAULT_FRONT_END) -> bool:
    if not path.is_file():
        return False
    try:
        with h5py.File(path, "r") as h5:
            return (not _difference(_stored_front_end(h5), front_end)
                    and set(audio_ids) <= set(h5["logmel"].keys()))
    except (OSError, KeyError):
        return False


def build_feature_cache(
    audio_dir: Path,
    audio_ids: Sequence[str],
    out: Path,
    batch_size: int = 32,
    progress: Callable[..., Iterable] | None = None,
    front_end: FrontEnd = DEFAULT_FRONT_END,
) -> Path:
    """Compute ``front_end``'s log-mels of ``audio_ids`` (files in ``audio_dir``) into ``out`` unless current."""
    out = Path(out)
    if cache_is_current(out, audio_ids, front_end):
        return out
    wrap = progress or (lambda it, **kw: it)
    logmel = front_end.logmel().eval()
    batches = [audio_ids[i: i + batch_size] for i in range(0, len(audio_ids), batch_size)]
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5, torch.inference_mode():
        h5.attrs["front_end"] = front_end.tag()
        group = h5.create_group("logmel")
        for batch in wrap(batches, total=len(batches), desc="caching log-mel features"):
            waves = [load_audio(Path(audio_dir) / aid, front_end.sample_rate) for aid in batch]
            n = max(len(w) for w in waves)
            padded = torch.zeros(len(waves), n)
            for i, w in enumerate(waves):
                padded[i, : len(w)] = torch.from_numpy(w)
            feats = logmel(padded).numpy()  # (B, T, n_mels)
            for aid, w, f in zip(batch, waves, feats):
                t = front_end.n_feature_frames(len(w))
                group.create_dataset(aid, data=f[:t].astype(np.float16))
    return out


class FeatureStore:
    """Read-only access to a feature cache; opens the file lazily (one handle per worker).

    With ``front_end`` given, the file must have been made with it (else ConfigError
    naming the file and the differing fields), so features of another shape or scale
    never reach a model.
    """

    def __init__(self, path: Path, front_end: FrontEnd | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise AudioError(f"{self.path}: feature cache not found; it is built by `wstag train`")
        self.front_end = front_end
        if front_end is not None:
            try:
                with h5py.File(self.path, "r") as h5:
                    stored = _stored_front_end(h5)
            except OSError as exc:
                raise AudioError(f"{self.path}: feature cache cannot be read ({exc})") from None
            diff = _difference(stored, front_end)
            if diff:
                raise ConfigError(f"{self.path}: feature cache made with another front end ({diff}, "
                                  f"cache vs expected); delete it to rebuild")
        self._h5: h5py.File | None = None

    def __getitem__(self, audio_id: str) -> np.ndarray:
        if self._h5 is None:
            self._h5 = h5py.File(self.path, "r")
        try:
            return self._h5["logmel"][audio_id][()].astype(np.float32)
        except KeyError:
            raise AudioError(f"{self.path}: no features for {audio_id!r}") from None

    def __getstate__(self):  # picklable for DataLoader workers: reopen in each process
        return {"path": self.path, "front_end": self.front_end, "_h5": None}


def pad_features(features: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a list of (T_i, F) arrays -> (B, T, F) and lengths (B,)."""
    t = max(f.shape[0] for f in features)
    out = torch.zeros(len(features), t, features[0].shape[1])
    for i, f in enumerate(features):
        out[i, : f.shape[0]] = torch.from_numpy(np.asarray(f, dtype=np.float32))
    return out, torch.tensor([f.shape[0] for f in features], dtype=torch.long)
