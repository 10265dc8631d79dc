"""Paper Fig. 15-style figure: the spectrogram with each phrase's probability curve,
its detected segments and (when known) the reference segments."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from wstag.audio.frames import FrameGrid  # noqa: E402
from wstag.audio.frontend import FrontEnd  # noqa: E402
from wstag.audio.io import load_audio  # noqa: E402
from wstag.files import atomic_path  # noqa: E402
from wstag.inference.results import Detections  # noqa: E402

MAX_SPECTROGRAM_SECONDS = 600.0


def draw_logmel(ax, audio_path: str | Path, front_end: FrontEnd) -> float:
    """Draw the recording's log-mel (the model's own front end) on ``ax``; its duration in seconds."""
    audio = load_audio(audio_path, front_end.sample_rate)
    with torch.no_grad():
        mel = front_end.logmel()(torch.from_numpy(audio)[None])[0].numpy()  # (T, n_mels)
    duration = len(audio) / front_end.sample_rate
    ax.imshow(mel.T, origin="lower", aspect="auto", cmap="magma", extent=(0, duration, 0, mel.shape[1]))
    ax.set_ylabel("mel bin")
    return duration


def plot_grounding(
    audio_path: str | Path,
    results: Detections,
    grid: FrontEnd | FrameGrid,
    out: str | Path,
    threshold: float | None = None,
    reference: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    title: str | None = None,
) -> Path:
    """Write a PNG: log-mel on top, one probability panel per phrase below.

    ``results`` is what ``Grounder.ground`` returns (the curves come attached; the dashed
    line is its threshold unless ``threshold`` is given). ``grid``
    is the model's front end (its log-mel is drawn) or, from older callers, its frame
    grid (drawn with the default STFT and mel bands on that grid).
    """
    front_end = grid if isinstance(grid, FrontEnd) else FrontEnd.from_grid(grid)
    grid = front_end.grid
    scores = results.scores
    threshold = results.threshold if threshold is None else threshold
    n = len(scores.phrases)
    fig, axes = plt.subplots(n + 1, 1, figsize=(10, 2.2 + 1.4 * n), sharex=True,
                             gridspec_kw={"height_ratios": [2.2] + [1] * n})
    duration = len(scores.times) * grid.output_hop_s
    ax = axes[0]
    if duration <= MAX_SPECTROGRAM_SECONDS:
        draw_logmel(ax, audio_path, front_end)
    else:
        ax.text(0.5, 0.5, "recording too long for a spectrogram", ha="center", transform=ax.transAxes)
    ax.set_title(title or Path(audio_path).name)
    t = scores.times + grid.output_hop_s / 2  # frame centres
    for k, (ax, phrase) in enumerate(zip(axes[1:], scores.phrases)):
        ax.plot(t, scores.probabilities[:, k], color="tab:blue", lw=1.2, label="probability")
        ax.axhline(threshold, color="grey", ls="--", lw=0.8)
        for d in results.of(phrase):
            ax.axvspan(d.onset, d.offset, ymin=0.0, ymax=0.12, color="tab:orange", alpha=0.9)
        for a, b in (reference or {}).get(phrase, ()):
            ax.axvspan(a, b, ymin=0.88, ymax=1.0, color="tab:green", alpha=0.9)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("p", rotation=0, labelpad=8)
        ax.text(0.005, 0.8, phrase, transform=ax.transAxes, fontsize=9,
                bbox=dict(facecolor="white", alpha=0.8, lw=0))
    axes[-1].set_xlabel("time (s)  —  orange: detected, green: reference")
    axes[-1].set_xlim(0, duration)
    fig.tight_layout()
    out = Path(out)
    with atomic_path(out.with_suffix(".png")) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return out.with_suffix(".png")
