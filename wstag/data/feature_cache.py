"""Log-mel features computed once per corpus split and kept in HDF5 (float16).

Epochs then read ready features instead of decoding and transforming audio again
(SPEC 4). The file records the ``FrontEnd`` that made it (attribute ``front_end``); a
cache made with another front end is rebuilt by ``build_feature_cache``, opening one
for a front end it was not made with is refused, and a half-written cache never
replaces a complete one. Only the fields that decide the log-mel values
(``FEATURE_FIELDS``) are compared: the model's time downsampling does not change them.
Building is :func:`wstag.data.packing.pack_features` (parallel, resumable, each
recording once); the layout is the same for caches made before it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np
import torch

from wstag.audio.frontend import FEATURE_FIELDS, FrontEnd
from wstag.errors import AudioError, ConfigError

CACHE_NAME = "features.h5"
GROUP = "logmel"  # one float16 (T, n_mels) dataset per audio id (a hard link where ids share a recording)


def stored_front_end(h5: h5py.File) -> FrontEnd | None:
    """The front end a cache file was made with; None if it records none (or an unreadable one)."""
    tag = h5.attrs.get("front_end")
    try:  # caches before time_downsample was recorded lack it: from_dict takes the default
        return FrontEnd.from_dict(json.loads(tag)) if tag is not None else None
    except (ValueError, TypeError, ConfigError):
        return None


def feature_difference(stored: FrontEnd | None, expected: FrontEnd) -> str:
    """What differs (cache vs expected), in one line; "" when the features match."""
    if stored is None:
        return "it records no front end"
    return stored.describe_difference(expected, only=FEATURE_FIELDS)


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
                    stored = stored_front_end(h5)
            except OSError as exc:
                raise AudioError(f"{self.path}: feature cache cannot be read ({exc})") from None
            diff = feature_difference(stored, front_end)
            if diff:
                raise ConfigError(f"{self.path}: feature cache made with another front end ({diff}, "
                                  f"cache vs expected); delete it to rebuild")
        self._h5: h5py.File | None = None

    def __getitem__(self, audio_id: str) -> np.ndarray:
        if self._h5 is None:
            self._h5 = h5py.File(self.path, "r")
        try:
            return self._h5[GROUP][audio_id][()].astype(np.float32)
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
