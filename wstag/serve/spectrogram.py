"""The page's spectrogram: the model's own log-mel as a PNG, one pixel per STFT frame and mel band.

Drawn with ``matplotlib.image.imsave`` (a colour map and a PNG encoder, no figure), so a
10 s clip costs tens of milliseconds; the page stretches it over the time axis it
shares with the probability curves.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from wstag.audio.frontend import FrontEnd  # noqa: E402
from wstag.audio.io import load_audio  # noqa: E402
from wstag.inference.plot import MAX_SPECTROGRAM_SECONDS  # noqa: E402

#: Columns kept at most (longer recordings are averaged down to this width).
MAX_COLUMNS = 4000


def logmel_png(path: str | Path, front_end: FrontEnd) -> bytes:
    """PNG bytes of the recording's log-mel: time left to right, low bands at the bottom."""
    audio = load_audio(path, front_end.sample_rate)
    with torch.no_grad():
        mel = front_end.logmel()(torch.from_numpy(audio)[None])[0].numpy()  # (T, n_mels)
    if mel.shape[0] > MAX_COLUMNS:  # (T, M) -> (MAX_COLUMNS, M): mean over equal runs of frames
        edges = np.linspace(0, mel.shape[0], MAX_COLUMNS + 1).astype(int)
        mel = np.add.reduceat(mel, edges[:-1], axis=0) / np.diff(edges)[:, None]
    low, high = np.percentile(mel, 1), float(mel.max())
    buf = io.BytesIO()
    matplotlib.image.imsave(buf, mel.T[::-1], cmap="magma", vmin=low, vmax=max(high, low + 1e-6), format="png",
                          pil_kwargs={"compress_level": 1})  # speed over size (about 120 KB for 10 s)
    return buf.getvalue()


__all__ = ["logmel_png", "MAX_SPECTROGRAM_SECONDS"]
