"""The top moments of a search, drawn: each one's probability curve with a few seconds around it."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from wstag.files import atomic_path  # noqa: E402

MAX_PANELS = 8


def plot_moments(index, moments, out: str | Path, n: int = MAX_PANELS, context: float = 5.0) -> Path:
    """Write a PNG with one panel per moment (at most ``n``): the curve, the threshold, the moment shaded."""
    shown = list(moments)[:n]
    grid = index.manifest.model.frame_grid
    hop = grid.output_hop_s
    fig, axes = plt.subplots(max(len(shown), 1), 1, figsize=(10, 0.6 + 1.6 * max(len(shown), 1)), squeeze=False)
    if not shown:
        axes[0, 0].text(0.5, 0.5, f"no moment above {moments.threshold} for {moments.phrase!r}", ha="center",
                        transform=axes[0, 0].transAxes)
        axes[0, 0].set_axis_off()
    for rank, (ax, m) in enumerate(zip(axes[:, 0], shown), start=1):
        e = index.entry(m)
        first = max(0, int((m.onset - context) / hop))
        stop = min(e.n_frames, int(np.ceil((m.offset + context) / hop)))
        p = index.curve(m, moments.phrase, first, stop)
        t = grid.frame_time(np.arange(first, stop)) + hop / 2
        ax.plot(t, p, color="tab:blue", lw=1.2)
        ax.axhline(moments.threshold, color="grey", ls="--", lw=0.8)
        ax.axvspan(m.onset, m.offset, color="tab:orange", alpha=0.3)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(t[0] - hop / 2, t[-1] + hop / 2)
        ax.set_ylabel("p", rotation=0, labelpad=8)
        ax.text(0.005, 0.78, f"{rank}. {m.file}  {m.onset:.2f}-{m.offset:.2f} s  score {m.score:.3f}",
                transform=ax.transAxes, fontsize=9, bbox=dict(facecolor="white", alpha=0.8, lw=0))
    axes[0, 0].set_title(f"{moments.phrase!r}: top {len(shown)} moments")
    axes[-1, 0].set_xlabel("time in the file (s); orange: the moment, dashed: the threshold")
    fig.tight_layout()
    out = Path(out).with_suffix(".png")
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return out
