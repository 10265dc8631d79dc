"""The bottom floor: load, validate, resample and stream audio; the time grid; log-mel.

``io``, ``frames`` and ``frontend`` need only numpy, soundfile and soxr and are re-exported here;
``features`` (torch, librosa) is imported explicitly where needed:
``from wstag.audio.features import LogMel, SpecAugment``.
"""

from wstag.audio.frames import (
    DEFAULT_GRID,
    OUTPUT_HOP_S,
    FrameGrid,
    frame_mask_to_segments,
    frame_times,
    n_feature_frames,
    n_output_frames,
    segments_to_frame_mask,
)
from wstag.audio.frontend import DEFAULT_FRONT_END, FrontEnd
from wstag.audio.io import (
    AudioBlock,
    AudioInfo,
    audio_info,
    iter_audio_blocks,
    load_audio,
    validate_waveform,
    write_flac,
)

__all__ = [
    "DEFAULT_FRONT_END",
    "DEFAULT_GRID",
    "OUTPUT_HOP_S",
    "AudioBlock",
    "AudioInfo",
    "FrameGrid",
    "FrontEnd",
    "audio_info",
    "frame_mask_to_segments",
    "frame_times",
    "iter_audio_blocks",
    "load_audio",
    "n_feature_frames",
    "n_output_frames",
    "segments_to_frame_mask",
    "validate_waveform",
    "write_flac",
]
