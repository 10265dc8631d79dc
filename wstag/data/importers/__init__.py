"""Importers of real data into the corpus layout of ``wstag data build``: one module per dataset.

Both importers write, per split, ``audio/`` (links to the user's files, never re-encoded),
``captions.csv`` (AudioCaps columns), ``weak.json`` (the phrase parser's phrases, no
segments: what weakly-supervised training reads) and, where strong labels exist,
``labels.json`` (AudioGrounding v2 with segments), plus ``corpus.json`` (content hash and
import statistics), ``import_report.json`` and ``missing.txt``. So ``wstag train``,
``wstag evaluate`` and ``wstag experiments`` accept an imported corpus as they accept a
built one.

:func:`import_audiocaps` follows the paper's data preparation (V-A): the AudioCaps
train, val and test captions are merged; every AudioCaps row of a video in the
AudioGrounding test set is removed (the paper eliminates the AudioGrounding test audio
from training; removing the whole video also drops other 10 s windows of it); the rest
is re-split into train and a validation split of exactly ``val_size`` pairs (1,000 in
the paper), drawn by whole videos with ``numpy.random.default_rng(seed)`` so that no
video is heard in both. The AudioGrounding test set, with its segments, is the test
split. The same inputs and seed give byte-identical label files.

:func:`import_audiogrounding` keeps AudioGrounding's own train/val/test split (v1 or v2
label files), every split with its segments (for SSTAG and evaluation); a video of the
test split found in train or val is removed there.

Audio files are matched to label rows by file name, searched recursively under the
audio folder(s), with any of the extensions ``.wav .flac .ogg .mp3`` (any case), in this
order of preference:

1. the label file's own name (AudioGrounding v1 ``<youtube_id>_<start>_<end>.wav``,
   v2 ``Y<youtube_id>.wav``), with any of the four extensions;
2. ``<audiocap_id>`` (what the ``audiocaps-download`` package writes, one file per caption);
3. ``[Y]<youtube_id>_<start>_<end>`` and ``[Y]<youtube_id>_<start>``, with the start
   (and end = start + 10 s) written as whole seconds (``30``), one decimal (``30.0``),
   three decimals (``30.000``, AudioGrounding's form) or milliseconds (``30000``);
4. ``Y<youtube_id>`` (AudioSet downloads, AudioGrounding v2) and ``<youtube_id>``: these
   name no start time, so a video captioned at two different start times cannot be
   matched this way and its rows are reported as ambiguous.

A file found only as ``.m4a``, ``.webm``, ``.opus``, ``.aac``, ``.mp4`` or ``.mkv`` is
reported as unsupported (convert it to one of the four). Every matched file is decoded
once with :func:`wstag.audio.io.load_audio` (at its own rate, no resampling): missing,
unsupported, ambiguous and unreadable audio (corrupt, truncated, shorter than
:data:`MIN_SECONDS`) drop their rows, counted in ``import_report.json`` and listed in
``missing.txt``; never a crash. More than ``max_missing`` of a source without readable
audio stops the import with one line (a :class:`~wstag.errors.ConfigError`).

In the corpus each label entry gets its own file name, ``<audiocap_id><ext>`` (a suffix
``_2``, ``_3`` ... where two entries share an id), because evaluation keys every
(clip, phrase) pair by the audio id: the five captions of one AudioCaps test clip are
five entries linking the same file. Links are absolute symlinks by default, hard links
(or copies across file systems) with ``copy=True``. Segments that run past the end of a
shorter download are cut at the audio's end (counted as ``segments_cut``).
"""

from wstag.data.importers.audiocaps import import_audiocaps
from wstag.data.importers.audiogrounding import import_audiogrounding
from wstag.data.importers.common import ImportResult, read_grounding_labels

__all__ = ["ImportResult", "import_audiocaps", "import_audiogrounding", "read_grounding_labels"]
